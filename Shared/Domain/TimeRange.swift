/// [from, to) for statistics: `from` nil is the beginning of time.
public struct TimeRange: Sendable, Equatable {
    public let from: Instant
    public let to: Instant

    public init(from: Instant?, to: Instant) throws(InvalidArgument) {
        let from = from ?? Instant(millisecondsSince1970: .min / 2)
        guard from < to else { throw InvalidArgument("from", "must be before to") }
        self.from = from
        self.to = to
    }
}

/// How many of a ranking to return: 0 means 10, at most 100.
public enum Top {
    public static func validated(_ requested: Int32, field: String = "top") throws(InvalidArgument) -> Int {
        guard (0...100).contains(requested) else { throw InvalidArgument(field, "must be 0...100, got \(requested)") }
        return requested == 0 ? 10 : Int(requested)
    }
}
