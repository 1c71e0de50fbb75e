import Foundation
import ArgumentParser
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LaurelShared
import RedemptionService
import Synchronization

@main
struct RedemptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laurel-redemption",
        abstract: "Laurel redemption: points into rewards and vouchers across members and catalog, over gRPC.")

    @OptionGroup var server: ServerOptions

    @Option(help: "Port to listen on; 0 picks a free one (env LAUREL_REDEMPTION_PORT).")
    var port: Int = Environment.int("LAUREL_REDEMPTION_PORT") ?? 50053

    @OptionGroup var auth: RemoteAuthOptions

    @Option(name: .customLong("service-key-file"), help: "File holding the service-role API key used to call members and catalog (env LAUREL_SERVICE_KEY holds the key itself).")
    var serviceKeyFile: String?

    @Option(name: .customLong("catalog-address"), help: "host:port of laurel-catalog (env LAUREL_CATALOG_ADDRESS).")
    var catalogAddress: PeerAddress = Environment.peer("LAUREL_CATALOG_ADDRESS", default: "127.0.0.1:50052")

    @Option(name: .customLong("peer-timeout-ms"), help: "Deadline of each call to members and catalog (env LAUREL_PEER_TIMEOUT_MS).")
    var peerTimeoutMilliseconds: Int = Environment.int("LAUREL_PEER_TIMEOUT_MS") ?? 5000

    @Option(name: .customLong("hold-seconds"), help: "How long stock and points stay held for an unfinished redemption (env LAUREL_HOLD_SECONDS).")
    var holdSeconds: Int64 = Int64(Environment.int("LAUREL_HOLD_SECONDS") ?? 300)

    @Option(name: .customLong("recovery-seconds"), help: "How often unfinished redemptions are resumed (env LAUREL_RECOVERY_SECONDS).")
    var recoverySeconds: Int = Environment.int("LAUREL_RECOVERY_SECONDS") ?? 10

    @Option(name: .customLong("peer-transport"), help: "HTTP/2 transport of the calls to members and catalog: frames (Laurel's own, the default) or nio (grpc-swift-nio-transport's) (env LAUREL_PEER_TRANSPORT).")
    var peerTransport: TransportChoice = TransportChoice.environment("LAUREL_PEER_TRANSPORT")

    @Option(name: .customLong("recovery-idle-seconds"), help: "A saga untouched this long is someone's crash, and is finished by recovery; default 4 peer timeouts, at least 30 (env LAUREL_RECOVERY_IDLE_SECONDS).")
    var recoveryIdleSeconds: Int64?

    /// The key itself comes from a file or the environment, never a flag,
    /// so that it does not show in process listings.
    func serviceKey() throws -> String {
        if let serviceKeyFile {
            let text = try String(contentsOfFile: serviceKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard ApiKeySecret(parsing: text) != nil else { throw ValidationError("\(serviceKeyFile) does not hold an API key") }
            return text
        }
        guard let key = Environment.string("LAUREL_SERVICE_KEY"), ApiKeySecret(parsing: key) != nil else {
            throw ValidationError(
                "redemption calls members and catalog with a service API key: create one with `laurelctl keys create --role service` and pass --service-key-file or LAUREL_SERVICE_KEY")
        }
        return key
    }

    func validate() throws {
        _ = try serviceKey()
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        try TransportChoice.validateEnvironment("LAUREL_PEER_TRANSPORT")
        guard peerTimeoutMilliseconds > 0 else { throw ValidationError("--peer-timeout-ms must be positive") }
        guard (1...604_800).contains(holdSeconds) else { throw ValidationError("--hold-seconds must be 1...604800") }
        guard recoverySeconds > 0 else { throw ValidationError("--recovery-seconds must be positive") }
    }

    func run() async throws {
        let serviceKey = try serviceKey()
        let timeout = Duration.milliseconds(peerTimeoutMilliseconds)
        // Laurel's transport keeps each call's deadline itself, on its event
        // loop; GRPCCore's deadline (call options) costs tasks and a timer
        // per call (docs/performance.md).
        switch peerTransport {
        case .frames:
            let members = makeFramePeerTransport(auth.membersAddress, callTimeout: timeout)
            let catalog = makeFramePeerTransport(catalogAddress, callTimeout: timeout)
            // Once stopping, a saga's call to a peer that is gone fails at
            // once instead of holding the shutdown up for its deadline; the
            // saga is resumed at the next start.
            try await run(members: members, catalog: catalog, serviceKey: serviceKey, callOptionsTimeout: nil) {
                members.stopWaitingForConnections()
                catalog.stopWaitingForConnections()
            }
        case .nio:
            // grpc-swift-nio-transport fails a call at once while it cannot
            // connect (gRPC's default, fail fast), so none waits for a peer
            // that is gone.
            try await run(
                members: try makeNIOPeerTransport(auth.membersAddress), catalog: try makeNIOPeerTransport(catalogAddress),
                serviceKey: serviceKey, callOptionsTimeout: timeout, onShutdown: {})
        }
    }

    /// `callOptionsTimeout`: the deadline of each peer call when the peer
    /// clients' transport does not give them one.
    func run<Transport: ClientTransport>(
        members: Transport, catalog: Transport, serviceKey: String, callOptionsTimeout timeout: Duration?,
        onShutdown: @escaping @Sendable () -> Void
    ) async throws {
        let logger = server.bootstrapLogging(label: "laurel-redemption")
        let metrics = LaurelMetrics()
        let membersClient = makePeerClient(members, apiKey: serviceKey)
        let catalogClient = makePeerClient(catalog, apiKey: serviceKey)
        let keyChecks = try makePeerClient(auth.membersAddress)
        let database = try RedemptionDatabase.open(in: server.dataDirectory)
        let redemptions = Redemptions(
            database: database,
            catalog: GRPCCatalogPeer(client: catalogClient, timeout: timeout),
            members: GRPCMembersPeer(client: membersClient, timeout: timeout),
            holdSeconds: holdSeconds, logger: logger, metrics: metrics, groupCommitBatch: server.groupCommitBatch)
        let health = HealthService(services: [
            Laurel_V1_RedemptionService.descriptor.fullyQualifiedService, Laurel_V1_PrivacyService.descriptor.fullyQualifiedService,
        ])
        let reflection = ReflectionService(services: [
            Laurel_V1_RedemptionService.descriptor.fullyQualifiedService, Laurel_V1_PrivacyService.descriptor.fullyQualifiedService,
            Grpc_Health_V1_Health.descriptor.fullyQualifiedService,
        ])
        let privacy = PrivacyServiceHandler(redemptions: redemptions, members: membersClient, catalog: catalogClient, timeout: timeout)
        let grpcServer = server.makeServer(
            port: port,
            services: [RedemptionServiceHandler(redemptions: redemptions), privacy, health, reflection, reflection.v1alpha],
            access: .redemption, authenticator: auth.authenticator(keyChecks), metrics: metrics, logger: logger)
        // At start-up every unfinished saga is someone's crash; later, only
        // sagas idle for several peer timeouts are.
        let idleSeconds = recoveryIdleSeconds ?? Environment.int("LAUREL_RECOVERY_IDLE_SECONDS").map(Int64.init) ?? Int64(max(30, 4 * peerTimeoutMilliseconds / 1000))
        let firstRound = Mutex(true)
        let recovery = PeriodicTask(name: "saga recovery", interval: .seconds(recoverySeconds), logger: logger) {
            let atStartup = firstRound.withLock { first in defer { first = false }; return first }
            let resumed = try await redemptions.resumeUnfinished(idleSeconds: atStartup ? 0 : idleSeconds)
            if resumed > 0 { logger.notice("resumed unfinished redemptions", metadata: ["count": "\(resumed)"]) }
        }
        try await ServerRuntime.run(
            name: "laurel-redemption", server: grpcServer, health: health,
            background: [
                ClientService(client: membersClient), ClientService(client: catalogClient), ClientService(client: keyChecks), recovery,
                try Checkpointer(database.writer).periodically(logger: logger),
            ] + server.metricsServices(name: "laurel-redemption", metrics: metrics, logger: logger),
            onShutdown: onShutdown, shutdownGrace: server.shutdownGrace, logger: logger)
    }
}
