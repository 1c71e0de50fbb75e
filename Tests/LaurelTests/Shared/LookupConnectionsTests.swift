import Dispatch
import Foundation
import GRDB
@testable import LaurelShared
import Synchronization
import Testing

/// The hot lookups' own connections read what the pool's writer committed,
/// cannot write, and are reused rather than opened per call.
@Suite struct LookupConnectionsTests {
    func pool() throws -> (DatabasePool, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookups-\(UUID().uuidString)")
        let pool = try DatabaseBootstrap.open(name: "lookups", in: directory.path)
        try pool.write { db in try db.execute(sql: "CREATE TABLE item (n INTEGER PRIMARY KEY)") }
        return (pool, directory)
    }

    static func count(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM item") ?? -1
    }

    @Test func lookupsSeeEachCommitAndCannotWrite() throws {
        let (pool, directory) = try pool()
        defer { try? FileManager.default.removeItem(at: directory) }
        let lookups = LookupConnections(pool)
        #expect(try lookups.read(Self.count) == 0)
        try pool.write { db in try db.execute(sql: "INSERT INTO item (n) VALUES (1), (2)") }
        // The connection opened above reads the commit made after it.
        #expect(try lookups.read(Self.count) == 2)
        #expect(throws: DatabaseError.self) {
            try lookups.read { db in try db.execute(sql: "INSERT INTO item (n) VALUES (3)") }
        }
        #expect(try pool.read(Self.count) == 2)
    }

    @Test func connectionsAreReusedAndNeverMoreThanConcurrentReaders() throws {
        let (pool, directory) = try pool()
        defer { try? FileManager.default.removeItem(at: directory) }
        try pool.write { db in try db.execute(sql: "INSERT INTO item (n) VALUES (1)") }
        let lookups = LookupConnections(pool)
        #expect(lookups.idle == 0)
        for _ in 1...5 { #expect(try lookups.read(Self.count) == 1) }
        #expect(lookups.idle == 1)

        let threads = 4
        let wrong = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 1...200 where (try? lookups.read(Self.count)) != 1 {
                wrong.withLock { $0 += 1 }
            }
        }
        #expect(wrong.withLock { $0 } == 0)
        #expect((1...threads).contains(lookups.idle))
    }

    @Test func inMemoryLookupsGoToTheDatabaseItself() throws {
        let queue = try DatabaseBootstrap.inMemory()
        try queue.write { db in try db.execute(sql: "CREATE TABLE item (n INTEGER PRIMARY KEY); INSERT INTO item (n) VALUES (7)") }
        let lookups = LookupConnections(queue)
        #expect(try lookups.read(Self.count) == 1)
        #expect(lookups.idle == 0)
    }
}
