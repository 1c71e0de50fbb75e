import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// The admin HTTP server as one of a process's services: announces its
/// address on standard output once bound, the way `ServerRuntime` announces
/// the gRPC port, and closes on graceful shutdown.
public struct MetricsService: Service {
    public let name: String
    public let host: String
    public let port: Int
    let metrics: LaurelMetrics
    let logger: Logger

    public init(name: String, host: String, port: Int, metrics: LaurelMetrics, logger: Logger) {
        self.name = name
        self.host = host
        self.port = port
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        let endpoint = try await MetricsEndpoint.bind(host: host, port: port, metrics: metrics)
        print(Self.announcement(name: name, address: endpoint.address))
        fflush(nil)
        logger.info("serving metrics", metadata: ["port": "\(endpoint.port)"])
        await withTaskCancellationOrGracefulShutdownHandler {
            await endpoint.closed()
        } onCancelOrGracefulShutdown: {
            endpoint.close()
        }
    }

    /// The line tests and scripts wait for: `<name> metrics on <host>:<port>`.
    public static func announcement(name: String, address: SocketAddress) -> String {
        let host = address.ipAddress ?? "\(address)"
        let port = address.port.map(String.init) ?? "?"
        if case .v6 = address { return "\(name) metrics on [\(host)]:\(port)" }
        return "\(name) metrics on \(host):\(port)"
    }
}

extension ServerOptions {
    /// The admin server `--metrics-port` asks for, as a background service
    /// for `ServerRuntime`: none when the flag is unset.
    public func metricsServices(name: String, metrics: LaurelMetrics, logger: Logger) -> [any Service] {
        guard let metricsPort else { return [] }
        return [MetricsService(name: name, host: host, port: metricsPort, metrics: metrics, logger: logger)]
    }
}
