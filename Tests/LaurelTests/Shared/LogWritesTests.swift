import Foundation
import GRDB
import GRDBSQLite
@testable import LaurelShared
import Testing

/// Laurel's VFS writes a commit's log frames in one call. What is in the
/// files, and when, must be what SQLite alone would have put there: each
/// test reads them back through SQLite's own VFS, or recovers a copy of them
/// as SQLite would after a crash.
@Suite struct LogWritesTests {
    func withDatabase(_ body: (DatabasePool, String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("log-writes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try DatabaseBootstrap.open(name: "log", in: directory.path)
        try await pool.write { try $0.execute(sql: "CREATE TABLE row (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, body BLOB NOT NULL)") }
        try await body(pool, directory.appendingPathComponent("log.sqlite").path)
    }

    /// Rows of 3,000 random bytes: most take a page of their own.
    func insert(_ db: Database, _ numbers: some Sequence<Int>) throws {
        for n in numbers {
            let body = Data((0..<3_000).map { _ in UInt8.random(in: 0...255) })
            try db.execute(sql: "INSERT INTO row (n, body) VALUES (?, ?)", arguments: [n, body])
        }
    }

    struct Contents: Equatable {
        var count: Int64
        var sum: Int64
        var integrity: String
    }

    /// The database as SQLite's own VFS reads it from the files.
    func plainRead(_ path: String) throws -> Contents {
        var handle: OpaquePointer?
        defer { sqlite3_close(handle) }
        try #require(sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, "unix") == SQLITE_OK)
        let db = try #require(handle)
        func text(_ sql: String) throws -> String {
            var statement: OpaquePointer?
            defer { sqlite3_finalize(statement) }
            try #require(sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK)
            try #require(sqlite3_step(statement) == SQLITE_ROW)
            return String(cString: sqlite3_column_text(statement, 0))
        }
        return Contents(
            count: try #require(Int64(text("SELECT COUNT(*) FROM row"))),
            sum: try #require(Int64(text("SELECT COALESCE(SUM(n), 0) FROM row"))),
            integrity: try text("PRAGMA integrity_check"))
    }

    /// The database and its log copied while the pool is open, as a crash
    /// would leave them, and recovered by SQLite's own VFS: recovery keeps a
    /// commit only if every frame up to it is in the log with a valid checksum.
    func recoveredCopy(_ path: String) throws -> Contents {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("log-copy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        let target = copy.appendingPathComponent("log.sqlite").path
        try FileManager.default.copyItem(atPath: path, toPath: target)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: target + "-wal")
        return try plainRead(target)
    }

    @Test func aCommitsFramesReachTheLogInFewWrites() async throws {
        #expect(DatabaseBootstrap.logFramesGathered)
        try await withDatabase { pool, path in
            let (before, after) = try await pool.writeWithoutTransaction { db in
                let before = try #require(LogWrites.of(db))
                try db.inTransaction {
                    try insert(db, 1...200)
                    return .commit
                }
                return (before, try #require(LogWrites.of(db)))
            }
            // Two writes asked for each of more than 200 frames; one made for
            // each 30 (the most SQLite's unix VFS writes at once).
            let requested = after.requested - before.requested
            let issued = after.issued - before.issued
            #expect(requested > 400)
            #expect(issued >= requested / 60 && issued <= requested / 50 + 1)
            #expect(try plainRead(path) == Contents(count: 200, sum: 20_100, integrity: "ok"))
            #expect(try recoveredCopy(path) == Contents(count: 200, sum: 20_100, integrity: "ok"))
        }
    }

    /// A commit is published to other connections right after its frames are
    /// written, and synced first only with FULL: the frames must be in the
    /// file by then in every mode.
    @Test(arguments: ["FULL", "NORMAL", "OFF"])
    func everyCommitIsInTheFileWhenOthersCanSeeIt(synchronous: String) async throws {
        try await withDatabase { pool, path in
            try await pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = \(synchronous)") }
            let other = try DatabaseQueue(path: path, configuration: DatabaseBootstrap.configuration())
            var sum = 0
            for n in 1...60 {
                try await pool.write { try insert($0, [n]) }
                sum += n
                #expect(try await pool.read { try Int.fetchOne($0, sql: "SELECT SUM(n) FROM row") } == sum)
                #expect(try await other.read { try Int.fetchOne($0, sql: "SELECT SUM(n) FROM row") } == sum)
                #expect(try plainRead(path) == Contents(count: Int64(n), sum: Int64(sum), integrity: "ok"))
            }
            #expect(try recoveredCopy(path) == Contents(count: 60, sum: Int64(sum), integrity: "ok"))
        }
    }

    /// A transaction larger than the page cache writes frames before its
    /// commit, takes some back with a savepoint, writes pages again that
    /// are already in the log (SQLite then rewrites frames in place and
    /// their checksums at the commit): all of that goes around the gathering.
    /// Without a sync after the commit, the rewritten checksums must be in
    /// the file all the same, or recovery would drop the commit.
    @Test(arguments: ["FULL", "NORMAL"])
    func spillsRollbacksAndRewrittenFramesLeaveAValidLog(synchronous: String) async throws {
        try await withDatabase { pool, path in
            try await pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                try db.execute(sql: "PRAGMA cache_size = 20")
                try db.inTransaction {
                    try insert(db, 1...300)
                    try db.execute(sql: "SAVEPOINT more")
                    try insert(db, 1_000...1_200)
                    try db.execute(sql: "ROLLBACK TO more")
                    try db.execute(sql: "RELEASE more")
                    try db.execute(sql: "UPDATE row SET n = n + 1, body = zeroblob(2000) WHERE id % 2 = 0")
                    try insert(db, 301...310)
                    return .commit
                }
            }
            // 1...310, and 1 more for each of the 150 even ids among the first 300.
            let expected = Contents(count: 310, sum: 310 * 311 / 2 + 150, integrity: "ok")
            #expect(try plainRead(path) == expected)
            #expect(try recoveredCopy(path) == expected)
            #expect(try await pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM row") } == 310)

            // The log ends before frames the savepoint took back: the next
            // transaction's first write goes straight to the file and finds
            // the end, and from there frames are gathered again.
            let (first, second) = try await pool.writeWithoutTransaction { db in
                func commitOneRow() throws -> (requested: Int64, issued: Int64) {
                    let before = try #require(LogWrites.of(db))
                    try db.inTransaction {
                        try insert(db, [1])
                        return .commit
                    }
                    let after = try #require(LogWrites.of(db))
                    return (after.requested - before.requested, after.issued - before.issued)
                }
                return (try commitOneRow(), try commitOneRow())
            }
            #expect(first.requested >= 4 && first.issued == 2)
            #expect(second.requested >= 4 && second.issued == 1)
        }
    }
}
