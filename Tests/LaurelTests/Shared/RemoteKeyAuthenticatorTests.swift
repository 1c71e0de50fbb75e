import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LaurelShared
import Synchronization
import Testing

/// Catalog and redemption check keys with members over gRPC; these drive that
/// check against an AccessService that can be told to refuse, to fail, or be
/// stopped, on a clock the test moves.
@Suite struct RemoteKeyAuthenticatorTests {
    let key = ApiKeySecret.generate()
    let clock = ManualClock()

    /// Generous: under the whole suite a first call on a new connection has
    /// taken over 2 s, the key check's timeout in the services.
    static let timeout = Duration.seconds(30)

    var principal: Principal { Principal(keyId: key.keyId, name: "till", role: .partner, partnerId: "acme", rateLimitPerSecond: 7) }

    @Test func aCheckedKeyIsTrustedForTheCachePeriodThenCheckedAgain() async throws {
        let members = FakeAccessService(answering: principal)
        try await withAuthenticator(members, cacheSeconds: 10, staleSeconds: 0) { auth in
            try await expectAdmitted(auth)
            clock.advance(seconds: 9)
            try await expectAdmitted(auth)
            #expect(members.checks == 1)
            clock.advance(seconds: 1)
            try await expectAdmitted(auth)
            #expect(members.checks == 2)
        }
    }

    @Test func whileMembersCannotAnswerAKeyItConfirmedStillGetsInForTheStalePeriod() async throws {
        let members = FakeAccessService(answering: principal)
        try await withAuthenticator(members, cacheSeconds: 10, staleSeconds: 60) { auth in
            _ = try await auth.authenticate(key)
            members.failing = true
            clock.advance(seconds: 69)
            try await expectAdmitted(auth)
            #expect(members.checks == 2)  // it was asked, and could not answer
            clock.advance(seconds: 1)
            await #expect(throws: AccessError.authUnavailable("members: unavailable")) { try await auth.authenticate(key) }
            // An answer starts the periods again.
            members.failing = false
            try await expectAdmitted(auth)
            members.failing = true
            clock.advance(seconds: 69)
            try await expectAdmitted(auth)
        }
    }

    @Test func withoutAStalePeriodTheCallFailsRetryably() async throws {
        let members = FakeAccessService(answering: principal)
        try await withAuthenticator(members, cacheSeconds: 10, staleSeconds: 0) { auth in
            _ = try await auth.authenticate(key)
            members.failing = true
            clock.advance(seconds: 10)
            await #expect(throws: AccessError.authUnavailable("members: unavailable")) { try await auth.authenticate(key) }
        }
    }

    /// Even with no cache at all, so that a revocation counts at once while
    /// members answers.
    @Test func aRefusedKeyIsForgottenAtOnce() async throws {
        let members = FakeAccessService(answering: principal)
        try await withAuthenticator(members, cacheSeconds: 0, staleSeconds: 60) { auth in
            _ = try await auth.authenticate(key)
            members.revoked = true
            await #expect(throws: AccessError.invalidKey) { try await auth.authenticate(key) }
            members.failing = true
            await #expect(throws: AccessError.authUnavailable("members: unavailable")) { try await auth.authenticate(key) }
        }
    }

    @Test func aKeyNeverConfirmedCannotGetInWhileMembersIsAway() async throws {
        let members = FakeAccessService(answering: principal)
        try await withAuthenticator(members, cacheSeconds: 10, staleSeconds: 60) { auth in
            _ = try await auth.authenticate(key)
            members.failing = true
            let other = ApiKeySecret.generate()
            await #expect(throws: AccessError.authUnavailable("members: unavailable")) { try await auth.authenticate(other) }
        }
    }

