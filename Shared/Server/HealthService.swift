import Foundation
import GRPCCore
import Synchronization

public typealias ServingStatus = Grpc_Health_V1_HealthCheckResponse.ServingStatus

/// The standard `grpc.health.v1.Health` service. Statuses are NOT_SERVING until
/// the server is listening; on graceful shutdown every status turns
/// NOT_SERVING and every Watch ends, so shutdown never waits on a watcher.
public final class HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol, Sendable {
    private struct Watcher {
        var service: String
        var continuation: AsyncStream<ServingStatus>.Continuation
    }

    private struct State {
        var statuses: [String: ServingStatus]
        var watchers: [UInt64: Watcher] = [:]
        var nextWatcher: UInt64 = 0
        var isShutDown = false
    }

    private let state: Mutex<State>

    /// `services` are the fully qualified names this server implements; the
    /// empty name stands for the server as a whole.
    public init(services: [String]) {
        var statuses: [String: ServingStatus] = ["": .notServing]
        for service in services { statuses[service] = .notServing }
        state = Mutex(State(statuses: statuses))
    }

    public func setServing(_ serving: Bool) {
        state.withLock { state in
            guard !state.isShutDown else { return }
            for name in state.statuses.keys { state.statuses[name] = serving ? .serving : .notServing }
            for watcher in state.watchers.values {
                watcher.continuation.yield(state.statuses[watcher.service] ?? .serviceUnknown)
            }
        }
    }

    /// Called once, when graceful shutdown begins.
    public func shutDown() {
        let watchers = state.withLock { state in
            state.isShutDown = true
            for name in state.statuses.keys { state.statuses[name] = .notServing }
            defer { state.watchers = [:] }
            return Array(state.watchers.values)
        }
        for watcher in watchers {
            watcher.continuation.yield(.notServing)
            watcher.continuation.finish()
        }
    }

    public func status(of service: String) -> ServingStatus? {
        state.withLock { $0.statuses[service] }
    }

    public func check(
        request: Grpc_Health_V1_HealthCheckRequest,
        context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = status(of: request.service) else {
            throw RPCError(code: .notFound, message: "unknown service '\(request.service)'")
        }
        return .with { $0.status = status }
    }

    public func list(
        request: Grpc_Health_V1_HealthListRequest,
        context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthListResponse {
        let statuses = state.withLock { $0.statuses }
        return .with { response in
            for (name, status) in statuses {
                response.statuses[name] = .with { $0.status = status }
            }
        }
    }

    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: ServingStatus.self, bufferingPolicy: .bufferingNewest(1))
        let id: UInt64? = state.withLock { state in
            continuation.yield(state.statuses[request.service] ?? .serviceUnknown)
            guard !state.isShutDown else {
                continuation.finish()
                return nil
            }
            let id = state.nextWatcher
            state.nextWatcher += 1
            state.watchers[id] = Watcher(service: request.service, continuation: continuation)
            return id
        }
        defer {
            if let id { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
        }
        var last: ServingStatus?
        for await status in stream where status != last {
            last = status
            try await response.write(.with { $0.status = status })
        }
    }
}
