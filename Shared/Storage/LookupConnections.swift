import GRDB
import Synchronization

/// Read-only connections of a service's own, for the one-statement lookups
/// that its hottest calls make on the caller's thread (GetBalance, a saga
/// reading its redemption between steps).
///
/// Taking a reader from GRDB's pool costs a read-write lock, a key path made
/// at run time and a semaphore: as much as the lookup's own SQLite work
/// (docs/performance.md). Here a connection is taken from a free list under
/// one lock and given back. The read runs on the caller's thread, so there are
/// never more connections than threads that looked something up at once.
///
/// Over a database without a file (a `DatabaseQueue` in memory, in tests) the
/// lookups go to the writer itself.
public final class LookupConnections: Sendable {
    private let path: String?
    private let writer: any DatabaseWriter
    private let free = Mutex<[DatabaseQueue]>([])

    public init(_ writer: any DatabaseWriter) {
        self.writer = writer
        // A pool is a file in WAL mode, which connections of other processes
        // and of this one may read while it is written.
        path = (writer as? DatabasePool)?.path
    }

    /// Runs `body` outside any transaction: one statement reads one snapshot.
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        guard let path else { return try writer.unsafeRead(body) }
        let connection = try free.withLock { $0.popLast() } ?? Self.open(path)
        defer { free.withLock { $0.append(connection) } }
        return try connection.unsafeRead(body)
    }

    /// Connections open and not in use, for tests.
    var idle: Int { free.withLock { $0.count } }

    private static func open(_ path: String) throws -> DatabaseQueue {
        var configuration = DatabaseBootstrap.configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}
