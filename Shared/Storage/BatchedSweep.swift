import GRDB

/// Runs `sweep` in one transaction after another until a round handles fewer
/// than `batchSize` rows, and returns how many it handled in all. Short
/// transactions keep a large backlog (holds expiring after an outage) from
/// stalling the service's other writes.
public func sweepInBatches(
    _ writer: any DatabaseWriter, batchSize: Int, _ sweep: @escaping @Sendable (Database, Int) throws -> Int
) async throws -> Int {
    var total = 0
    while true {
        let handled = try await writer.write { db in try sweep(db, batchSize) }
        total += handled
        if handled < batchSize { return total }
    }
}
