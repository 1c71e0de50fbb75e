import GRDB
import GRDBSQLite

extension Database {
    /// Steps a cached statement once and reads its first row column by
    /// column from SQLite; nil if there is none.
    ///
    /// For a one-row lookup on the hottest call, GetBalance's: GRDB's
    /// `Row.fetchOne` makes a cursor and a row, boxes the arguments and
    /// copies the row out, which cost half again SQLite's own work on a
    /// primary-key lookup (docs/performance.md; on the writers' lookups it
    /// measured nothing, so they keep GRDB's). A statement run this way is
    /// reset and its bindings cleared before this returns, so it holds no
    /// snapshot open and the next use, here or through GRDB, binds afresh.
    ///
    /// Reads only: it skips GRDB's bookkeeping of statements that write
    /// (transaction observers, `afterCommit`).
    public func lookUpRow<T>(
        cached sql: String,
        bind: (borrowing LookupBindings) -> Void,
        read: (borrowing LookupRow) throws -> T
    ) throws -> T? {
        let statement = try cachedStatement(sql: sql)
        precondition(statement.isReadonly, "lookUpRow is for reads")
        let handle = statement.sqliteStatement
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        bind(LookupBindings(handle: handle))
        switch sqlite3_step(handle) {
        case SQLITE_ROW:
            return try read(LookupRow(handle: handle))
        case SQLITE_DONE:
            return nil
        case let code:
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqliteConnection)), sql: sql)
        }
    }
}

/// The values of a lookup's parameters, numbered from 1 as in SQL (`?1`).
public struct LookupBindings: ~Copyable {
    fileprivate let handle: SQLiteStatement

    public func bind(_ value: Int64, at index: Int32) {
        sqlite3_bind_int64(handle, index, value)
    }

    public func bind(_ value: String, at index: Int32) {
        // SQLite copies the text (SQLITE_TRANSIENT): the String's storage
        // is not promised past this call.
        sqlite3_bind_text(handle, index, value, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }

    public func bind(_ value: Instant, at index: Int32) {
        bind(value.millisecondsSince1970, at: index)
    }
}

/// The row a lookup stepped to; columns numbered from 0, as SQLite does.
/// Valid only inside the `read` closure.
public struct LookupRow: ~Copyable {
    fileprivate let handle: SQLiteStatement

    public func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    /// SQLite's integer value of the column: 0 for NULL.
    public func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    public func bool(_ column: Int32) -> Bool {
        int64(column) != 0
    }

    public func string(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    public func instant(_ column: Int32) -> Instant? {
        isNull(column) ? nil : Instant(millisecondsSince1970: int64(column))
    }
}
