import Synchronization
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import LaurelShared
import Logging
import Testing

typealias Transport = HTTP2ClientTransport.Posix
typealias Client = GRPCClient<Transport>
typealias MembersClient = Laurel_V1_MemberService.Client<Transport>
typealias CatalogClient = Laurel_V1_CatalogService.Client<Transport>
typealias RedemptionClient = Laurel_V1_RedemptionService.Client<Transport>
typealias AccessClient = Laurel_V1_AccessService.Client<Transport>

struct HarnessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Serves `services` on 127.0.0.1 at a free port, over the transport the
/// executables use by default (or the one `LAUREL_TEST_TRANSPORT` names),
/// with the error mapping and call deadlines they use, for the duration of `body`.
func withServer<Result: Sendable>(
    _ services: [any RegistrableRPCService],
    _ body: (_ client: Client, _ port: Int) async throws -> Result
) async throws -> Result {
    try await serve(services, on: .underTest) { port in
        try await withClient(port: port) { client in try await body(client, port) }
    }
}

/// Serves `services` on 127.0.0.1 at a free port over `transport`, with the
/// executables' error mapping and call deadlines; `body` gets the port.
func serve<Result: Sendable>(
    _ services: [any RegistrableRPCService], on transport: TransportChoice, _ body: (_ port: Int) async throws -> Result
) async throws -> Result {
    let interceptors: [any ServerInterceptor] = [ErrorMappingInterceptor(logger: Logger(label: "laurel-tests")), CallDeadlineInterceptor()]
    switch transport {
    case .nio:
        return try await withGRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
            services: services, interceptors: interceptors
        ) { server in
            guard let port = try await server.listeningAddress?.ipv4?.port else { throw HarnessFailure("server did not bind") }
            return try await body(port)
        }
    case .frames:
        return try await withGRPCServer(
            transport: FrameServerTransport(.init(host: "127.0.0.1", port: 0)),
            services: services, interceptors: interceptors
        ) { server in
            guard let port = await server.transport.listeningAddress?.port else { throw HarnessFailure("server did not bind") }
            return try await body(port)
        }
    }
}

extension TransportChoice {
    /// The server transport the RPC tests run on.
    static let underTest: TransportChoice = {
        do { try validateEnvironment("LAUREL_TEST_TRANSPORT") } catch { fatalError("\(error)") }
        return environment("LAUREL_TEST_TRANSPORT")
    }()
}

/// A loopback port nothing listens on: bound by a server that has since stopped.
func closedPort() async throws -> Int {
    try await withGRPCServer(
        transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
        services: []
    ) { server in
        guard let port = try await server.listeningAddress?.ipv4?.port else { throw HarnessFailure("server did not bind") }
        return port
    }
}

/// Like `withGRPCClient`, but a body that makes no call (or returns before
/// the connections started) is fine. Every call sends `apiKey` when given.
func withClient<Result: Sendable>(port: Int, apiKey: String? = nil, _ body: (Client) async throws -> Result) async throws -> Result {
    try await withClient(
        GRPCClient(
            transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext),
            interceptors: apiKey.map { [BearerKeyInterceptor(apiKey: $0)] } ?? []),
        body)
}

/// Runs `client`'s connections for the duration of `body`, then shuts it down.
func withClient<Transport: ClientTransport, Result: Sendable>(
    _ client: GRPCClient<Transport>, _ body: (GRPCClient<Transport>) async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try? await client.runConnections() }
        do {
            let result = try await body(client)
            client.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        } catch {
            client.beginGracefulShutdown()
            try? await group.waitForAll()
            throw error
        }
    }
}

/// Runs `body`, which must fail with `code`, and checks the Laurel reason
/// (and field) the status carries in its `google.rpc.ErrorInfo`.
func expectRPCError(
    _ code: RPCError.Code, reason: String, field: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(code) \(reason), but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as RPCError {
        #expect(error.code == code, "status: \(error)", sourceLocation: sourceLocation)
        #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
        let info = error.laurelErrorInfo
        #expect(info?.reason == reason, "status: \(error)", sourceLocation: sourceLocation)
        if let field {
            #expect(info?.metadata["field"] == field, "status: \(error)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected an RPCError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Runs `body`, which must throw the domain error `expected`.
func expectError<E: Error & Equatable>(
    _ expected: E, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(expected), but it succeeded", sourceLocation: sourceLocation)
    } catch let error as E {
        #expect(error == expected, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
    }
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Instant>

    init(_ start: Instant = Instant(Date())) {
        current = Mutex(start)
    }

    var now: Instant { current.withLock { $0 } }

    func advance(seconds: Int64) {
        current.withLock { $0 = $0.adding(seconds: seconds) }
    }

    var wallClock: WallClock { WallClock { [self] in self.now } }
}

func uniqueKey(_ prefix: String = "k") -> String {
    "\(prefix)-\(UUID().uuidString.lowercased())"
}
