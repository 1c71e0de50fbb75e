import Foundation
import GRPCCore
import Logging
import ServiceLifecycle

/// Runs a service's gRPC server and its background work until SIGTERM or
/// SIGINT, then shuts down gracefully: health turns NOT_SERVING and watches
/// end, in-flight calls finish, then background work stops. What is still
/// running `shutdownGrace` after the signal is cancelled, so that a call
/// waiting on something that will not come (a peer that is gone) cannot
/// keep the process from stopping.
public enum ServerRuntime {
    public static func run(
        name: String,
        server: any LaurelServing,
        health: HealthService,
        background: [any Service] = [],
        onShutdown: @escaping @Sendable () -> Void = {},
        shutdownGrace: Duration,
        logger: Logger
    ) async throws {
        var configuration = ServiceGroupConfiguration(
            services: background.map { .init(service: $0) } + [
                .init(service: ServerService(server: server)),
                .init(service: Announcer(name: name, server: server, health: health, onShutdown: onShutdown, logger: logger)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        configuration.maximumGracefulShutdownDuration = shutdownGrace
        try await ServiceGroup(configuration: configuration).run()
        logger.info("\(name) stopped")
    }

    /// The line tests and scripts wait for.
    public static func listeningLine(name: String, address: String) -> String {
        "\(name) listening on \(address)"
    }
}

struct ServerService: Service {
    let server: any LaurelServing

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}

/// Announces the bound address once listening and marks the service healthy;
/// on graceful shutdown marks it unhealthy and ends long-lived streams
/// first, before the server drains (which waits for every open call).
struct Announcer: Service {
    let name: String
    let server: any LaurelServing
    let health: HealthService
    let onShutdown: @Sendable () -> Void
    let logger: Logger

    func run() async throws {
        guard let address = await server.boundAddress else {
            throw RPCError(code: .unavailable, message: "\(name) stopped before it was listening")
        }
        print(ServerRuntime.listeningLine(name: name, address: address))
        fflush(nil)
        logger.info("serving", metadata: ["address": "\(address)"])
        health.setServing(true)
        try? await gracefulShutdown()
        health.shutDown()
        onShutdown()
    }
}
