import GRDB
import LaurelShared
import Testing

/// For records written by hand (`HandInserted`): inserts `record` by hand
/// and `twin` (or `record` again) through GRDB, then compares the two rows
/// but for `keys`, the unique columns in which `twin` differs.
@discardableResult
func expectSameRows<Record: HandInserted & MutablePersistableRecord>(
    _ db: Database, _ table: String, _ record: Record, _ twin: Record?, keys: [String] = ["id"]
) throws -> (byHand: Int64, generic: Int64) {
    // In this generic function `insert(db)` would be GRDB's, not the
    // record's own: call the hand-written statement by name.
    let handRow = try record.insertRow(db)
    var generic = twin ?? record
    try generic.insert(db, onConflict: nil)
    let genericRow = db.lastInsertedRowID
    let rows = try [handRow, genericRow].map { rowid in
        try #require(try Row.fetchOne(db, sql: "SELECT * FROM \(table) WHERE rowid = ?", arguments: [rowid]))
    }
    #expect(handRow != genericRow)
    for column in rows[0].columnNames where !keys.contains(column) {
        #expect(rows[0][column] as DatabaseValue == rows[1][column] as DatabaseValue, "\(table).\(column)")
    }
    #expect(rows[0].columnNames.count == Array(try db.columns(in: table)).count)
    return (handRow, genericRow)
}
