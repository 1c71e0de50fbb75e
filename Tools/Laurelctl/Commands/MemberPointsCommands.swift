import ArgumentParser
import Foundation
import LaurelShared

extension MembersCommand {
    struct Adjust: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Credit (positive --delta) or debit (negative) a member's points by hand.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The member id.") var memberID: String
        // Unconditional, so that "--delta -50" is a debit rather than an
        // unknown option "-50".
        @Option(parsing: .unconditional, help: "Points to add; negative to take away.") var delta: Int64
        @Option(help: "Why; shown on the member's statement.") var reason: String
        @Option(name: .customLong("request-id"), help: "Idempotency key; a new one by default.") var requestID: String?

        func validate() throws {
            guard delta != 0 else { throw ValidationError("--delta must not be zero") }
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason is required") }
        }

        func run() async throws {
            let requestID = IdempotencyKey(flag: "--request-id", given: requestID)
            try await global.run(idempotencyKey: requestID) { laurel, output in
                let response = try await laurel.members {
                    try await $0.adjustPoints(
                        .with {
                            $0.memberID = memberID
                            $0.delta = delta
                            $0.reason = reason
                            $0.requestID = requestID.value
                        }, options: laurel.call)
                }
                try output.show(
                    response, .details(response.entry.detailRows + response.balance.detailRows + [("request id", requestID.value)]))
            }
        }
    }

    struct Balance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a member's points.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The member id.") var memberID: String

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.members {
                    try await $0.getBalance(.with { $0.memberID = memberID }, options: laurel.call)
                }
                try output.show(response, .details(response.balance.detailRows))
            }
        }
    }

    struct Ledger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a member's ledger entries, newest first; one page unless --all.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var paging: PageOptions
        @Argument(help: "The member id.") var memberID: String

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.members { members in
                    try await readPages(
                        paging, allByDefault: false,
                        fetch: { token, size in
                            try await members.listLedger(
                                .with {
                                    $0.memberID = memberID
                                    $0.pageToken = token
                                    $0.pageSize = size
                                }, options: laurel.call)
                        },
                        nextPageToken: \.nextPageToken,
                        append: {
                            $0.entries += $1.entries
                            $0.nextPageToken = $1.nextPageToken
                        })
                }
                try output.showList(response, nextPageToken: response.nextPageToken, ledgerTable(response.entries))
            }
        }
    }
}
