import GRDB

/// A record whose updates set only the columns whose values changed, never
/// its keys. GRDB's update sets every column but the rowid, and SQLite
/// rewrites every index holding a column an UPDATE sets, changed or not,
/// and checks every foreign key that references a key it sets (walking the
/// children: see `Member.updatedColumns`). Reading the stored values by
/// rowid first costs less than either.
public protocol NarrowlyUpdated: TableRecord {
    /// The columns an update may set, in the order of `updatedValues()`:
    /// every column but the keys.
    static var updatedColumns: [String] { get }
    /// `storedValuesStatement()`, kept in a `static let` so it is built once.
    static var storedValuesSQL: String { get }
    /// The rowid key (`seq` in Laurel's tables); nil before the insert.
    var seq: Int64? { get }
    /// The record's values for `updatedColumns`, encoded as its insert encodes them.
    func updatedValues() throws -> [DatabaseValue]
}

extension NarrowlyUpdated {
    /// `SELECT <updatedColumns> FROM <table> WHERE "seq"=?`.
    public static func storedValuesStatement() -> String {
        "SELECT \(updatedColumns.map { "\"\($0)\"" }.joined(separator: ", ")) FROM \"\(databaseTableName)\" WHERE \"seq\"=?"
    }

    /// Sets the columns whose values differ from the stored row, in SQL
    /// written as GRDB writes its updates; nothing when none differs.
    public func updateChangedColumns(_ db: Database) throws {
        guard let seq, let stored = try Row.fetchOne(db.cachedStatement(sql: Self.storedValuesSQL), arguments: [seq]) else {
            throw RecordError.recordNotFound(databaseTableName: Self.databaseTableName, key: ["seq": seq.databaseValue])
        }
        var assignments: [String] = []
        var arguments: [DatabaseValue] = []
        for (index, value) in try updatedValues().enumerated() where value != stored[index] as DatabaseValue {
            assignments.append("\"\(Self.updatedColumns[index])\"=?")
            arguments.append(value)
        }
        if assignments.isEmpty { return }
        arguments.append(seq.databaseValue)
        try db.cachedStatement(sql: "UPDATE \"\(Self.databaseTableName)\" SET \(assignments.joined(separator: ", ")) WHERE \"seq\"=?")
            .execute(arguments: StatementArguments(arguments))
    }
}
