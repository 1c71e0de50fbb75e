import Foundation
import GRDB
@testable import LaurelShared
import Logging
import ServiceLifecycle
import Testing

/// Checkpoints off the writer's thread: the writer leaves the log alone up
/// to the backstop, and a `Checkpointer` copies it back and lets it restart.
@Suite struct CheckpointerTests {
    /// A file database with a table of 4 KiB rows, one page each at least.
    func withDatabase(_ body: (DatabasePool) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkpointer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try DatabaseBootstrap.open(name: "checkpoints", in: directory.path)
        try await pool.write { try $0.execute(sql: "CREATE TABLE page (id INTEGER PRIMARY KEY, body BLOB NOT NULL)") }
        try await body(pool)
    }

    /// One transaction per row, as a service's commits come.
    func writePages(_ count: Int, to pool: DatabasePool) async throws {
        let body = Data(repeating: 7, count: 4_096)
        for _ in 0..<count {
            try await pool.write { try $0.execute(sql: "INSERT INTO page (body) VALUES (?)", arguments: [body]) }
        }
    }

    func logPages(_ checkpointer: Checkpointer) throws -> Int {
        try #require(try checkpointer.checkpoint()).logPages
    }

    @Test func theWriterLeavesTheLogToTheCheckpointerUntilTheBackstop() async throws {
        try await withDatabase { pool in
            let autocheckpoint = try await pool.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") }
            #expect(autocheckpoint == DatabaseBootstrap.backstopPages)

            // Past SQLite's default of 1,000 pages, nothing was copied back.
            try await writePages(1_200, to: pool)
            let checkpointer = try Checkpointer(pool)
            let progress = try #require(try checkpointer.checkpoint())
            #expect(progress.logPages > 1_200)
            #expect(progress.checkpointedPages == progress.logPages)
            #expect(try await pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM page") } == 1_200)

            // All of it copied, the next commit starts the log again.
            try await writePages(1, to: pool)
            #expect(try logPages(checkpointer) < 10)
        }
    }

    @Test func runningInTheBackgroundItKeepsTheLogShort() async throws {
        try await withDatabase { pool in
            let checkpointer = try Checkpointer(pool)
            let background = ServiceGroup(
                configuration: .init(
                    services: [.init(service: checkpointer.periodically(every: .milliseconds(20), logger: Logger(label: "test")))],
                    logger: Logger(label: "test")))
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await background.run() }
                try await writePages(1_200, to: pool)
                // Wait for a round after the last write, then one more write restarts the log.
                try await Task.sleep(for: .milliseconds(200))
                try await writePages(1, to: pool)
                await background.triggerGracefulShutdown()
            }
            #expect(try logPages(checkpointer) < 10)
        }
    }

    @Test func inMemoryThereIsNothingToCopy() throws {
        #expect(try Checkpointer(DatabaseBootstrap.inMemory()).checkpoint() == nil)
    }
}

/// The checkpointer's waits: short while the log grows, longer while it
/// sits all copied, short again at the first new page.
@Suite struct CheckpointPaceTests {
    typealias Progress = Checkpointer.Progress

    @Test func anIdleLogIsCheckedLessOftenUpToTheLimit() {
        var pace = CheckpointPace(interval: .milliseconds(100), idleLimit: .seconds(1))
        #expect(pace.next(after: Progress(logPages: 10, checkpointedPages: 10)) == .milliseconds(100))
        let idle = (0..<6).map { _ in pace.next(after: Progress(logPages: 10, checkpointedPages: 10)) }
        #expect(idle == [.milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1), .seconds(1)])
        // A commit restarts or lengthens the log: back to the interval.
        #expect(pace.next(after: Progress(logPages: 3, checkpointedPages: 3)) == .milliseconds(100))
        #expect(pace.next(after: Progress(logPages: 3, checkpointedPages: 3)) == .milliseconds(200))
        #expect(pace.next(after: Progress(logPages: 9, checkpointedPages: 4)) == .milliseconds(100))
    }

    /// A log not all copied (a reader holds its pages) is tried again soon.
    @Test func aLogNotAllCopiedIsTriedAgainSoon() {
        var pace = CheckpointPace(interval: .milliseconds(100))
        for _ in 0..<4 {
            #expect(pace.next(after: Progress(logPages: 10, checkpointedPages: 6)) == .milliseconds(100))
        }
        #expect(pace.next(after: nil) == .milliseconds(100))
        #expect(pace.next(after: nil) == .milliseconds(100))
    }
}
