import GRDB

/// A record inserted on a hot path (the rows every points change appends,
/// holds, reservations, redemptions), through one cached statement with its
/// values in column order. GRDB's generic insert builds a dictionary of the
/// record's columns, the SQL text and a statement-cache key on every call: a
/// fifth of a purchase's write transaction in profiles (docs/performance.md).
/// Tests check each such record's row against GRDB's insert or its Codable
/// reading.
public protocol HandInserted: TableRecord {
    /// Every column of the table, in the order of `columnValues`.
    static var columns: [String] { get }
    /// `insertStatement()`, kept in a `static let` so it is built once.
    static var insertSQL: String { get }
    /// The record's values, in the order of `columns`; throws only if one
    /// cannot be encoded (a nested value as JSON).
    var columnValues: [(any DatabaseValueConvertible)?] { get throws }
}

extension HandInserted {
    /// `INSERT INTO <table> (<columns>) VALUES (?, …)`.
    public static func insertStatement() -> String {
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        return "INSERT INTO \(databaseTableName) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))"
    }

    /// Inserts the row; returns its rowid.
    @discardableResult
    public func insertRow(_ db: Database) throws -> Int64 {
        try db.cachedStatement(sql: Self.insertSQL).execute(arguments: StatementArguments(try columnValues))
        return db.lastInsertedRowID
    }

    /// For a record written by hand: `encode(to:)` from the same columns
    /// and values as its insert.
    public func encodeColumns(to container: inout PersistenceContainer) throws {
        for (column, value) in zip(Self.columns, try columnValues) { container[column] = value }
    }
}
