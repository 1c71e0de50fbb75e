import ArgumentParser
import LaurelShared

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys (operator keys only).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key and print its secret, which is shown this once only.")

        @OptionGroup var global: GlobalOptions
        @Option(help: "What the key is for, e.g. the partner's system.") var name: String
        @Option(help: "What the key may do.") var role: EnumArgument<Laurel_V1_ApiKeyRole>
        @Option(name: .customLong("partner-id"), help: "The partner a partner key acts for (required for partner keys).")
        var partnerID: String?
        @Option(name: .customLong("rate-limit"), help: "Requests per second per service; default: the service's limit.")
        var rateLimit: Int32?
        @Option(name: .customLong("request-id"), help: "Idempotency key; a new one by default.") var requestID: String?

        func validate() throws {
            if role.value == .partner && (partnerID ?? "").isEmpty {
                throw ValidationError("a partner key needs --partner-id")
            }
            if let rateLimit, rateLimit < 0 { throw ValidationError("--rate-limit must not be negative") }
        }

        func run() async throws {
            let requestID = IdempotencyKey(flag: "--request-id", given: requestID)
            try await global.run(idempotencyKey: requestID) { laurel, output in
                let response = try await laurel.access {
                    try await $0.createApiKey(
                        .with {
                            $0.name = name
                            $0.role = role.value
                            $0.partnerID = partnerID ?? ""
                            $0.rateLimitPerSecond = rateLimit ?? 0
                            $0.requestID = requestID.value
                        }, options: laurel.call)
                }
                try output.show(
                    response,
                    .details(
                        response.key.detailRows + [
                            ("request id", requestID.value),
                            ("api key", response.apiKey),
                        ]))
                if !output.json {
                    output.note("the api key is shown this once only: store it now (Laurel keeps only its hash)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API keys, every page unless one is asked for.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var paging: PageOptions
        @Flag(name: .customLong("include-revoked"), help: "Also list revoked keys.") var includeRevoked = false

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.access { access in
                    try await readPages(
                        paging, allByDefault: true,
                        fetch: { token, size in
                            try await access.listApiKeys(
                                .with {
                                    $0.pageToken = token
                                    $0.pageSize = size
                                    $0.includeRevoked = includeRevoked
                                }, options: laurel.call)
                        },
                        nextPageToken: \.nextPageToken,
                        append: {
                            $0.keys += $1.keys
                            $0.nextPageToken = $1.nextPageToken
                        })
                }
                try output.showList(response, nextPageToken: response.nextPageToken, keysTable(response.keys))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an API key; other services stop accepting it within their auth cache time.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key's id (the part after \"lk_\" of the secret, up to the next \"_\").")
        var keyID: String

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.access {
                    try await $0.revokeApiKey(.with { $0.keyID = keyID }, options: laurel.call)
                }
                try output.show(response, .details(response.key.detailRows))
            }
        }
    }
}
