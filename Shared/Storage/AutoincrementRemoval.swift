import Foundation
import GRDB

extension Database {
    /// Rebuilds `table` with the same columns, constraints, rows and indexes,
    /// its integer primary key no longer AUTOINCREMENT.
    ///
    /// AUTOINCREMENT makes every insert also read and write the table's row
    /// in `sqlite_sequence`. It differs from a plain rowid only in never
    /// reusing the id of a deleted newest row, so this is for tables whose
    /// rows are never deleted: there a new row gets the largest id plus one
    /// either way, and ids handed out (cursors, resume tokens) keep their
    /// meaning.
    ///
    /// Call it inside a migration: GRDB runs those with foreign keys off and
    /// checks them at the end, which a rebuild needs (SQLite's "making other
    /// kinds of table schema changes").
    public func dropAutoincrement(from table: String) throws {
        guard let definition = try String.fetchOne(
            self, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table])
        else {
            throw DatabaseError(message: "no table \(table)")
        }
        let head = "CREATE TABLE \"\(table)\""
        let keyword = " AUTOINCREMENT"
        guard definition.hasPrefix(head), definition.ranges(of: keyword).count == 1 else {
            throw DatabaseError(message: "unexpected definition of \(table): \(definition)")
        }
        let dependents = try Int.fetchOne(
            self, sql: "SELECT COUNT(*) FROM sqlite_master WHERE type IN ('trigger', 'view')") ?? 0
        guard dependents == 0 else {
            throw DatabaseError(message: "a rebuild of \(table) would have to recreate triggers or views")
        }
        let indexes = try String.fetchAll(
            self, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name",
            arguments: [table])

        let rebuilt = "\(table)_rebuilt"
        let body = definition.dropFirst(head.count).replacingOccurrences(of: keyword, with: "")
        try execute(sql: "CREATE TABLE \"\(rebuilt)\"\(body)")
        try execute(sql: "INSERT INTO \"\(rebuilt)\" SELECT * FROM \"\(table)\"")
        try execute(sql: "DROP TABLE \"\(table)\"")
        try execute(sql: "ALTER TABLE \"\(rebuilt)\" RENAME TO \"\(table)\"")
        for index in indexes { try execute(sql: index) }
    }
}
