import GRDB

/// Stored as its "YYYY-MM-DD" text, which also sorts by date.
extension CalendarDate: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { description.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> CalendarDate? {
        guard let text = String.fromDatabaseValue(dbValue) else { return nil }
        return try? CalendarDate(parsing: text, field: "date")
    }
}
