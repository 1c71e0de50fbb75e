import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging

extension ServerOptions {
    /// The gRPC server of every Laurel executable: plaintext HTTP/2 on
    /// `--host`, every call through the access check, requests over
    /// `--max-request-bytes` refused, and every error given a real status.
    public func makeServer(
        port: Int,
        services: [any RegistrableRPCService],
        access: AccessPolicy,
        authenticator: any KeyAuthenticator,
        metrics: LaurelMetrics,
        logger: Logger
    ) -> GRPCServer<HTTP2ServerTransport.Posix> {
        GRPCServer(
            transport: .http2NIOPosix(
                address: .ipv4(host: host, port: port),
                transportSecurity: .plaintext,
                config: .defaults { $0.rpc.maxRequestPayloadSize = 4 * maxRequestBytes }),
            services: services,
            interceptors: [
                // Outermost, so that it records the status the client finally gets.
                MetricsInterceptor(metrics: metrics),
                ErrorMappingInterceptor(logger: logger),
                AuthInterceptor(
                    authenticator: authenticator, policy: access,
                    limiter: RateLimiter(.init(defaultRate: rateLimitPerSecond, defaultBurst: rateLimitBurst))),
                RequestSizeInterceptor(maxBytes: maxRequestBytes),
            ])
    }
}

/// A client of a peer Laurel service, over plaintext HTTP/2, sending
/// `apiKey` (when given) with every call.
public func makePeerClient(_ address: PeerAddress, apiKey: String? = nil) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
    GRPCClient(
        transport: try .http2NIOPosix(target: .dns(host: address.host, port: address.port), transportSecurity: .plaintext),
        interceptors: apiKey.map { [BearerKeyInterceptor(apiKey: $0)] } ?? [])
}
