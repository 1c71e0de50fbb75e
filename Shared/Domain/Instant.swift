import Foundation

/// A moment in time as whole milliseconds since 1970-01-01 UTC.
///
/// An integer rather than `Date`'s floating point, so that a time read back
/// from SQLite, replayed from an idempotency record or sent as a
/// google.protobuf.Timestamp is exactly the time that was written.
public struct Instant: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var millisecondsSince1970: Int64

    public init(millisecondsSince1970: Int64) {
        self.millisecondsSince1970 = millisecondsSince1970
    }

    /// Rounds down to the millisecond.
    public init(_ date: Date) {
        millisecondsSince1970 = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    public init(from decoder: any Decoder) throws {
        millisecondsSince1970 = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(millisecondsSince1970)
    }

    public var date: Date { Date(timeIntervalSince1970: Double(millisecondsSince1970) / 1000) }

    public func adding(seconds: Int64) -> Instant {
        Instant(millisecondsSince1970: millisecondsSince1970 + seconds * 1000)
    }

    public static func < (a: Instant, b: Instant) -> Bool { a.millisecondsSince1970 < b.millisecondsSince1970 }

    public var description: String { date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true)) }
}
