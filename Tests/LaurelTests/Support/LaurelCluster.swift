import Foundation
import LaurelShared
import Testing

/// The three executables as processes, wired together, with quick recovery
/// so that tests can watch crashes heal. Holds outlive the tests, so what is
/// given back is given back by compensation, not by expiry.
///
/// Like an operator would, it takes the operator key members prints on its
/// first start, creates redemption's service key with it, and calls with the
/// operator key unless told otherwise.
final class LaurelCluster: @unchecked Sendable {
    let data: URL
    let operatorKey: String
    private(set) var members: ServiceProcess
    private(set) var catalog: ServiceProcess
    private(set) var redemption: ServiceProcess
    private let extraArguments: [String]
    private let redemptionArguments: [String]

    static let holdSeconds = 120

    private init(
        data: URL, operatorKey: String, members: ServiceProcess, catalog: ServiceProcess, redemption: ServiceProcess,
        extraArguments: [String], redemptionArguments: [String]
    ) {
        self.data = data
        self.operatorKey = operatorKey
        self.members = members
        self.catalog = catalog
        self.redemption = redemption
        self.extraArguments = extraArguments
        self.redemptionArguments = redemptionArguments
    }

    /// `faults` maps a service name to its `LAUREL_FAULT`; `arguments` go to
    /// all three services; `authCacheSeconds` to catalog and redemption;
    /// `redemptionArguments` to redemption, after (and so over) the cluster's own.
    static func start(
        faults: [String: String] = [:], arguments: [String] = [], authCacheSeconds: Int = 10, redemptionArguments: [String] = []
    ) async throws -> LaurelCluster {
        let data = try temporaryDirectory()
        let members = try await startService("laurel-members", data: data, port: 0, fault: faults["laurel-members"], arguments: arguments)
        guard let operatorKey = members.bootstrapOperatorKey else {
            await members.stop()
            throw HarnessFailure("members printed no bootstrap operator key:\n\(members.startupOutput)")
        }
        let serviceKey = try await withClient(port: members.port, apiKey: operatorKey) { client in
            try await Laurel_V1_AccessService.Client(wrapping: client).createApiKey(.with {
                $0.name = "redemption"
                $0.role = .service
                $0.requestID = "cluster-service-key"
            }).apiKey
        }
        try Data(serviceKey.utf8).write(to: data.appendingPathComponent("service.key"))
        let catalog = try await startService(
            "laurel-catalog", data: data, port: 0, fault: faults["laurel-catalog"],
            arguments: arguments + ["--members-address", "127.0.0.1:\(members.port)", "--auth-cache-seconds", "\(authCacheSeconds)"])
        let redemptionArguments = ["--auth-cache-seconds", "\(authCacheSeconds)"] + redemptionArguments
        let redemption = try await startRedemption(
            data: data, port: 0, members: members.port, catalog: catalog.port, fault: faults["laurel-redemption"],
            arguments: arguments + redemptionArguments)
        return LaurelCluster(
            data: data, operatorKey: operatorKey, members: members, catalog: catalog, redemption: redemption, extraArguments: arguments,
            redemptionArguments: redemptionArguments)
    }

    /// Starts `name` again on its port and data, without a fault.
    func restart(_ name: String) async throws {
        switch name {
        case "laurel-members":
            await members.stop()
            members = try await Self.startService(name, data: data, port: members.port, fault: nil, arguments: extraArguments)
        case "laurel-catalog":
            await catalog.stop()
            catalog = try await Self.startService(
                name, data: data, port: catalog.port, fault: nil,
                arguments: extraArguments + ["--members-address", "127.0.0.1:\(members.port)"])
        default:
            await redemption.stop()
            redemption = try await Self.startRedemption(
                data: data, port: redemption.port, members: members.port, catalog: catalog.port, fault: nil,
                arguments: extraArguments + redemptionArguments)
        }
    }

    struct Clients {
        let members: MembersClient
        let catalog: CatalogClient
        let redemption: RedemptionClient
        let access: AccessClient
        let program: ProgramClient

        /// A new member with 300 points and a 100-point mug, 5 in stock,
        /// then one redemption of it, which must complete: the member and
        /// the reward.
        func memberRedeemingAMug(_ externalId: String, key: String) async throws -> (member: String, reward: String) {
            let member = try await members.enrollMember(.with { $0.externalID = externalId }).member.memberID
            _ = try await members.adjustPoints(.with { $0.memberID = member; $0.delta = 300; $0.reason = "seed"; $0.requestID = "seed" })
            let reward = try await catalog.createReward(.with {
                $0.sku = "MUG"; $0.name = "Mug"; $0.kind = .freeProduct; $0.productSku = "MUG"; $0.costPoints = 100; $0.stock = 5
            }).reward.rewardID
            let redeemed = try await redemption.redeem(.with {
                $0.memberID = member; $0.rewardID = reward; $0.quantity = 1; $0.idempotencyKey = key
            }).redemption
            #expect(redeemed.status == .completed)
            return (member, reward)
        }
    }

