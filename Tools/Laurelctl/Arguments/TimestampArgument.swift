import ArgumentParser
import SwiftProtobuf

/// An RFC 3339 time, "2025-03-01T09:30:00Z" or with an offset such as
/// "+01:00" and up to nine decimals, read by the same parser as the API's
/// JSON, so what is typed is exactly what is sent; a date alone means
/// midnight UTC.
struct TimestampArgument: ExpressibleByArgument, Sendable {
    let timestamp: Google_Protobuf_Timestamp

    init?(argument: String) {
        let text = argument.count == 10 ? argument + "T00:00:00Z" : argument
        guard !text.contains("\""), let timestamp = try? Google_Protobuf_Timestamp(jsonString: "\"\(text)\"") else {
            return nil
        }
        self.timestamp = timestamp
    }
}
