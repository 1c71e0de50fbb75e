import Foundation
import GRDB
@testable import LaurelShared
import Testing

/// A lookup read straight from SQLite's statement reads what GRDB would,
/// answers a missing row with nil and a failed step with GRDB's error, and
/// leaves its statement reset: no snapshot held, the next use binds afresh.
@Suite struct RowLookupTests {
    static let sql = "SELECT n, label, at, flag FROM item WHERE n = ?1 AND (?2 IS NULL OR label = ?2)"

    func pool() throws -> (DatabasePool, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("row-lookup-\(UUID().uuidString)")
        let pool = try DatabaseBootstrap.open(name: "lookup", in: directory.path)
        try pool.write { db in
            try db.execute(sql: """
                CREATE TABLE item (n INTEGER PRIMARY KEY, label TEXT, at INTEGER, flag INTEGER NOT NULL);
                INSERT INTO item VALUES (1, 'één €', 1700000000123, 1), (2, NULL, NULL, 0);
                """)
        }
        return (pool, directory)
    }

    struct Item: Equatable {
        var n: Int64, label: String?, at: Instant?, flag: Bool
    }

    static func item(_ db: Database, _ n: Int64, label: String? = nil) throws -> Item? {
        try db.lookUpRow(
            cached: sql,
            bind: { bindings in
                bindings.bind(n, at: 1)
                if let label { bindings.bind(label, at: 2) }
            },
            read: { row in Item(n: row.int64(0), label: row.string(1), at: row.instant(2), flag: row.bool(3)) })
    }

    @Test func readsValuesAndNullsAsGRDBDoes() throws {
        let (pool, directory) = try pool()
        defer { try? FileManager.default.removeItem(at: directory) }
        let lookups = LookupConnections(pool)
        let first = try lookups.read { try Self.item($0, 1) }
        #expect(first == Item(n: 1, label: "één €", at: Instant(millisecondsSince1970: 1_700_000_000_123), flag: true))
        #expect(try lookups.read { try Self.item($0, 2) } == Item(n: 2, label: nil, at: nil, flag: false))
        #expect(try lookups.read { try Self.item($0, 1, label: "één €") } == first)
        #expect(try lookups.read { try Self.item($0, 1, label: "other") } == nil)
        // The text binding of the call before is gone: ?2 is NULL again.
        #expect(try lookups.read { try Self.item($0, 1) } == first)
        #expect(try lookups.read { try Self.item($0, 3) } == nil)

        // GRDB reads the same row through the same cached statement.
        let row = try lookups.read { db in try Row.fetchOne(db.cachedStatement(sql: Self.sql), arguments: [1, nil]) }
        #expect(row?["label"] as String? == "één €")
        #expect(row?["at"] as Int64? == 1_700_000_000_123)
    }

    @Test func aFailedStepThrowsGRDBsError() throws {
        let queue = try DatabaseBootstrap.inMemory()
        let error = #expect(throws: DatabaseError.self) {
            try queue.read { db in
                try db.lookUpRow(cached: "SELECT abs(?1)", bind: { $0.bind(Int64.min, at: 1) }, read: { $0.int64(0) })
            }
        }
        #expect(error?.resultCode == .SQLITE_ERROR)
        #expect(error?.message?.contains("overflow") == true)
        // The statement was reset after its failure and serves again.
        let value = try queue.read { db in
            try db.lookUpRow(cached: "SELECT abs(?1)", bind: { $0.bind(-5, at: 1) }, read: { $0.int64(0) })
        }
        #expect(value == 5)
    }

    /// A statement stepped and not reset keeps its read transaction, and
    /// with it the snapshot it read: the checkpointer could then never copy
    /// what was committed after it.
    @Test func aLookupHoldsNoSnapshot() throws {
        let (pool, directory) = try pool()
        defer { try? FileManager.default.removeItem(at: directory) }
        let lookups = LookupConnections(pool)
        #expect(try lookups.read { try Self.item($0, 1) }?.flag == true)
        try pool.write { db in try db.execute(sql: "UPDATE item SET flag = 0 WHERE n = 1") }
        let checkpoint = try pool.writeWithoutTransaction { db in try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") }
        let logFrames: Int = try #require(checkpoint)[1]
        let copied: Int = try #require(checkpoint)[2]
        #expect(logFrames > 0)
        #expect(copied == logFrames)
        #expect(try lookups.read { try Self.item($0, 1) }?.flag == false)
    }
}
