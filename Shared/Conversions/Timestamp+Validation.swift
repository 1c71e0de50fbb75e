import Foundation
import SwiftProtobuf

extension Google_Protobuf_Timestamp {
    /// The date this timestamp stands for, refused with INVALID_ARGUMENT when
    /// outside what google.protobuf.Timestamp allows (years 1 to 9999).
    public func validatedDate(field: String) throws(InvalidArgument) -> Date {
        guard (-62_135_596_800...253_402_300_799).contains(seconds), (0..<1_000_000_000).contains(nanos) else {
            throw InvalidArgument(field, "is not a valid timestamp (seconds \(seconds), nanos \(nanos))")
        }
        return date
    }

    public init(_ date: Date) {
        self.init(date: date)
    }
}
