import GRDB

/// A value with a natural default, for fields added after results were
/// first stored.
public protocol CodableDefault: Codable, Sendable, Equatable {
    static var codableDefault: Self { get }
}

extension Int64: CodableDefault {
    public static var codableDefault: Int64 { 0 }
}

extension String: CodableDefault {
    public static var codableDefault: String { "" }
}

/// A field added to a type whose encoded form is already stored (idempotent
/// results replayed from `IdempotencyKeys`): decoding an older encoding that
/// lacks it gives the default instead of failing, so a retry that spans an
/// upgrade still replays.
@propertyWrapper
public struct Defaulted<Value: CodableDefault>: Codable, Sendable, Equatable {
    public var wrappedValue: Value

    public init(wrappedValue: Value) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: any Decoder) throws {
        wrappedValue = try decoder.singleValueContainer().decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

extension KeyedDecodingContainer {
    public func decode<Value>(_ type: Defaulted<Value>.Type, forKey key: Key) throws -> Defaulted<Value> {
        try decodeIfPresent(type, forKey: key) ?? Defaulted(wrappedValue: Value.codableDefault)
    }
}

/// Stored as the plain column value, not as JSON.
extension Defaulted: DatabaseValueConvertible, SQLExpressible, StatementBinding where Value: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { wrappedValue.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> Defaulted? {
        Value.fromDatabaseValue(dbValue).map(Defaulted.init(wrappedValue:))
    }
}
