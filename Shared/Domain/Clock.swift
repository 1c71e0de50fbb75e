import Foundation

/// Where domain code reads the time, so tests can move it (hold expiry).
public struct WallClock: Sendable {
    private let read: @Sendable () -> Instant

    public init(_ read: @escaping @Sendable () -> Instant) {
        self.read = read
    }

    public static let system = WallClock { Instant(Date()) }

    public var now: Instant { read() }
}
