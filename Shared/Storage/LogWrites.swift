import GRDB
import GRDBSQLite
import LaurelSQLiteVFS

/// What a connection's write-ahead log has been asked to write and what
/// reached the file, through Laurel's VFS (`DatabaseBootstrap.logFramesGathered`):
/// the measure of the frames it gathers, for tests and diagnosis.
public struct LogWrites: Equatable, Sendable {
    /// Writes SQLite made to the log: two per frame, one per log header.
    public let requested: Int64
    /// Writes that reached the file.
    public let issued: Int64

    /// The counts of `db`'s log so far; nil when it has no log open, or one
    /// opened without Laurel's VFS.
    public static func of(_ db: Database) -> LogWrites? {
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file) == SQLITE_OK,
            let file
        else { return nil }
        var requested: sqlite3_int64 = 0
        var issued: sqlite3_int64 = 0
        guard laurel_vfs_log_writes(file, &requested, &issued) != 0 else { return nil }
        return LogWrites(requested: requested, issued: issued)
    }
}
