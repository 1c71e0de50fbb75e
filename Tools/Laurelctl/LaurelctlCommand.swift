import ArgumentParser

/// The operator's command line over Laurel's gRPC APIs: one subcommand group
/// per resource, tables for people and `--json` for scripts.
@main
struct LaurelctlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laurelctl",
        abstract: "Operate a running Laurel: API keys, members, purchases, the programme and campaigns, rewards and redemptions.",
        discussion: """
            Every command takes --members, --catalog and --redemption (host:port), --api-key or \
            --api-key-file, --timeout-ms and --json. Mutating commands print the idempotency key \
            they used: repeat the command with it to retry safely.
            """,
        subcommands: [
            KeysCommand.self, MembersCommand.self, PurchasesCommand.self, ProgramCommand.self, CampaignsCommand.self, RewardsCommand.self,
            RedeemCommand.self, CancelCommand.self, RedemptionsCommand.self,
            StatsCommand.self, HealthCommand.self, WhoAmICommand.self,
        ])
}
