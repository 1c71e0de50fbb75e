import Foundation
import GRDB
import LaurelSQLiteVFS

/// Opens a service's SQLite database the one way Laurel wants it.
public enum DatabaseBootstrap {
    /// The on-disk database `<dataDirectory>/<name>.sqlite`.
    ///
    /// WAL with `synchronous=FULL`: GRDB's default NORMAL may lose the last
    /// commits on power loss, and an acknowledged point must never be lost.
    public static func open(name: String, in dataDirectory: String) throws -> DatabasePool {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let path = URL(fileURLWithPath: dataDirectory).appendingPathComponent("\(name).sqlite").path
        let pool = try DatabasePool(path: path, configuration: configuration())
        // DatabasePool switches its writer to synchronous=NORMAL when it turns
        // WAL on, after prepareDatabase has run: set FULL again on the one
        // connection that writes.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Checkpoints are a `Checkpointer`'s, off the writer's thread;
            // the writer's own is the backstop.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(backstopPages)")
        }
        return pool
    }

    /// Log pages past which the writer checkpoints inside a commit, where
    /// SQLite's default is 1,000: about 40 MiB of log. A `Checkpointer`
    /// copies pages back meanwhile, so the writer's checkpoint at this mark
    /// has little left to copy; checkpointing ten times less often is most of
    /// the gain (docs/performance.md).
    public static let backstopPages = 10_000

    /// Whether SQLite's default VFS is Laurel's, which writes each commit's
    /// log frames in one call instead of two per frame (`LogWrites`). It is
    /// installed before the first connection opens; should SQLite refuse it,
    /// connections use SQLite's own VFS, with the same files and guarantees.
    public static let logFramesGathered: Bool = laurel_vfs_register() == SQLITE_OK

    /// Whether SQLite keeps no memory statistics in this process: set with
    /// the VFS, before the first connection opens, so that an allocation
    /// inside SQLite takes no process-wide lock (docs/performance.md).
    public static var memoryStatisticsOff: Bool { laurel_sqlite_memory_statistics_off() == SQLITE_OK }

    /// A private in-memory database, for domain tests.
    public static func inMemory() throws -> DatabaseQueue {
        try DatabaseQueue(configuration: configuration())
    }

    public static func configuration() -> Configuration {
        _ = logFramesGathered
        var config = Configuration()
        config.foreignKeysEnabled = true
        // Writers queue behind each other inside GRDB; this only covers another
        // process (an operator's sqlite3 shell) holding the lock.
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // A savepoint's undo pages (GroupCommit's batches run again),
            // which SQLite keeps in a temporary file once past 64 KiB: in
            // memory they cost no system call. They last one transaction.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        return config
    }
}
