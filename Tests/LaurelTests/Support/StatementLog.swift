import GRDB
import Synchronization
import Testing

/// Every SQL statement a database connection runs from now on, as written
/// (placeholders, not values), for tests about what reaches SQLite.
final class StatementLog: Sendable {
    private let statements = Mutex<[String]>([])

    /// Traces the writer's connection: the only one of an in-memory database.
    init(_ writer: any DatabaseWriter) async throws {
        try await writer.writeWithoutTransaction { db in
            db.trace(options: .statement) { [self] event in self.statements.withLock { $0.append(event.description) } }
        }
    }

    /// The statements so far that begin with `prefix`.
    func statements(startingWith prefix: String) -> [String] {
        statements.withLock { $0 }.filter { $0.hasPrefix(prefix) }
    }

    /// The UPDATE statements on `table` so far.
    func updates(of table: String) -> [String] {
        statements(startingWith: "UPDATE \"\(table)\"")
    }

    /// At least `count` UPDATEs of `table` so far: none sets any of
    /// `unset`, and each sets every one of `set` (in its SET clause: the
    /// key in its WHERE clause is not set).
    func expectUpdates(
        of table: String, atLeast count: Int, notSetting unset: [String], setting set: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let updates = updates(of: table)
        #expect(updates.count >= count, "\(updates)", sourceLocation: sourceLocation)
        for update in updates {
            let assignments = update.components(separatedBy: " WHERE ")[0]
            for column in unset {
                #expect(!assignments.contains("\"\(column)\"="), "\(update)", sourceLocation: sourceLocation)
            }
            for column in set {
                #expect(assignments.contains("\"\(column)\"="), "\(update)", sourceLocation: sourceLocation)
            }
        }
    }
}
