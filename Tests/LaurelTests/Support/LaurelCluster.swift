import Foundation
import Testing

/// The three executables as processes, wired together, with quick recovery
/// so that tests can watch crashes heal. Holds outlive the tests, so what is
/// given back is given back by compensation, not by expiry.
final class LaurelCluster: @unchecked Sendable {
    let data: URL
    private(set) var members: ServiceProcess
    private(set) var catalog: ServiceProcess
    private(set) var redemption: ServiceProcess

    static let holdSeconds = 120

    private init(data: URL, members: ServiceProcess, catalog: ServiceProcess, redemption: ServiceProcess) {
        self.data = data
        self.members = members
        self.catalog = catalog
        self.redemption = redemption
    }

    /// `faults` maps a service name to its `LAUREL_FAULT`.
    static func start(faults: [String: String] = [:]) async throws -> LaurelCluster {
        let data = try temporaryDirectory()
        let members = try await startService("laurel-members", data: data, port: 0, fault: faults["laurel-members"])
        let catalog = try await startService("laurel-catalog", data: data, port: 0, fault: faults["laurel-catalog"])
        let redemption = try await startRedemption(data: data, port: 0, members: members.port, catalog: catalog.port, fault: faults["laurel-redemption"])
        return LaurelCluster(data: data, members: members, catalog: catalog, redemption: redemption)
    }

    /// Starts `name` again on its port and data, without a fault.
    func restart(_ name: String) async throws {
        switch name {
        case "laurel-members":
            await members.stop()
            members = try await Self.startService(name, data: data, port: members.port, fault: nil)
        case "laurel-catalog":
            await catalog.stop()
            catalog = try await Self.startService(name, data: data, port: catalog.port, fault: nil)
        default:
            await redemption.stop()
            redemption = try await Self.startRedemption(data: data, port: redemption.port, members: members.port, catalog: catalog.port, fault: nil)
        }
    }

    struct Clients {
        let members: MembersClient
        let catalog: CatalogClient
        let redemption: RedemptionClient
    }

    /// A client of each service for the duration of `body`.
    func withClients<Result: Sendable>(_ body: (Clients) async throws -> Result) async throws -> Result {
        try await withClient(port: members.port) { m in
            try await withClient(port: catalog.port) { c in
                try await withClient(port: redemption.port) { r in
                    try await body(Clients(members: .init(wrapping: m), catalog: .init(wrapping: c), redemption: .init(wrapping: r)))
                }
            }
        }
    }

    /// Starts a cluster, runs `body` with a client of each service, records
    /// any error as a test issue, and always stops the cluster.
    static func withRunning(sourceLocation: SourceLocation = #_sourceLocation, _ body: (Clients) async throws -> Void) async throws {
        let laurel = try await start()
        do {
            try await laurel.withClients(body)
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

    /// Stops all three, expecting each to exit cleanly, and removes the data.
    func stop(sourceLocation: SourceLocation = #_sourceLocation) async {
        for service in [redemption, catalog, members] {
            let status = await service.stop()
            #expect(status == 0, "\(service.name) exited with \(status); log:\n\(service.log)", sourceLocation: sourceLocation)
        }
        try? FileManager.default.removeItem(at: data)
    }

    private static func startService(_ name: String, data: URL, port: Int, fault: String?) async throws -> ServiceProcess {
        try await ServiceProcess.start(
            name, dataDirectory: data.appendingPathComponent(name), port: port,
            arguments: ["--expiry-sweep-seconds", "1"], environment: ["LAUREL_FAULT": fault ?? ""])
    }

    private static func startRedemption(data: URL, port: Int, members: Int, catalog: Int, fault: String?) async throws -> ServiceProcess {
        try await ServiceProcess.start(
            "laurel-redemption", dataDirectory: data.appendingPathComponent("laurel-redemption"), port: port,
            arguments: [
                "--members-address", "127.0.0.1:\(members)", "--catalog-address", "127.0.0.1:\(catalog)",
                "--hold-seconds", "\(holdSeconds)", "--peer-timeout-ms", "2000",
                "--recovery-seconds", "1", "--recovery-idle-seconds", "2",
            ],
            environment: ["LAUREL_FAULT": fault ?? ""])
    }
}
