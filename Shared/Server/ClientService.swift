import GRPCCore
import ServiceLifecycle

/// Keeps a gRPC client's connections running inside a `ServiceGroup`, and
/// closes them gracefully at shutdown.
public struct ClientService<Transport: ClientTransport>: Service {
    public let client: GRPCClient<Transport>

    public init(client: GRPCClient<Transport>) {
        self.client = client
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await client.runConnections()
        } onGracefulShutdown: {
            client.beginGracefulShutdown()
        }
    }
}
