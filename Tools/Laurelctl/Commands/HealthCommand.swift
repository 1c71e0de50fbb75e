import ArgumentParser
import GRPCCore
import LaurelShared

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Ask each service's grpc.health.v1 whether it is serving; exit 1 unless all three are.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.run { laurel, output in
            let services = [
                ("members", laurel.membersAddress), ("catalog", laurel.catalogAddress),
                ("redemption", laurel.redemptionAddress),
            ]
            // At once, so that one service that is down costs one deadline,
            // not one each.
            let checks = await withTaskGroup(of: (Int, HealthCheck).self) { group in
                for (index, (service, address)) in services.enumerated() {
                    group.addTask { (index, await HealthCheck.run(service: service, address: address, laurel: laurel)) }
                }
                var checks = [(Int, HealthCheck)]()
                for await check in group { checks.append(check) }
                return checks.sorted { $0.0 < $1.0 }.map(\.1)
            }
            if output.json {
                try output.showJSON(checks.map(\.json))
            } else {
                var table = TextTable(["SERVICE", "ADDRESS", "STATUS", "DETAIL"])
                for check in checks { table.append([check.service, check.address.description, check.status, check.detail]) }
                output.write(table.render())
            }
            if !checks.allSatisfy(\.serving) { throw ExitCode.failure }
        }
    }
}

/// One service's answer: its serving status, or the status code of the call
/// that could not get one (UNAVAILABLE when nothing listens).
struct HealthCheck: Sendable {
    let service: String
    let address: PeerAddress
    let status: String
    let detail: String

    var serving: Bool { status == "SERVING" }

    var json: [String: String] {
        var object = ["service": service, "address": address.description, "status": status]
        if !detail.isEmpty { object["detail"] = detail }
        return object
    }

    static func run(service: String, address: PeerAddress, laurel: Laurel) async -> HealthCheck {
        do {
            let status = try await laurel.health(at: address) { try await $0.check(.init(), options: laurel.call).status }
            return HealthCheck(service: service, address: address, status: status.displayName, detail: "")
        } catch let error as RPCError {
            return HealthCheck(service: service, address: address, status: Output.codeName(error.code), detail: error.message)
        } catch {
            return HealthCheck(service: service, address: address, status: "ERROR", detail: "\(error)")
        }
    }
}
