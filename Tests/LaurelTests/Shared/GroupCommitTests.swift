import Dispatch
import Foundation
import GRDB
import LaurelShared
import Synchronization
import Testing

/// Concurrent writes share transactions, yet each succeeds or fails alone.
@Suite struct GroupCommitTests {
    final class CommitCounter: TransactionObserver, Sendable {
        let commits = Mutex(0)
        let seen = Mutex<[Int]>([])
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { commits.withLock { $0 += 1 } }
        func databaseDidRollback(_ db: Database) {}
    }

    func database() throws -> (DatabaseQueue, CommitCounter) {
        let queue = try DatabaseBootstrap.inMemory()
        try queue.write { db in try db.execute(sql: "CREATE TABLE item (n INTEGER PRIMARY KEY CHECK (n != 13))") }
        let counter = CommitCounter()
        queue.add(transactionObserver: counter, extent: .databaseLifetime)
        return (queue, counter)
    }

    @Test func writesWaitingForACommitShareTheNextAndFailAlone() async throws {
        let (queue, counter) = try database()
        let metrics = LaurelMetrics()
        let commits = GroupCommit(queue, metrics: metrics.storage)
        let effects = CommitCounter()
        let release = DispatchSemaphore(value: 0)
        // Keeps the writer busy while the writes pile up behind it.
        let barrier = Task { try await queue.write { _ in release.wait() } }
        try await Task.sleep(for: .milliseconds(50))
        let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for n in 1...40 {
                group.addTask {
                    do {
                        try await commits.write { db in
                            try db.execute(sql: "INSERT INTO item (n) VALUES (?)", arguments: [n])
                            // Fails after writing: the write must go with it.
                            if n == 7 { throw CancellationError() }
                            db.afterCommit { effects.seen.withLock { $0.append(n) } }
                        }
                        return (n, true)
                    } catch {
                        return (n, false)
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            release.signal()
            return try await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        try await barrier.value
        // 13 breaks the CHECK and 7 throws: they alone fail, and their effects never run.
        #expect(outcomes.filter { !$0.value }.map(\.key).sorted() == [7, 13])
        let stored = try await queue.read { db in try Int.fetchAll(db, sql: "SELECT n FROM item ORDER BY n") }
        #expect(stored == Array(1...40).filter { $0 != 13 && $0 != 7 })
        #expect(effects.seen.withLock { $0.sorted() } == stored)
        // The barrier, then a few batches rather than 40 transactions.
        let transactions = counter.commits.withLock { $0 }
        #expect(transactions <= 5, "\(transactions) commits for 40 writes")

        // Every write waited and went into a commit, the two that failed
        // alone included; each of the batches (all but the barrier's
        // transaction) was timed.
        let samples = metrics.samples
        #expect(samples["laurel_db_write_wait_seconds_count"] == 40)
        #expect(samples["laurel_db_commit_writes_sum"] == 40)
        #expect(samples["laurel_db_commit_writes_count"] == Double(transactions - 1))
        #expect(samples["laurel_db_commit_duration_seconds_count"] == Double(transactions - 1))
        #expect(samples["laurel_db_commit_writes_bucket{le=\"+Inf\"}"] == Double(transactions - 1))
    }

    @Test func aBatchOfOneIsAPlainTransaction() async throws {
        let (queue, counter) = try database()
        let metrics = LaurelMetrics()
        let commits = GroupCommit(queue, maxBatch: 1, metrics: metrics.storage)
        for n in 1...5 {
            try await commits.write { db in try db.execute(sql: "INSERT INTO item (n) VALUES (?)", arguments: [n]) }
        }
        await #expect(throws: DatabaseError.self) {
            try await commits.write { db in try db.execute(sql: "INSERT INTO item (n) VALUES (13)") }
        }
        #expect(counter.commits.withLock { $0 } == 5)
        #expect(try await queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM item") } == 5)
        // Six writes waited; the five that committed did so one by one.
        let samples = metrics.samples
        #expect(samples["laurel_db_write_wait_seconds_count"] == 6)
        #expect(samples["laurel_db_commit_writes_count"] == 5)
        #expect(samples["laurel_db_commit_writes_sum"] == 5)
        #expect(samples["laurel_db_commit_writes_bucket{le=\"1.0\"}"] == 5)
        #expect(samples["laurel_db_commit_duration_seconds_count"] == 5)
    }
}