    /// A client of each service for the duration of `body`, calling with
    /// `apiKey` (by default the operator key).
    func withClients<Result: Sendable>(apiKey: String? = nil, _ body: (Clients) async throws -> Result) async throws -> Result {
        let key = apiKey ?? operatorKey
        return try await withClient(port: members.port, apiKey: key) { m in
            try await withClient(port: catalog.port, apiKey: key) { c in
                try await withClient(port: redemption.port, apiKey: key) { r in
                    try await body(Clients(
                        members: .init(wrapping: m), catalog: .init(wrapping: c), redemption: .init(wrapping: r), access: .init(wrapping: m),
                        program: .init(wrapping: m)))
                }
            }
        }
    }

    /// A new key, created with the operator key.
    func createKey(_ role: Laurel_V1_ApiKeyRole, partnerId: String = "", rateLimitPerSecond: Int32 = 0) async throws -> String {
        try await withClients { laurel in
            try await laurel.access.createApiKey(.with {
                $0.name = "\(role) \(partnerId)"
                $0.role = role
                $0.partnerID = partnerId
                $0.rateLimitPerSecond = rateLimitPerSecond
                $0.requestID = uniqueKey("key")
            }).apiKey
        }
    }

    /// Starts a cluster, runs `body` with a client of each service, records
    /// any error as a test issue, and always stops the cluster.
    static func withRunning(sourceLocation: SourceLocation = #_sourceLocation, _ body: (Clients) async throws -> Void) async throws {
        try await withCluster(sourceLocation: sourceLocation) { laurel in try await laurel.withClients(body) }
    }

    /// Starts a cluster, runs `body` with it, records any error as a test
    /// issue, and always stops the cluster.
    static func withCluster(
        arguments: [String] = [], authCacheSeconds: Int = 10, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (LaurelCluster) async throws -> Void
    ) async throws {
        let laurel = try await start(arguments: arguments, authCacheSeconds: authCacheSeconds)
        do {
            try await body(laurel)
        } catch {
            Issue.record(error, sourceLocation: sourceLocation)
        }
        await laurel.stop(sourceLocation: sourceLocation)
    }

    func process(_ name: String) -> ServiceProcess {
        switch name {
        case "laurel-members": members
        case "laurel-catalog": catalog
        default: redemption
        }
    }

    /// A member's points and a reward's stock as all three services should
    /// agree on them once every redemption has settled: nothing held or
    /// reserved, and the member's ledger summing to the balance.
    func expectBalances(
        memberId: String, rewardId: String, points: Int64, stock: (available: Int64, committed: Int64),
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        try await withClient(port: members.port, apiKey: operatorKey) { m in
            let memberService = MembersClient(wrapping: m)
            let balance = try await memberService.getBalance(.with { $0.memberID = memberId }).balance
            #expect(balance.available == points, sourceLocation: sourceLocation)
            #expect(balance.held == 0, sourceLocation: sourceLocation)
            try await expectLedgerBalances(members: memberService, memberId: memberId, sourceLocation: sourceLocation)
        }
        try await withClient(port: catalog.port, apiKey: operatorKey) { c in
            let reward = try await CatalogClient(wrapping: c).getReward(.with { $0.rewardID = rewardId }).reward
            #expect(reward.stockAvailable == stock.available, sourceLocation: sourceLocation)
            #expect(reward.stockCommitted == stock.committed, sourceLocation: sourceLocation)
            #expect(reward.stockReserved == 0, sourceLocation: sourceLocation)
        }
    }

    /// Stops all three, expecting each to exit cleanly, and removes the data.
    func stop(sourceLocation: SourceLocation = #_sourceLocation) async {
        for service in [redemption, catalog, members] {
            let status = await service.stop()
            #expect(status == 0, "\(service.name) exited with \(status); log:\n\(service.log)", sourceLocation: sourceLocation)
        }
        try? FileManager.default.removeItem(at: data)
    }

    private static func startService(_ name: String, data: URL, port: Int, fault: String?, arguments: [String]) async throws -> ServiceProcess {
        try await ServiceProcess.start(
            name, dataDirectory: data.appendingPathComponent(name), port: port,
            arguments: ["--expiry-sweep-seconds", "1"] + arguments, environment: ["LAUREL_FAULT": fault ?? ""])
    }

    private static func startRedemption(
        data: URL, port: Int, members: Int, catalog: Int, fault: String?, arguments: [String]
    ) async throws -> ServiceProcess {
        try await ServiceProcess.start(
            "laurel-redemption", dataDirectory: data.appendingPathComponent("laurel-redemption"), port: port,
            arguments: [
                "--members-address", "127.0.0.1:\(members)", "--catalog-address", "127.0.0.1:\(catalog)",
                "--service-key-file", data.appendingPathComponent("service.key").path,
                "--hold-seconds", "\(holdSeconds)", "--peer-timeout-ms", "2000",
                "--recovery-seconds", "1", "--recovery-idle-seconds", "2",
            ] + arguments,
            environment: ["LAUREL_FAULT": fault ?? ""])
    }
}
