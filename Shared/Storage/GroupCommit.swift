import GRDB
import Synchronization

/// Group commit: write transactions that arrive while one is committing are
/// run together in the next transaction, and all are answered after that one
/// commit. With `synchronous=FULL` a commit costs an fsync, so N concurrent
/// writes pay for one instead of N, and durability is unchanged: nobody is
/// answered before the commit that holds their change.
///
/// A job that throws gets its own error and leaves no change behind; a commit
/// that fails fails every job of the batch. Nothing waits to fill a batch: a
/// lone write commits at once, as it would without batching.
///
/// A job that fails, fails almost always before it changes a row (a missing
/// member, too few points, a key reused), and then there is nothing to undo.
/// So a batch first runs its jobs bare, without the savepoint each would need
/// to be undone alone: a savepoint makes SQLite copy every page the job then
/// touches, on the writer, whether or not it fails. Only if a job throws
/// after changing rows is the batch rolled back and run again, each job in
/// its savepoint, so that the failed job's changes go and the others' stay.
public final class GroupCommit: Sendable {
    private let writer: any DatabaseWriter
    private let maxBatch: Int
    private let metrics: StorageMetrics?
    private let state = Mutex(State())

    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    private typealias Finish = @Sendable ((any Error)?) -> Void

    private struct Job: Sendable {
        let arrived: ContinuousClock.Instant
        /// Answers a job that never ran: the transaction could not begin.
        let abort: @Sendable (any Error) -> Void
        /// Runs the body, in its savepoint if `guarded`; returns how to
        /// answer once the transaction has committed (nil) or failed. Bare,
        /// a body that throws after changing rows throws `Redo` instead.
        let run: @Sendable (Database, _ guarded: Bool) throws -> Finish
    }

    /// `maxBatch` 1 turns batching off: one transaction per write.
    public init(_ writer: any DatabaseWriter, maxBatch: Int = 256, metrics: StorageMetrics? = nil) {
        precondition(maxBatch >= 1)
        self.writer = writer
        self.maxBatch = maxBatch
        self.metrics = metrics
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let arrived = ContinuousClock.now
        if maxBatch == 1 {
            let effects = CommitEffects()
            // GRDB's `write`, with the commit timed.
            let value = try await writer.writeWithoutTransaction { db in
                self.metrics?.waited(.now - arrived)
                var value: T?
                try self.transaction(db, writes: 1) { value = try CommitEffects.$current.withValue(effects) { try body(db) } }
                return value!
            }
            effects.run()
            return value
        }
        return try await withCheckedThrowingContinuation { continuation in
            let job = Job(arrived: arrived, abort: { continuation.resume(throwing: $0) }) { db, guarded in
                let effects = CommitEffects()
                let outcome: Result<T, any Error>
                let changes = db.totalChangesCount
                do {
                    let work = { try CommitEffects.$current.withValue(effects) { try body(db) } }
                    outcome = .success(try guarded ? db.inJobSavepoint(work) : work())
                } catch {
                    // SQLite undoes a failed statement itself; only rows that
                    // earlier statements changed, or a transaction SQLite
                    // abandoned, need the savepoints.
                    if !guarded && (db.totalChangesCount != changes || !db.isInsideTransaction) { throw Redo() }
                    outcome = .failure(error)
                }
                return { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        if case .success = outcome { effects.run() }
                        continuation.resume(with: outcome)
                    }
                }
            }
            let start = state.withLock { state in
                state.pending.append(job)
                defer { state.draining = true }
                return !state.draining
            }
            if start { writer.asyncWriteWithoutTransaction { db in self.commitNextBatch(db) } }
        }
    }

    /// Runs on the writer's own queue, scheduled there directly rather than
    /// from a task awaiting `write`: that saves a task and two thread hops
    /// per batch, which is per call when calls come one at a time. One batch
    /// per turn of the queue, so that other writes of the service (sweeps,
    /// migrations of data) are not held off by a steady stream of calls.
    private func commitNextBatch(_ db: Database) {
        let batch: [Job] = state.withLock { state in
            let batch = Array(state.pending.prefix(maxBatch))
            state.pending.removeFirst(batch.count)
            return batch
        }
        if let metrics {
            let began = ContinuousClock.now
            for job in batch { metrics.waited(began - job.arrived) }
        }
        var ran: [Finish] = []
        do {
            do {
                try transaction(db, writes: batch.count) { ran = try batch.map { try $0.run(db, false) } }
            } catch is Redo {
                ran = []
                metrics?.redone()
                try transaction(db, writes: batch.count) { ran = try batch.map { try $0.run(db, true) } }
            }
            for finish in ran { finish(nil) }
        } catch {
            // Empty only if the transaction could not begin: no job ran.
            if ran.isEmpty {
                for job in batch { job.abort(error) }
            } else {
                for finish in ran { finish(error) }
            }
        }
        let more = state.withLock { state in
            if state.pending.isEmpty { state.draining = false }
            return state.draining
        }
        if more { writer.asyncWriteWithoutTransaction { db in self.commitNextBatch(db) } }
    }
}

extension GroupCommit {
    /// A job of a bare batch failed after changing rows.
    fileprivate struct Redo: Error {}

    /// One transaction of `writes` writes, its commit timed.
    fileprivate func transaction(_ db: Database, writes: Int, _ work: () throws -> Void) throws {
        var committing = ContinuousClock.now
        try db.inTransaction {
            try work()
            committing = .now
            return .commit
        }
        metrics?.committed(writes: writes, in: .now - committing)
    }
}

extension Database {
    /// GRDB's `inSavepoint`, minus preparing its statements again on every
    /// call (a batch run again runs one savepoint per write, all on the
    /// writer), for use inside a transaction. As there, a job whose statement
    /// made SQLite abandon the whole transaction leaves the commit to fail.
    fileprivate func inJobSavepoint<T>(_ body: () throws -> T) throws -> T {
        try cachedStatement(sql: "SAVEPOINT job").execute()
        let value: T
        do {
            value = try body()
        } catch {
            // Rolling back to a savepoint keeps it on SQLite's stack: release it too.
            try? cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT job").execute()
            try? cachedStatement(sql: "RELEASE SAVEPOINT job").execute()
            throw error
        }
        try cachedStatement(sql: "RELEASE SAVEPOINT job").execute()
        return value
    }
}

/// What a write does only once its transaction has committed (metrics), so a
/// write that rolls back, alone or in its savepoint, does none of it.
public final class CommitEffects: Sendable {
    @TaskLocal public static var current: CommitEffects?

    private let actions = Mutex<[@Sendable () -> Void]>([])

    public init() {}

    public func append(_ action: @escaping @Sendable () -> Void) {
        actions.withLock { $0.append(action) }
    }

    func run() {
        for action in actions.withLock({ $0 }) { action() }
    }
}

extension Database {
    /// Runs `action` once the current write has committed: after its
    /// transaction, or, in a group commit, after the batch's.
    public func afterCommit(_ action: @escaping @Sendable () -> Void) {
        if let effects = CommitEffects.current {
            effects.append(action)
        } else {
            afterNextTransaction { _ in action() }
        }
    }
}
