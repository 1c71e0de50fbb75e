import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging

extension ServerOptions {
    /// The gRPC server of every Laurel executable: plaintext HTTP/2 on
    /// `--host` over `--transport`, every call through the access check,
    /// requests over `--max-request-bytes` refused, and every error given a
    /// real status.
    public func makeServer(
        port: Int,
        services: [any RegistrableRPCService],
        access: AccessPolicy,
        authenticator: any KeyAuthenticator,
        metrics: LaurelMetrics,
        logger: Logger
    ) -> any LaurelServing {
        let interceptors = makeInterceptors(access: access, authenticator: authenticator, metrics: metrics, logger: logger)
        // The transport's own limit only bounds what it buffers; the
        // interceptor gives the size error its reason.
        let bufferLimit = 4 * maxRequestBytes
        switch transport {
        case .frames:
            return GRPCServer(
                transport: FrameServerTransport(.init(host: host, port: port, maxRequestLength: bufferLimit)),
                services: services, interceptors: interceptors)
        case .nio:
            return GRPCServer(
                transport: .http2NIOPosix(
                    address: .ipv4(host: host, port: port),
                    transportSecurity: .plaintext,
                    config: .defaults { $0.rpc.maxRequestPayloadSize = bufferLimit }),
                services: services, interceptors: interceptors)
        }
    }

    func makeInterceptors(
        access: AccessPolicy, authenticator: any KeyAuthenticator, metrics: LaurelMetrics, logger: Logger
    ) -> [any ServerInterceptor] {
        [
            // Outermost, so that it records the status the client finally gets.
            MetricsInterceptor(metrics: metrics),
            ErrorMappingInterceptor(logger: logger),
            AuthInterceptor(
                authenticator: authenticator, policy: access,
                limiter: RateLimiter(.init(defaultRate: rateLimitPerSecond, defaultBurst: rateLimitBurst))),
            RequestSizeInterceptor(maxBytes: maxRequestBytes),
            CallDeadlineInterceptor(),
        ]
    }
}

/// A client of a peer Laurel service, over plaintext HTTP/2, sending
/// `apiKey` (when given) with every call.
public func makePeerClient(_ address: PeerAddress, apiKey: String? = nil) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
    GRPCClient(
        transport: try .http2NIOPosix(target: .dns(host: address.host, port: address.port), transportSecurity: .plaintext),
        interceptors: apiKey.map { [BearerKeyInterceptor(apiKey: $0)] } ?? [])
}

/// The same client on Laurel's own transport (`FrameClientTransport`).
public func makeFramePeerClient(_ address: PeerAddress, apiKey: String? = nil) -> GRPCClient<FrameClientTransport> {
    GRPCClient(
        transport: FrameClientTransport(.init(host: address.host, port: address.port)),
        interceptors: apiKey.map { [BearerKeyInterceptor(apiKey: $0)] } ?? [])
}
