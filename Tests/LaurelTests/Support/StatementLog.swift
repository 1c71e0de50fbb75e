import GRDB
import Synchronization

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

    /// The UPDATE statements on `table` so far.
    func updates(of table: String) -> [String] {
        statements.withLock { $0 }.filter { $0.hasPrefix("UPDATE \"\(table)\"") }
    }
}
