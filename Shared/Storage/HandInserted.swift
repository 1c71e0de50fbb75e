import GRDB

/// A record of a table that every points change appends to, inserted through
/// one cached statement with its values in column order. GRDB's generic
/// insert builds a dictionary of the record's columns, the SQL text and a
/// statement-cache key on every call: a fifth of a purchase's write
/// transaction in profiles (docs/performance.md). Tests insert each such
/// record both ways and compare the rows.
public protocol HandInserted {
    /// `INSERT INTO <table> (<every column>) VALUES (?, …)`.
    static var insertSQL: String { get }
    /// The record's values, in the order of `insertSQL`'s columns.
    var insertValues: StatementArguments { get }
}

extension HandInserted {
    /// Inserts the row; returns its rowid.
    @discardableResult
    public func insertRow(_ db: Database) throws -> Int64 {
        try db.cachedStatement(sql: Self.insertSQL).execute(arguments: insertValues)
        return db.lastInsertedRowID
    }
}
