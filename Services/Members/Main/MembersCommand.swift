import ArgumentParser
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LaurelShared
import MembersService

@main
struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laurel-members",
        abstract: "Laurel members: enrolment, profiles and the points ledger, over gRPC.")

    @OptionGroup var server: ServerOptions

    @Option(help: "Port to listen on; 0 picks a free one (env LAUREL_MEMBERS_PORT).")
    var port: Int = Environment.int("LAUREL_MEMBERS_PORT") ?? 50051

    @Option(name: .customLong("points-per-unit"), help: "Points earned per whole currency unit spent, in the first programme version (env LAUREL_POINTS_PER_UNIT).")
    var pointsPerUnit: Int64 = Int64(Environment.int("LAUREL_POINTS_PER_UNIT") ?? 1)

    @Option(name: .customLong("expiry-sweep-seconds"), help: "How often expired holds and points are swept, tiers due are evaluated and birthday bonuses granted (env LAUREL_EXPIRY_SWEEP_SECONDS).")
    var expirySweepSeconds: Int = Environment.int("LAUREL_EXPIRY_SWEEP_SECONDS") ?? 5

    @Option(help: "Tier codes, lowest first, comma-separated, of the first programme version; members start in the first (env LAUREL_TIERS).")
    var tiers: String = Environment.string("LAUREL_TIERS") ?? TierOrder.standard.codes.joined(separator: ",")

    @Option(name: .customLong("points-expiry"), help: "When earned points expire: never, days:N, end-of-month:N or end-of-year:N (UTC; N months or years after the one of earning) (env LAUREL_POINTS_EXPIRY).")
    var pointsExpiry: String = Environment.string("LAUREL_POINTS_EXPIRY") ?? "never"

    func validate() throws {
        _ = try ExpiryPolicy(parsing: pointsExpiry)
        _ = try TierOrder(tiers.split(separator: ",").map(String.init))
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard pointsPerUnit >= 0 else { throw ValidationError("--points-per-unit must not be negative") }
        guard expirySweepSeconds > 0 else { throw ValidationError("--expiry-sweep-seconds must be positive") }
    }

    func run() async throws {
        let logger = server.bootstrapLogging(label: "laurel-members")
        let database = try MembersDatabase.open(in: server.dataDirectory)
        let metrics = LaurelMetrics()
        let accounts = MemberAccounts(
            database: database,
            program: .initial(pointsPerUnit: pointsPerUnit, tiers: try TierOrder(tiers.split(separator: ",").map(String.init))),
            metrics: metrics, expiryPolicy: try ExpiryPolicy(parsing: pointsExpiry), groupCommitBatch: server.groupCommitBatch)
        _ = try await accounts.storeProgram()
        let keys = ApiKeys(database: database)
        if let secret = try await keys.bootstrapOperatorKey() {
            print("laurel-members bootstrap operator key (shown once, keep it safe): \(secret)")
        }
        let services = [
            Laurel_V1_MemberService.descriptor.fullyQualifiedService, Laurel_V1_ProgramService.descriptor.fullyQualifiedService,
            Laurel_V1_AccessService.descriptor.fullyQualifiedService,
        ]
        let health = HealthService(services: services)
        let reflection = ReflectionService(services: services + [Grpc_Health_V1_Health.descriptor.fullyQualifiedService])
        let grpcServer = server.makeServer(
            port: port,
            services: [
                MemberServiceHandler(accounts: accounts), ProgramServiceHandler(accounts: accounts), AccessServiceHandler(keys: keys),
                health, reflection, reflection.v1alpha,
            ],
            access: .members, authenticator: keys, metrics: metrics, logger: logger)
        let sweeper = PeriodicTask(name: "sweep", interval: .seconds(expirySweepSeconds), logger: logger) {
            try await accounts.expireHolds()
            try await accounts.expirePoints()
            try await accounts.runProgramSweep()
        }
        try await ServerRuntime.run(
            name: "laurel-members", server: grpcServer, health: health,
            background: [sweeper, try Checkpointer(database.writer).periodically(logger: logger)]
                + server.metricsServices(name: "laurel-members", metrics: metrics, logger: logger),
            onShutdown: { accounts.feed.shutDown() }, shutdownGrace: server.shutdownGrace, logger: logger)
    }
}
