import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LaurelShared

typealias Transport = HTTP2ClientTransport.Posix

/// A running Laurel as one command sees it: where each service listens, the
/// key to present and the deadline of each call. Each method opens a
/// connection for the duration of `body` only; a command makes a call or a
/// few, so there is nothing to gain from keeping one.
struct Laurel: Sendable {
    let membersAddress: PeerAddress
    let catalogAddress: PeerAddress
    let redemptionAddress: PeerAddress
    let apiKey: String?
    /// Pass to every call: it carries the deadline.
    let call: CallOptions

    init(members: PeerAddress, catalog: PeerAddress, redemption: PeerAddress, apiKey: String?, timeout: Duration) {
        membersAddress = members
        catalogAddress = catalog
        redemptionAddress = redemption
        self.apiKey = apiKey
        var call = CallOptions.defaults
        call.timeout = timeout
        // A service that is down should fail the command at once with
        // UNAVAILABLE rather than after the whole deadline.
        call.waitForReady = false
        self.call = call
    }

    func members<Result: Sendable>(
        _ body: (Laurel_V1_MemberService.Client<Transport>) async throws -> Result
    ) async throws -> Result {
        try await connect(to: membersAddress) { try await body(.init(wrapping: $0)) }
    }

    /// API keys live in the members service, the authority on who may call.
    func access<Result: Sendable>(
        _ body: (Laurel_V1_AccessService.Client<Transport>) async throws -> Result
    ) async throws -> Result {
        try await connect(to: membersAddress) { try await body(.init(wrapping: $0)) }
    }

    func program<Result: Sendable>(
        _ body: (Laurel_V1_ProgramService.Client<Transport>) async throws -> Result
    ) async throws -> Result {
        try await connect(to: membersAddress) { try await body(.init(wrapping: $0)) }
    }

    func catalog<Result: Sendable>(
        _ body: (Laurel_V1_CatalogService.Client<Transport>) async throws -> Result
    ) async throws -> Result {
        try await connect(to: catalogAddress) { try await body(.init(wrapping: $0)) }
    }

    func redemption<Result: Sendable>(
        _ body: (Laurel_V1_RedemptionService.Client<Transport>) async throws -> Result
    ) async throws -> Result {
        try await connect(to: redemptionAddress) { try await body(.init(wrapping: $0)) }
    }

    /// Data-protection requests are served by redemption, which reaches the
    /// other two.
    func privacy<Result: Sendable>(
        _ body: (Laurel_V1_PrivacyService.Client<Transport>) async throws -> Result
    ) async throws -> Result {
        try await connect(to: redemptionAddress) { try await body(.init(wrapping: $0)) }
    }

    /// grpc.health.v1 needs no key, so none is sent: health answers even
    /// when the key is wrong.
    func health<Result: Sendable>(
        at address: PeerAddress, _ body: (Grpc_Health_V1_Health.Client<Transport>) async throws -> Result
    ) async throws -> Result {
        try await connect(to: address, authenticated: false) { try await body(.init(wrapping: $0)) }
    }

    private func connect<Result: Sendable>(
        to address: PeerAddress, authenticated: Bool = true, _ body: (GRPCClient<Transport>) async throws -> Result
    ) async throws -> Result {
        let interceptors: [any ClientInterceptor] =
            if authenticated, let apiKey { [BearerTokenInterceptor(apiKey: apiKey)] } else { [] }
        return try await withGRPCClient(
            transport: .http2NIOPosix(target: .dns(host: address.host, port: address.port), transportSecurity: .plaintext),
            interceptors: interceptors,
            handleClient: body)
    }
}
