import Prometheus

/// A service's writes to its database, as group commit (`GroupCommit`) runs
/// them: how long each waited for the transaction it went into, how many went
/// into one transaction, and how long that transaction's commit took, which is
/// writing its log frames and syncing them to disk (`synchronous=FULL`). A
/// slow or stalling disk shows in the last, and a writer that cannot keep up
/// in the first (docs/performance.md). Batches run again because a write
/// failed after changing rows are counted: each costs its writes twice.
public struct StorageMetrics: Sendable {
    private let waited: DurationHistogram
    private let batched: ValueHistogram
    private let committed: DurationHistogram
    private let batchesRedone: Counter

    init(registry: PrometheusCollectorRegistry) {
        waited = Self.durations(
            in: registry, "db_write_wait", help: "Time from a write's arrival to the start of the transaction it went into.")
        batched = registry.makeValueHistogram(
            descriptor: .laurel(
                "db_commit", unit: "writes",
                help: "Writes run in one committed transaction, those that failed alone and rolled back their part included."),
            buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256])
        committed = Self.durations(
            in: registry, "db_commit_duration", help: "Time to commit a transaction of writes: its log written and synced to disk.")
        batchesRedone = registry.makeCounter(
            descriptor: .laurel(
                "db_batches_redone", unit: "total",
                help: "Batches of writes rolled back and run again, each write in a savepoint, because one failed after changing rows."))
    }

    /// A histogram in seconds on `durationBuckets`, the one scale for waits and commits.
    private static func durations(in registry: PrometheusCollectorRegistry, _ name: String, help: String) -> DurationHistogram {
        registry.makeDurationHistogram(descriptor: .laurel(name, unit: "seconds", help: help), buckets: durationBuckets)
    }

    /// From a tenth of a millisecond (a sync on a fast disk) to five seconds.
    static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    ]

    func waited(_ duration: Duration) { waited.record(duration) }

    func redone() { batchesRedone.increment() }

    func committed(writes: Int, in duration: Duration) {
        batched.record(Double(writes))
        committed.record(duration)
    }
}
