import NIOCore
import NIOHTTP1
import NIOPosix

/// A bound admin HTTP server serving `GET /metrics`.
public struct MetricsEndpoint: Sendable {
    private let channel: any Channel
    /// The bound address; with port 0, the port the system picked.
    public let address: SocketAddress

    /// Binds `host:port`; port 0 picks a free one.
    public static func bind(host: String, port: Int, metrics: LaurelMetrics) async throws -> MetricsEndpoint {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(metrics: metrics))
                }
            }
            .bind(host: host, port: port)
            .get()
        guard let address = channel.localAddress else {
            channel.close(promise: nil)
            throw MetricsEndpointError(message: "the metrics server on \(host):\(port) has no local address")
        }
        return MetricsEndpoint(channel: channel, address: address)
    }

    public var port: Int { address.port ?? 0 }

    /// Stops accepting connections; answers already being written finish.
    public func close() {
        channel.close(promise: nil)
    }

    /// Returns once the endpoint is closed.
    public func closed() async {
        try? await channel.closeFuture.get()
    }
}

struct MetricsEndpointError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
