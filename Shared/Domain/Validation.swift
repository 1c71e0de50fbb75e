import Foundation

/// Checks shared by every service's requests. Each throws `InvalidArgument`
/// naming the request field, before anything is written.
public enum Validate {
    /// Identifiers and idempotency keys: 1...128 printable ASCII characters.
    public static func identifier(_ value: String, field: String) throws(InvalidArgument) -> String {
        guard !value.isEmpty else { throw InvalidArgument(field, "is required") }
        guard value.utf8.count <= 128 else { throw InvalidArgument(field, "must be at most 128 bytes") }
        guard value.utf8.allSatisfy({ (33...126).contains($0) }) else {
            throw InvalidArgument(field, "must be printable ASCII without spaces")
        }
        return value
    }

    public static func text(_ value: String, field: String, maxLength: Int, required: Bool = false) throws(InvalidArgument) -> String {
        if required && value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw InvalidArgument(field, "is required")
        }
        guard value.count <= maxLength else { throw InvalidArgument(field, "must be at most \(maxLength) characters") }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" }) else {
            throw InvalidArgument(field, "must not contain control characters")
        }
        return value
    }

    public static func positive(_ value: Int64, field: String, max: Int64 = 1_000_000_000_000) throws(InvalidArgument) -> Int64 {
        guard value > 0 else { throw InvalidArgument(field, "must be greater than zero, got \(value)") }
        guard value <= max else { throw InvalidArgument(field, "must be at most \(max), got \(value)") }
        return value
    }

    /// An empty string is no address; otherwise one '@' with text either side.
    public static func email(_ value: String, field: String = "email") throws(InvalidArgument) -> String {
        if value.isEmpty { return value }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard value.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            !value.contains(where: { $0.isWhitespace })
        else {
            throw InvalidArgument(field, "is not a valid e-mail address")
        }
        return value
    }

    /// Time-to-live of holds and reservations: 0 picks the default.
    public static func ttl(_ seconds: Int64, field: String = "ttl_seconds", default defaultSeconds: Int64 = 300) throws(InvalidArgument) -> Int64 {
        if seconds == 0 { return defaultSeconds }
        guard (1...604_800).contains(seconds) else {
            throw InvalidArgument(field, "must be between 1 and 604800 seconds (or 0 for \(defaultSeconds)), got \(seconds)")
        }
        return seconds
    }

    /// Page sizes: 0 means 50; at most 500.
    public static func pageSize(_ value: Int32, field: String = "page_size") throws(InvalidArgument) -> Int {
        if value == 0 { return 50 }
        guard (1...500).contains(value) else { throw InvalidArgument(field, "must be between 1 and 500, got \(value)") }
        return Int(value)
    }

    public static func attributes(_ attributes: [String: String], field: String = "attributes") throws(InvalidArgument) -> [String: String] {
        guard attributes.count <= 64 else { throw InvalidArgument(field, "must have at most 64 entries") }
        for (key, value) in attributes {
            guard !key.isEmpty, key.utf8.count <= 64 else { throw InvalidArgument(field, "keys must be 1 to 64 bytes") }
            guard value.utf8.count <= 1024 else { throw InvalidArgument("\(field)[\(key)]", "must be at most 1024 bytes") }
        }
        return attributes
    }
}
