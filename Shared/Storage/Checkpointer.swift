import GRDB
import Logging
import Synchronization

/// Copies committed pages from a service's write-ahead log back into its
/// database file on a connection of its own, so that the one writer thread
/// does little of it. SQLite's automatic checkpoint runs inside the commit
/// that takes the log past 1,000 pages: on the members writer, which bounds
/// RecordPurchase, checkpoints were 9 % of the thread's CPU, plus waits on
/// the database file's fsync (docs/performance.md).
///
/// The writer now checkpoints only at `DatabaseBootstrap.backstopPages`.
/// Under a steady stream of commits a passive checkpoint here never quite
/// reaches the end of the log, so the log starts again from the top only at
/// that backstop; by then this one has copied all but the last moments, and
/// the writer's checkpoint is short. When writes pause, this one catches up
/// and the next commit starts the log again. A passive checkpoint never
/// blocks the writer or the readers, and a commit is durable once the log is
/// synced (`synchronous=FULL`), before any checkpoint: durability is
/// unchanged. Without this running (a tool, a test) the backstop alone
/// keeps the log bounded.
public final class Checkpointer: Sendable {
    private let connection: DatabaseQueue?

    /// Over a database without a file (in memory, in tests) there is nothing to copy.
    public init(_ writer: any DatabaseWriter) throws {
        connection = try (writer as? DatabasePool).map { try DatabaseQueue(path: $0.path, configuration: DatabaseBootstrap.configuration()) }
    }

    /// Pages in the log and how many of them are in the database file now.
    public struct Progress: Equatable, Sendable {
        public let logPages: Int
        public let checkpointedPages: Int
    }

    /// One passive checkpoint; nil without a file.
    @discardableResult
    public func checkpoint() throws -> Progress? {
        try connection?.writeWithoutTransaction { db in
            let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
            return row.map { Progress(logPages: $0[1], checkpointedPages: $0[2]) }
        }
    }

    /// A checkpoint every `interval` until graceful shutdown, as background
    /// work of a service's `ServerRuntime`; less often while the log does
    /// not change (`CheckpointPace`).
    public func periodically(every interval: Duration = .milliseconds(100), logger: Logger) -> PeriodicTask {
        let pace = Mutex(CheckpointPace(interval: interval))
        return .paced(name: "checkpoint", interval: interval, logger: logger) { [self] in
            let progress = try checkpoint()
            return pace.withLock { $0.next(after: progress) }
        }
    }
}

/// How long the checkpointer waits between checkpoints: `interval` while
/// the log grows, twice as long after each checkpoint that found it as it
/// was and all copied, up to `idleLimit`. An idle service then wakes for it
/// every 2 s instead of ten times a second, and its first commits after a
/// pause wait at most `idleLimit` to be copied (the writer's own backstop
/// still bounds the log).
public struct CheckpointPace: Sendable {
    public let interval: Duration
    public let idleLimit: Duration
    private var wait: Duration
    private var lastLogPages: Int?

    public init(interval: Duration, idleLimit: Duration = .seconds(2)) {
        self.interval = interval
        self.idleLimit = max(interval, idleLimit)
        wait = interval
    }

    /// The wait after a checkpoint that found `progress`.
    public mutating func next(after progress: Checkpointer.Progress?) -> Duration {
        defer { lastLogPages = progress?.logPages }
        if let progress, progress.logPages == lastLogPages, progress.checkpointedPages == progress.logPages {
            wait = min(wait * 2, idleLimit)
        } else {
            wait = interval
        }
        return wait
    }
}
