import GRDB
import Synchronization

/// Records whose Swift properties are camelCase and whose columns are
/// snake_case, as every Laurel table is.
public protocol SnakeCaseColumns {}

extension SnakeCaseColumns where Self: FetchableRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .custom(SnakeCase.codingKey(forColumn:)) }
}

extension SnakeCaseColumns where Self: EncodableRecord {
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .custom(SnakeCase.column(for:)) }
}

/// GRDB's own snake-case strategies convert every column name of every row
/// read or written, building new strings through Foundation each time: a
/// tenth of a purchase's CPU. The names are few, so each is converted once.
/// The conversions are GRDB's (and JSONEncoder's) for ASCII names.
public enum SnakeCase {
    private static let columns = Mutex<[String: String]>([:])
    private static let properties = Mutex<[String: String]>([:])

    @Sendable public static func column(for key: any CodingKey) -> String {
        let property = key.stringValue
        if let column = columns.withLock({ $0[property] }) { return column }
        let column = snakeCased(property)
        columns.withLock { $0[property] = column }
        return column
    }

    @Sendable public static func codingKey(forColumn column: String) -> any CodingKey {
        if let property = properties.withLock({ $0[column] }) { return PropertyKey(property) }
        let property = camelCased(column)
        properties.withLock { $0[column] = property }
        return PropertyKey(property)
    }

    /// `lifetimeEarned` → `lifetime_earned`, `myURLValue` → `my_url_value`.
    public static func snakeCased(_ property: String) -> String {
        let bytes = Array(property.utf8)
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count + 4)
        for (index, byte) in bytes.enumerated() {
            guard isUpper(byte) else { result.append(byte); continue }
            let afterLower = index > 0 && !isUpper(bytes[index - 1])
            let endsAcronym = index > 0 && index + 1 < bytes.count && isLower(bytes[index + 1])
            if afterLower || endsAcronym { result.append(UInt8(ascii: "_")) }
            result.append(byte + 32)
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// `lifetime_earned` → `lifetimeEarned`.
    public static func camelCased(_ column: String) -> String {
        var result: [UInt8] = []
        var upperNext = false
        for byte in column.utf8 {
            if byte == UInt8(ascii: "_"), !result.isEmpty { upperNext = true; continue }
            result.append(upperNext && isLower(byte) ? byte - 32 : byte)
            upperNext = false
        }
        return String(decoding: result, as: UTF8.self)
    }

    private static func isUpper(_ byte: UInt8) -> Bool { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) }
    private static func isLower(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) }

    private struct PropertyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ stringValue: String) { self.stringValue = stringValue }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
