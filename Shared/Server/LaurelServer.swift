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
        switch transport {
        case .frames:
            // Refuses a request over the limit itself, from its length
            // prefix, with the same error the interceptor gives.
            return GRPCServer(
                transport: FrameServerTransport(.init(host: host, port: port, maxRequestLength: maxRequestBytes)),
                services: services,
                interceptors: makeInterceptors(access: access, authenticator: authenticator, metrics: metrics, logger: logger))
        case .nio:
            // Its own limit only bounds what it buffers, and it refuses by
            // resetting the stream; the interceptor gives the size error its
            // reason.
            return GRPCServer(
                transport: .http2NIOPosix(
                    address: .ipv4(host: host, port: port),
                    transportSecurity: .plaintext,
                    config: .defaults { $0.rpc.maxRequestPayloadSize = 4 * maxRequestBytes }),
                services: services,
                interceptors: makeInterceptors(
                    access: access, authenticator: authenticator, metrics: metrics, logger: logger,
                    then: [RequestSizeInterceptor(maxBytes: maxRequestBytes)]))
        }
    }

    /// `then` go inside the access check, before the call's deadline.
    func makeInterceptors(
        access: AccessPolicy, authenticator: any KeyAuthenticator, metrics: LaurelMetrics, logger: Logger,
        then inner: [any ServerInterceptor] = []
    ) -> [any ServerInterceptor] {
        [
            // Outermost, so that it records the status the client finally gets.
            MetricsInterceptor(metrics: metrics),
            ErrorMappingInterceptor(logger: logger),
            AuthInterceptor(
                authenticator: authenticator, policy: access,
                limiter: RateLimiter(.init(defaultRate: rateLimitPerSecond, defaultBurst: rateLimitBurst))),
        ] + inner + [CallDeadlineInterceptor()]
    }
}

/// A client of a peer Laurel service, over plaintext HTTP/2, sending
/// `apiKey` (when given) with every call.
public func makePeerClient(_ address: PeerAddress, apiKey: String? = nil) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
    makePeerClient(try makeNIOPeerTransport(address), apiKey: apiKey)
}

/// A client of a peer over `transport`, sending `apiKey` (when given) with every call.
public func makePeerClient<Transport: ClientTransport>(_ transport: Transport, apiKey: String?) -> GRPCClient<Transport> {
    GRPCClient(transport: transport, interceptors: apiKey.map { [BearerKeyInterceptor(apiKey: $0)] } ?? [])
}

/// grpc-swift-nio-transport's client of a peer.
public func makeNIOPeerTransport(_ address: PeerAddress) throws -> HTTP2ClientTransport.Posix {
    var config = HTTP2ClientTransport.Posix.Config.defaults
    config.backoff = peerReconnectBackoff
    return try .http2NIOPosix(target: .dns(host: address.host, port: address.port), transportSecurity: .plaintext, config: config)
}

/// gRPC's default waits a second after the first refused connection before
/// trying again, up to two minutes later on, and calls that do not wait for
/// the connection fail meanwhile: a peer restarting on the same network is
/// back well within that. A refused attempt costs the peer one SYN.
let peerReconnectBackoff = HTTP2ClientTransport.Config.Backoff(
    initial: .milliseconds(100), max: .seconds(1), multiplier: 1.6, jitter: 0.2)

/// The same client on Laurel's own transport (`FrameClientTransport`); with
/// `callTimeout`, the transport ends every call unanswered by then.
public func makeFramePeerClient(_ address: PeerAddress, apiKey: String? = nil, callTimeout: Duration? = nil) -> GRPCClient<FrameClientTransport> {
    makePeerClient(makeFramePeerTransport(address, callTimeout: callTimeout), apiKey: apiKey)
}

/// Laurel's own client transport to a peer.
public func makeFramePeerTransport(_ address: PeerAddress, callTimeout: Duration? = nil) -> FrameClientTransport {
    FrameClientTransport(.init(host: address.host, port: address.port, callTimeout: callTimeout))
}
