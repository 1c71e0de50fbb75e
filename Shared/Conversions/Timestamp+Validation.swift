import Foundation
import SwiftProtobuf

extension Google_Protobuf_Timestamp {
    /// The instant this timestamp stands for (to the millisecond), refused
    /// with INVALID_ARGUMENT when outside what google.protobuf.Timestamp
    /// allows (years 1 to 9999).
    public func validatedInstant(field: String) throws(InvalidArgument) -> Instant {
        guard (-62_135_596_800...253_402_300_799).contains(seconds), (0..<1_000_000_000).contains(nanos) else {
            throw InvalidArgument(field, "is not a valid timestamp (seconds \(seconds), nanos \(nanos))")
        }
        return Instant(millisecondsSince1970: seconds * 1000 + Int64(nanos / 1_000_000))
    }

    public init(_ instant: Instant) {
        let (seconds, milliseconds) = instant.millisecondsSince1970.quotientAndRemainder(dividingBy: 1000)
        self.init(
            seconds: milliseconds < 0 ? seconds - 1 : seconds,
            nanos: Int32(milliseconds < 0 ? milliseconds + 1000 : milliseconds) * 1_000_000)
    }
}

extension TimeRange {
    /// The range of a statistics request: unset `from` is the beginning,
    /// unset `to` is now.
    public init(from: Google_Protobuf_Timestamp?, to: Google_Protobuf_Timestamp?, now: Instant) throws(InvalidArgument) {
        try self.init(from: from?.validatedInstant(field: "from"), to: to?.validatedInstant(field: "to") ?? now)
    }
}
