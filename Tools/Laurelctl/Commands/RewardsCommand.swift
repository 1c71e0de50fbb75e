import ArgumentParser
import LaurelShared

struct RewardsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewards",
        abstract: "Create, show, list, update and archive the catalog's rewards.",
        subcommands: [Create.self, Get.self, List.self, Update.self, Archive.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a reward. The SKU is the idempotency key: repeating the command is safe.")

        @OptionGroup var global: GlobalOptions
        @Option(help: "The reward's SKU; unique.") var sku: String
        @Option(help: "What members see.") var name: String
        @Option(help: "Longer text for members.") var description: String?
        @Option(help: "What the reward is.") var kind: EnumArgument<Laurel_V1_RewardKind>
        @Option(name: .customLong("cost-points"), help: "Price of one unit in points.") var costPoints: Int64
        @Option(help: "Units in stock.") var stock: Int64 = 0
        @Flag(name: .customLong("unlimited-stock"), help: "Never runs out (then --stock must be 0).") var unlimitedStock = false
        @Option(name: .customLong("valid-from"), help: "Redeemable from this time (RFC 3339 or YYYY-MM-DD).")
        var validFrom: TimestampArgument?
        @Option(name: .customLong("valid-until"), help: "Redeemable until this time (RFC 3339 or YYYY-MM-DD).")
        var validUntil: TimestampArgument?
        @Option(help: "Whether it can be redeemed now (default true).") var active: Bool?
        @Option(name: .customLong("discount-percent"), help: "1...100, for discount-percent rewards.") var discountPercent: Int32?
        @Option(help: "Amount in major units, for discount-amount, gift-card and cashback rewards.") var value: String?
        @Option(help: "ISO 4217 code of --value.") var currency: String?
        @Option(name: .customLong("product-sku"), help: "The product given, for free-product rewards.") var productSku: String?
        @Option(name: .customLong("per-member-limit"), help: "Most units one member may hold; default: no limit.")
        var perMemberLimit: Int32?
        @Option(name: .customLong("min-tier"), help: "Tier code a member needs at least; default: any member.")
        var minTier: String?

        func validate() throws { _ = try request() }

        func request() throws -> Laurel_V1_CreateRewardRequest {
            guard (value == nil) == (currency == nil) else { throw ValidationError("--value and --currency go together") }
            var request = Laurel_V1_CreateRewardRequest.with {
                $0.sku = sku
                $0.name = name
                $0.description_p = description ?? ""
                $0.kind = kind.value
                $0.costPoints = costPoints
                $0.stock = stock
                $0.unlimitedStock = unlimitedStock
                if let validFrom { $0.validFrom = validFrom.timestamp }
                if let validUntil { $0.validUntil = validUntil.timestamp }
                if let active { $0.active = active }
                $0.discountPercent = discountPercent ?? 0
                $0.productSku = productSku ?? ""
                $0.perMemberLimit = perMemberLimit ?? 0
                $0.minTier = minTier ?? ""
            }
            if let value, let currency {
                request.value = try Laurel_V1_Money(parseAmount(value, currency: Currency.parse(currency), flag: "--value"))
            }
            return request
        }

        func run() async throws {
            let request = try request()
            try await global.run { laurel, output in
                let response = try await laurel.catalog { try await $0.createReward(request, options: laurel.call) }
                try output.show(response, .details(response.reward.detailRows))
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a reward, by reward id or by SKU.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The reward id.") var rewardID: String?
        @Option(help: "Look the reward up by SKU instead.") var sku: String?

        func validate() throws {
            guard (rewardID == nil) != (sku == nil) else { throw ValidationError("give a reward id or --sku, not both") }
        }

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.catalog {
                    try await $0.getReward(
                        .with {
                            if let rewardID { $0.rewardID = rewardID }
                            if let sku { $0.sku = sku }
                        }, options: laurel.call)
                }
                try output.show(response, .details(response.reward.detailRows))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List rewards, every page unless one is asked for.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var paging: PageOptions
        @Flag(name: .customLong("include-archived"), help: "Also list archived rewards.") var includeArchived = false
        @Flag(name: .customLong("redeemable-only"), help: "Only rewards that can be redeemed now.") var redeemableOnly = false

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.catalog { catalog in
                    try await readPages(
                        paging, allByDefault: true,
                        fetch: { token, size in
                            try await catalog.listRewards(
                                .with {
                                    $0.pageToken = token
                                    $0.pageSize = size
                                    $0.includeArchived = includeArchived
                                    $0.redeemableOnly = redeemableOnly
                                }, options: laurel.call)
                        },
                        nextPageToken: \.nextPageToken,
                        append: {
                            $0.rewards += $1.rewards
                            $0.nextPageToken = $1.nextPageToken
                        })
                }
                try output.showList(response, nextPageToken: response.nextPageToken, rewardsTable(response.rewards))
            }
        }
    }

    struct Archive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retire a reward for good: it can no longer be redeemed or updated.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The reward id.") var rewardID: String

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.catalog {
                    try await $0.archiveReward(.with { $0.rewardID = rewardID }, options: laurel.call)
                }
                try output.show(response, .details(response.reward.detailRows))
            }
        }
    }
}
