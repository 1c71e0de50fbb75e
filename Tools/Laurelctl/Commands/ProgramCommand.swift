import ArgumentParser
import Foundation
import LaurelShared
import SwiftProtobuf

struct ProgramCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "program",
        abstract: "Show and change the programme's rules (earning, tiers, bonuses, referrals).",
        subcommands: [Get.self, Set.self, Sweep.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the current programme; --json prints it in the form `program set` reads.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.program { try await $0.getProgram(.init(), options: laurel.call) }
                try output.show(response.program, .details(response.program.detailRows))
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the programme with the one in a JSON file (the form `program get --json` prints), as a new version.")

        @OptionGroup var global: GlobalOptions
        @Option(help: "The programme, as protobuf JSON.") var file: String
        @Option(name: .customLong("expected-version"), help: "Refuse unless the programme is still at this version.")
        var expectedVersion: Int64 = 0
        @Option(name: .customLong("request-id"), help: "The idempotency key; one is made up if omitted.") var requestID: String?

        func run() async throws {
            let program: Laurel_V1_Program
            do {
                program = try Laurel_V1_Program(jsonUTF8Data: try Data(contentsOf: URL(fileURLWithPath: file)))
            } catch {
                throw ValidationError("--file \(file): not a programme in protobuf JSON (\(error))")
            }
            let key = IdempotencyKey(flag: "--request-id", given: requestID)
            try await global.run(idempotencyKey: key) { laurel, output in
                let response = try await laurel.program {
                    try await $0.updateProgram(
                        .with {
                            $0.program = program
                            $0.expectedVersion = expectedVersion
                            $0.requestID = key.value
                        }, options: laurel.call)
                }
                try output.show(response.program, .details(response.program.detailRows))
            }
        }
    }

    struct Sweep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate the tiers due for review and grant the birthday bonuses due, now.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.program { try await $0.runProgramSweep(.init(), options: laurel.call) }
                try output.show(
                    response,
                    .details([
                        ("tiers evaluated", "\(response.tiersEvaluated)"), ("tiers changed", "\(response.tiersChanged)"),
                        ("birthday bonuses", "\(response.birthdayBonuses)"),
                    ]))
            }
        }
    }
}

struct CampaignsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaigns",
        abstract: "Create, list and end time-boxed bonus campaigns.",
        subcommands: [Create.self, List.self, End.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a campaign. Its id is the idempotency key: repeating the command is safe.")

        @OptionGroup var global: GlobalOptions
        @Option(help: "The campaign's id; unique.") var id: String
        @Option(help: "What it is called.") var name: String
        @Option(help: "When it starts (RFC 3339 or YYYY-MM-DD).") var starts: TimestampArgument
        @Option(help: "When it ends (RFC 3339 or YYYY-MM-DD).") var ends: TimestampArgument
        @Option(name: .customLong("multiplier-percent"), help: "200 doubles the base points of the lines it targets.")
        var multiplierPercent: Int32?
        @Option(name: .customLong("bonus-points"), help: "Points added once per purchase.") var bonusPoints: Int64?
        @Option(name: .customLong("tier"), help: "Only members in this tier (repeatable).") var tiers: [String] = []
        @Option(name: .customLong("attribute"), help: "Only members with this attribute value, key=value (repeatable).")
        var attributes: [AttributeArgument] = []
        @Option(name: .customLong("sku"), help: "Only these SKUs (repeatable).") var skus: [String] = []
        @Option(name: .customLong("category"), help: "Only these categories (repeatable).") var categories: [String] = []

        func validate() throws {
            guard (multiplierPercent == nil) != (bonusPoints == nil) else {
                throw ValidationError("give --multiplier-percent or --bonus-points, not both")
            }
        }

        func run() async throws {
            let request = Laurel_V1_CreateCampaignRequest.with {
                $0.campaign = .with {
                    $0.campaignID = id
                    $0.name = name
                    $0.startsAt = starts.timestamp
                    $0.endsAt = ends.timestamp
                    if let multiplierPercent { $0.multiplierPercent = multiplierPercent }
                    if let bonusPoints { $0.bonusPoints = bonusPoints }
                    $0.target = .with {
                        $0.tiers = tiers
                        $0.attributes = Dictionary(attributes.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
                        $0.skus = skus
                        $0.categories = categories
                    }
                }
            }
            try await global.run { laurel, output in
                let response = try await laurel.program { try await $0.createCampaign(request, options: laurel.call) }
                try output.show(response, .details(response.campaign.detailRows))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List running and scheduled campaigns, every page unless one is asked for.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var paging: PageOptions
        @Flag(name: .customLong("include-ended"), help: "Also list ended campaigns.") var includeEnded = false

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.program { program in
                    try await readPages(
                        paging, allByDefault: true,
                        fetch: { token, size in
                            try await program.listCampaigns(
                                .with {
                                    $0.pageToken = token
                                    $0.pageSize = size
                                    $0.includeEnded = includeEnded
                                }, options: laurel.call)
                        },
                        nextPageToken: \.nextPageToken,
                        append: {
                            $0.campaigns += $1.campaigns
                            $0.nextPageToken = $1.nextPageToken
                        })
                }
                try output.showList(response, nextPageToken: response.nextPageToken, campaignsTable(response.campaigns))
            }
        }
    }

    struct End: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a campaign now.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The campaign id.") var campaignID: String

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.program {
                    try await $0.endCampaign(.with { $0.campaignID = campaignID }, options: laurel.call)
                }
                try output.show(response, .details(response.campaign.detailRows))
            }
        }
    }
}
