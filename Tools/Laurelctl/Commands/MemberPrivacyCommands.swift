import ArgumentParser
import Foundation
import LaurelShared

extension MembersCommand {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Everything Laurel holds about a member, from the three services, as one JSON document (GDPR/CCPA access request).")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The member id.") var memberID: String
        @Option(help: "Write the document to this file instead of standard output.") var output: String?

        func run() async throws {
            try await global.run { laurel, out in
                let response = try await laurel.privacy { try await $0.exportMember(.with { $0.memberID = memberID }, options: laurel.call) }
                let document = try response.export.jsonString(options: Output.jsonOptions) + "\n"
                if let output {
                    try Data(document.utf8).write(to: URL(fileURLWithPath: output))
                    out.note("export of \(memberID) written to \(output)")
                } else {
                    out.write(document)
                }
            }
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase a member's personal data in every service, keeping the amounts (GDPR/CCPA erasure request).",
            discussion: "Refused with ERASURE_BLOCKED while points are held or a redemption is under way: run it again later.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The member id.") var memberID: String
        @Option(help: "Why, for the audit trail (e.g. a ticket number).") var reason: String
        @Option(name: .customLong("request-id"), help: "Idempotency key; a new one by default.") var requestID: String?

        func validate() throws {
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason is required") }
        }

        func run() async throws {
            let requestID = IdempotencyKey(flag: "--request-id", given: requestID)
            try await global.run(idempotencyKey: requestID) { laurel, output in
                let response = try await laurel.privacy {
                    try await $0.eraseMember(
                        .with {
                            $0.memberID = memberID
                            $0.requestID = requestID.value
                            $0.reason = reason
                        }, options: laurel.call)
                }
                try output.show(
                    response,
                    .details([
                        ("member id", response.memberID),
                        ("erased at", display(response.erasedAt, isSet: response.hasErasedAt)),
                        ("redemptions anonymised", "\(response.redemptionsAnonymised)"),
                        ("reservations anonymised", "\(response.reservationsAnonymised)"),
                        ("request id", requestID.value),
                    ]))
            }
        }
    }
}
