import Logging
import ServiceLifecycle

/// Background work repeated at an interval until graceful shutdown, such as
/// giving back expired holds. A failed round is logged and retried next time.
public struct PeriodicTask: Service {
    public let name: String
    public let interval: Duration
    public let logger: Logger
    /// Returns how long to wait before the next round; nil for `interval`.
    public let work: @Sendable () async throws -> Duration?

    public init(name: String, interval: Duration, logger: Logger, work: @escaping @Sendable () async throws -> Void) {
        self.init(name: name, interval: interval, logger: logger, paced: { try await work(); return nil })
    }

    private init(name: String, interval: Duration, logger: Logger, paced work: @escaping @Sendable () async throws -> Duration?) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.work = work
    }

    /// Work that says how long to wait before its next round (nil: `interval`).
    public static func paced(
        name: String, interval: Duration, logger: Logger, work: @escaping @Sendable () async throws -> Duration?
    ) -> PeriodicTask {
        PeriodicTask(name: name, interval: interval, logger: logger, paced: work)
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let wait: Duration
            do {
                wait = try await work() ?? interval
            } catch {
                logger.error("\(name) failed", metadata: ["error": "\(String(reflecting: error))"])
                wait = interval
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
        }
    }
}
