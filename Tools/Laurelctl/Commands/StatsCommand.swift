import ArgumentParser
import LaurelShared
import SwiftProtobuf

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "The programme's, the catalogue's and the redemptions' figures over a time range (operators).")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Start of the range (RFC 3339, or a date); the beginning by default.") var from: TimestampArgument?
    @Option(help: "End of the range, excluded; now by default.") var to: TimestampArgument?
    @Option(name: .customLong("active-days"), help: "A member is active if they purchased within this many days before --to (default 30).")
    var activeDays: Int32 = 30
    @Option(help: "How many top rewards, 1...100.") var top: Int32 = 10

    func validate() throws {
        guard activeDays > 0 else { throw ValidationError("--active-days must be positive") }
        guard (1...100).contains(top) else { throw ValidationError("--top must be 1...100") }
    }

    func setRange(_ request: inout some StatsRequest) {
        if let from { request.from = from.timestamp }
        if let to { request.to = to.timestamp }
    }

    func run() async throws {
        try await global.run { laurel, output in
            let program = try await laurel.program {
                try await $0.getProgramStats(
                    .with {
                        setRange(&$0)
                        $0.activeDays = activeDays
                    }, options: laurel.call)
            }.stats
            let catalog = try await laurel.catalog {
                try await $0.getCatalogStats(
                    .with {
                        setRange(&$0)
                        $0.top = top
                    }, options: laurel.call)
            }.stats
            let redemption = try await laurel.redemption {
                try await $0.getRedemptionStats(
                    .with {
                        setRange(&$0)
                        $0.top = top
                    }, options: laurel.call)
            }.stats
            if global.json {
                let parts = try [("program", program.jsonString(options: Output.jsonOptions)),
                                 ("catalog", catalog.jsonString(options: Output.jsonOptions)),
                                 ("redemption", redemption.jsonString(options: Output.jsonOptions))]
                output.write("{" + parts.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}\n")
            } else {
                output.write(statsTables(program: program, catalog: catalog, redemption: redemption).map { $0.render() }.joined(separator: "\n"))
            }
        }
    }
}

/// The time range every statistics request has.
protocol StatsRequest {
    var from: Google_Protobuf_Timestamp { get set }
    var to: Google_Protobuf_Timestamp { get set }
}

extension Laurel_V1_GetProgramStatsRequest: StatsRequest {}
extension Laurel_V1_GetCatalogStatsRequest: StatsRequest {}
extension Laurel_V1_GetRedemptionStatsRequest: StatsRequest {}
