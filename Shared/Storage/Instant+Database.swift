import GRDB

/// Stored as an integer number of milliseconds, which compares and sorts as time does.
extension Instant: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { millisecondsSince1970.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> Instant? {
        Int64.fromDatabaseValue(dbValue).map(Instant.init(millisecondsSince1970:))
    }
}
