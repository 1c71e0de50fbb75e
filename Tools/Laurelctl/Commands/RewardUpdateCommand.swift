import ArgumentParser
import LaurelShared

extension RewardsCommand {
    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a reward: only the fields given change.",
            discussion: "--stock-delta adds units (negative removes them); --request-id makes the update safe to repeat.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The reward id.") var rewardID: String
        @Option(help: "New name.") var name: String?
        @Option(help: "New description.") var description: String?
        @Option(name: .customLong("cost-points"), help: "New price of one unit in points.") var costPoints: Int64?
        @Option(name: .customLong("valid-from"), help: "New start of the window (RFC 3339 or YYYY-MM-DD).")
        var validFrom: TimestampArgument?
        @Option(name: .customLong("valid-until"), help: "New end of the window (RFC 3339 or YYYY-MM-DD).")
        var validUntil: TimestampArgument?
        @Flag(name: .customLong("remove-valid-from"), help: "No start of the window.") var removeValidFrom = false
        @Flag(name: .customLong("remove-valid-until"), help: "No end of the window.") var removeValidUntil = false
        @Option(help: "true or false.") var active: Bool?
        // Unconditional, so that "--stock-delta -5" reads as a number.
        @Option(name: .customLong("stock-delta"), parsing: .unconditional, help: "Units to add; negative to remove.")
        var stockDelta: Int64?
        @Option(name: .customLong("per-member-limit"), help: "New limit per member; 0 removes it.") var perMemberLimit: Int32?
        @Option(name: .customLong("min-tier"), help: "New minimum tier; \"\" removes it.") var minTier: String?
        @Option(name: .customLong("request-id"), help: "Idempotency key; a new one by default.") var requestID: String?

        func validate() throws {
            if validFrom != nil && removeValidFrom { throw ValidationError("give --valid-from or --remove-valid-from, not both") }
            if validUntil != nil && removeValidUntil {
                throw ValidationError("give --valid-until or --remove-valid-until, not both")
            }
            if stockDelta == 0 { throw ValidationError("--stock-delta must not be zero") }
            let changes = [
                name != nil, description != nil, costPoints != nil, validFrom != nil, validUntil != nil, removeValidFrom,
                removeValidUntil, active != nil, stockDelta != nil, perMemberLimit != nil, minTier != nil,
            ]
            guard changes.contains(true) else {
                throw ValidationError("nothing to change: give at least one field")
            }
        }

        func run() async throws {
            let requestID = IdempotencyKey(flag: "--request-id", given: requestID)
            try await global.run(idempotencyKey: requestID) { laurel, output in
                let response = try await laurel.catalog {
                    try await $0.updateReward(
                        .with {
                            $0.rewardID = rewardID
                            if let name { $0.name = name }
                            if let description { $0.description_p = description }
                            if let costPoints { $0.costPoints = costPoints }
                            if let validFrom { $0.validFrom = validFrom.timestamp }
                            if let validUntil { $0.validUntil = validUntil.timestamp }
                            $0.removeValidFrom = removeValidFrom
                            $0.removeValidUntil = removeValidUntil
                            if let active { $0.active = active }
                            $0.stockDelta = stockDelta ?? 0
                            if let perMemberLimit { $0.perMemberLimit = perMemberLimit }
                            if let minTier { $0.minTier = minTier }
                            $0.requestID = requestID.value
                        }, options: laurel.call)
                }
                try output.show(response, .details(response.reward.detailRows + [("request id", requestID.value)]))
            }
        }
    }
}
