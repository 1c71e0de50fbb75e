import ArgumentParser
import LaurelShared

struct RedeemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redeem",
        abstract: "Turn a member's points into a reward and a voucher code.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("member"), help: "The member id.") var memberID: String
    @Option(name: .customLong("reward"), help: "The reward id.") var rewardID: String
    @Option(help: "Units of the reward.") var quantity: Int64 = 1
    @Option(name: .customLong("idempotency-key"), help: "Makes the redemption safe to repeat; a new one by default.")
    var idempotencyKey: String?

    func validate() throws {
        guard quantity >= 1 else { throw ValidationError("--quantity must be at least 1") }
    }

    func run() async throws {
        let key = IdempotencyKey(flag: "--idempotency-key", given: idempotencyKey)
        try await global.run(idempotencyKey: key) { laurel, output in
            let response = try await laurel.redemption {
                try await $0.redeem(
                    .with {
                        $0.memberID = memberID
                        $0.rewardID = rewardID
                        $0.quantity = quantity
                        $0.idempotencyKey = key.value
                    }, options: laurel.call)
            }
            try output.show(response, .details(response.redemption.detailRows))
        }
    }
}

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a completed redemption: refund its points and restock its reward. Safe to repeat.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The redemption id.") var redemptionID: String
    @Option(help: "Why; kept with the redemption.") var reason: String?

    func run() async throws {
        try await global.run { laurel, output in
            let response = try await laurel.redemption {
                try await $0.cancelRedemption(
                    .with {
                        $0.redemptionID = redemptionID
                        $0.reason = reason ?? ""
                    }, options: laurel.call)
            }
            try output.show(response, .details(response.redemption.detailRows))
        }
    }
}

struct RedemptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redemptions",
        abstract: "Show redemptions.",
        subcommands: [Get.self, List.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a redemption.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The redemption id.") var redemptionID: String

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.redemption {
                    try await $0.getRedemption(.with { $0.redemptionID = redemptionID }, options: laurel.call)
                }
                try output.show(response, .details(response.redemption.detailRows))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a member's redemptions, newest first; one page unless --all.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var paging: PageOptions
        @Option(name: .customLong("member"), help: "The member id.") var memberID: String

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.redemption { redemption in
                    try await readPages(
                        paging, allByDefault: false,
                        fetch: { token, size in
                            try await redemption.listRedemptions(
                                .with {
                                    $0.memberID = memberID
                                    $0.pageToken = token
                                    $0.pageSize = size
                                }, options: laurel.call)
                        },
                        nextPageToken: \.nextPageToken,
                        append: {
                            $0.redemptions += $1.redemptions
                            $0.nextPageToken = $1.nextPageToken
                        })
                }
                try output.showList(response, nextPageToken: response.nextPageToken, redemptionsTable(response.redemptions))
            }
        }
    }
}
