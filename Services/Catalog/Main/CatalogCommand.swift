import ArgumentParser
import CatalogService
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LaurelShared

@main
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laurel-catalog",
        abstract: "Laurel catalog: rewards, stock and stock reservations, over gRPC.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var auth: RemoteAuthOptions

    @Option(help: "Port to listen on; 0 picks a free one (env LAUREL_CATALOG_PORT).")
    var port: Int = Environment.int("LAUREL_CATALOG_PORT") ?? 50052

    @Option(name: .customLong("expiry-sweep-seconds"), help: "How often expired reservations are given back (env LAUREL_EXPIRY_SWEEP_SECONDS).")
    var expirySweepSeconds: Int = Environment.int("LAUREL_EXPIRY_SWEEP_SECONDS") ?? 5

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard expirySweepSeconds > 0 else { throw ValidationError("--expiry-sweep-seconds must be positive") }
    }

    func run() async throws {
        let logger = server.bootstrapLogging(label: "laurel-catalog")
        let metrics = LaurelMetrics()
        let database = try CatalogDatabase.open(in: server.dataDirectory)
        let catalog = RewardCatalog(database: database, metrics: metrics, groupCommitBatch: server.groupCommitBatch)
        let health = HealthService(services: [Laurel_V1_CatalogService.descriptor.fullyQualifiedService])
        let keyChecks = try makePeerClient(auth.membersAddress)
        let reflection = ReflectionService(services: [
            Laurel_V1_CatalogService.descriptor.fullyQualifiedService, Grpc_Health_V1_Health.descriptor.fullyQualifiedService,
        ])
        let grpcServer = server.makeServer(
            port: port,
            services: [CatalogServiceHandler(catalog: catalog), health, reflection, reflection.v1alpha],
            access: .catalog, authenticator: auth.authenticator(keyChecks), metrics: metrics, logger: logger)
        let sweeper = PeriodicTask(name: "reservation expiry", interval: .seconds(expirySweepSeconds), logger: logger) {
            try await catalog.expireReservations()
        }
        try await ServerRuntime.run(
            name: "laurel-catalog", server: grpcServer, health: health,
            background: [ClientService(client: keyChecks), sweeper, try Checkpointer(database.writer).periodically(logger: logger)]
                + server.metricsServices(name: "laurel-catalog", metrics: metrics, logger: logger),
            shutdownGrace: server.shutdownGrace, logger: logger)
    }
}