    /// Members really stopped, as in a restart: the connection is refused.
    @Test func aStoppedMembersServiceIsHandledTheSameWay() async throws {
        let members = FakeAccessService(answering: principal)
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
            services: [members])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            guard let port = try await server.listeningAddress?.ipv4?.port else { throw HarnessFailure("server did not bind") }
            let client = try makePeerClient(try #require(PeerAddress(argument: "127.0.0.1:\(port)")))
            try await withClient(client) { client in
                let auth = RemoteKeyAuthenticator(client: client, cacheSeconds: 0, staleSeconds: 60, timeout: Self.timeout, now: clock.now)
                try await expectAdmitted(auth)
                server.beginGracefulShutdown()
                try await group.waitForAll()
                try await expectAdmitted(auth)
                // A key with nothing to fall back on waits for members, up to
                // the timeout, and is refused. A call that starts while the
                // client has not yet seen the old connection close fails on
                // it at once instead (a loaded machine, CI): refused as well.
                let fresh = RemoteKeyAuthenticator(client: client, cacheSeconds: 0, staleSeconds: 60, timeout: .milliseconds(300))
                let refused = await #expect(throws: AccessError.self) { try await fresh.authenticate(key) }
                #expect(refused == .authUnavailable("members: deadlineExceeded") || refused == .authUnavailable("members: unavailable"))
                #expect(members.checks == 1)
            }
        }
    }

    private func expectAdmitted(_ auth: RemoteKeyAuthenticator, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let admitted = try await auth.authenticate(key)
        #expect(admitted == principal, sourceLocation: sourceLocation)
    }

    private func withAuthenticator(
        _ members: FakeAccessService, cacheSeconds: Int, staleSeconds: Int, _ body: (RemoteKeyAuthenticator) async throws -> Void
    ) async throws {
        try await serve([members], on: .nio) { port in
            let client = try makePeerClient(try #require(PeerAddress(argument: "127.0.0.1:\(port)")))
            try await withClient(client) { client in
                try await body(RemoteKeyAuthenticator(
                    client: client, cacheSeconds: cacheSeconds, staleSeconds: staleSeconds, timeout: Self.timeout, now: clock.now))
            }
        }
    }
}

/// A clock that moves only when told.
final class ManualClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    var now: @Sendable () -> ContinuousClock.Instant { { self.instant.withLock { $0 } } }

    func advance(seconds: Int) { instant.withLock { $0 = $0.advanced(by: .seconds(seconds)) } }
}

/// WhoAmI as members answers it, with one principal whatever the key (the
/// simple service API does not show metadata); counts the checks.
final class FakeAccessService: Laurel_V1_AccessService.SimpleServiceProtocol, Sendable {
    private struct State {
        var checks = 0
        var failing = false
        var revoked = false
    }

    private let principal: Principal
    private let state = Mutex(State())

    init(answering principal: Principal) { self.principal = principal }

    var checks: Int { state.withLock { $0.checks } }
    /// Answers UNAVAILABLE, as a members service that cannot reach its database would.
    var failing: Bool {
        get { state.withLock { $0.failing } }
        set { state.withLock { $0.failing = newValue } }
    }
    var revoked: Bool {
        get { state.withLock { $0.revoked } }
        set { state.withLock { $0.revoked = newValue } }
    }

    func whoAmI(request: Laurel_V1_WhoAmIRequest, context: ServerContext) async throws -> Laurel_V1_WhoAmIResponse {
        let (failing, revoked) = state.withLock { state in
            state.checks += 1
            return (state.failing, state.revoked)
        }
        if failing { throw RPCError(code: .unavailable, message: "members is shutting down") }
        guard !revoked else { throw RPCError(code: .unauthenticated, message: "the API key is not valid") }
        return .with { $0.key = .init(principal) }
    }

    func createApiKey(request: Laurel_V1_CreateApiKeyRequest, context: ServerContext) async throws -> Laurel_V1_CreateApiKeyResponse {
        throw RPCError(code: .unimplemented, message: "not in this test")
    }

    func listApiKeys(request: Laurel_V1_ListApiKeysRequest, context: ServerContext) async throws -> Laurel_V1_ListApiKeysResponse {
        throw RPCError(code: .unimplemented, message: "not in this test")
    }

    func revokeApiKey(request: Laurel_V1_RevokeApiKeyRequest, context: ServerContext) async throws -> Laurel_V1_RevokeApiKeyResponse {
        throw RPCError(code: .unimplemented, message: "not in this test")
    }
}
