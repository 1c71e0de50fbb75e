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
        let runs = Mutex<[Int: Int]>([:])
        let outcomes = try await piledUp(on: queue) { n in
            try await commits.write { db in
                runs.withLock { $0[n, default: 0] += 1 }
                try db.execute(sql: "INSERT INTO item (n) VALUES (?)", arguments: [n])
                // Fails after writing: the write must go with it.
                if n == 7 { throw CancellationError() }
                db.afterCommit { effects.seen.withLock { $0.append(n) } }
            }
        }
        // 13 breaks the CHECK and 7 throws: they alone fail, and their effects never run.
        #expect(outcomes.filter { !$0.value }.map(\.key).sorted() == [7, 13])
        let stored = try await queue.read { db in try Int.fetchAll(db, sql: "SELECT n FROM item ORDER BY n") }
        #expect(stored == Array(1...40).filter { $0 != 13 && $0 != 7 })
        #expect(effects.seen.withLock { $0.sorted() } == stored)
        // The barrier, then a few batches rather than 40 transactions.
        let transactions = counter.commits.withLock { $0 }
        #expect(transactions <= 5, "\(transactions) commits for 40 writes")
        // 7's batch ran twice, the second time each write in its savepoint,
        // which took 7's row back alone; every other batch ran once.
        let ranTwice = runs.withLock { $0.filter { $0.value == 2 }.keys.sorted() }
        #expect(ranTwice.contains(7))
        #expect(runs.withLock { $0.values.allSatisfy { $0 == 1 || $0 == 2 } && $0.count == 40 })
        #expect(metrics.samples["laurel_db_batches_redone_total"] == 1)

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

    @Test func writesThatFailBeforeChangingARowAreNotRunAgain() async throws {
        let (queue, counter) = try database()
        let metrics = LaurelMetrics()
        let commits = GroupCommit(queue, metrics: metrics.storage)
        let runs = Mutex<[Int: Int]>([:])
        let outcomes = try await piledUp(on: queue) { n in
            try await commits.write { db in
                runs.withLock { $0[n, default: 0] += 1 }
                switch n {
                case 7:  // a check that fails before any write
                    throw CancellationError()
                case 21:  // a statement that changes nothing, then a failure
                    try db.execute(sql: "UPDATE item SET n = n WHERE n = -1")
                    throw CancellationError()
                default:  // 13 breaks the CHECK: SQLite undoes the statement itself
                    try db.execute(sql: "INSERT INTO item (n) VALUES (?)", arguments: [n])
                }
            }
        }
        #expect(outcomes.filter { !$0.value }.map(\.key).sorted() == [7, 13, 21])
        let stored = try await queue.read { db in try Int.fetchAll(db, sql: "SELECT n FROM item ORDER BY n") }
        #expect(stored == Array(1...40).filter { ![7, 13, 21].contains($0) })
        #expect(counter.commits.withLock { $0 } <= 5)
        // Nothing to take back, so no batch ran again: each write ran once.
        #expect(runs.withLock { $0.count == 40 && $0.values.allSatisfy { $0 == 1 } })
        #expect(metrics.samples["laurel_db_batches_redone_total"] == 0)
    }

    /// Writes 1...40 through `write` while the writer is held busy, so that
    /// they pile up and go into a few batches; whether each succeeded.
    func piledUp(
        on queue: DatabaseQueue, _ write: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> [Int: Bool] {
        let release = DispatchSemaphore(value: 0)
        let barrier = Task { try await queue.write { _ in release.wait() } }
        try await Task.sleep(for: .milliseconds(50))
        let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for n in 1...40 {
                group.addTask {
                    do {
                        try await write(n)
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
        return outcomes
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
