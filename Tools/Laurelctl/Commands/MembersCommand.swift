import ArgumentParser
import LaurelShared

struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members",
        abstract: "Enrol, look up and list members; adjust and inspect their points.",
        subcommands: [Enroll.self, Get.self, List.self, Adjust.self, Balance.self, Ledger.self, Export.self, Erase.self])

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrol a member. The external id is the idempotency key: repeating the command is safe.")

        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("external-id"), help: "Your identifier for the customer; unique.") var externalID: String
        @Option(help: "E-mail address.") var email: String?
        @Option(help: "Display name.") var name: String?
        @Option(name: .customLong("birth-date"), help: "YYYY-MM-DD.") var birthDate: String?
        @Option(name: .customLong("attribute"), help: ArgumentHelp("An attribute, key=value; repeatable.", valueName: "key=value"))
        var attributes: [AttributeArgument] = []

        func validate() throws {
            if let birthDate {
                do { _ = try CalendarDate(parsing: birthDate, field: "--birth-date") } catch { throw ValidationError(error.message) }
            }
            let keys = attributes.map(\.key)
            if let repeated = keys.first(where: { key in keys.filter { $0 == key }.count > 1 }) {
                throw ValidationError("--attribute \(repeated) is given more than once")
            }
        }

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.members {
                    try await $0.enrollMember(
                        .with {
                            $0.externalID = externalID
                            $0.email = email ?? ""
                            $0.displayName = name ?? ""
                            $0.birthDate = birthDate ?? ""
                            $0.attributes = Dictionary(uniqueKeysWithValues: attributes.map { ($0.key, $0.value) })
                        }, options: laurel.call)
                }
                try output.show(response, .details(response.member.detailRows))
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a member, by member id or by external id.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The member id.") var memberID: String?
        @Option(name: .customLong("external-id"), help: "Look the member up by external id instead.") var externalID: String?

        func validate() throws {
            guard (memberID == nil) != (externalID == nil) else {
                throw ValidationError("give a member id or --external-id, not both")
            }
        }

        func run() async throws {
            try await global.run { laurel, output in
                let response = try await laurel.members {
                    try await $0.getMember(
                        .with {
                            if let memberID { $0.memberID = memberID }
                            if let externalID { $0.externalID = externalID }
                        }, options: laurel.call)
                }
                try output.show(response, .details(response.member.detailRows))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List members, or a segment of them with filters, one page unless --all; --csv writes every page as CSV.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var paging: PageOptions
        @OptionGroup var segment: SegmentOptions
        @Flag(help: "Every page, as CSV with a header row (for a spreadsheet or a mailing tool).") var csv = false

        func validate() throws {
            if csv, global.json { throw ValidationError("--csv and --json are alternatives") }
        }

        func run() async throws {
            try await global.run { laurel, output in
                let filter = segment.filter
                var paging = paging
                if csv { paging.all = true }
                let response = try await laurel.members { [paging] members in
                    try await readPages(
                        paging, allByDefault: false,
                        fetch: { token, size in
                            try await members.listMembers(
                                .with {
                                    $0.pageToken = token
                                    $0.pageSize = size
                                    $0.filter = filter
                                }, options: laurel.call)
                        },
                        nextPageToken: \.nextPageToken,
                        append: {
                            $0.members += $1.members
                            $0.nextPageToken = $1.nextPageToken
                        })
                }
                if csv {
                    output.write(membersCSV(response.members))
                } else {
                    try output.showList(response, nextPageToken: response.nextPageToken, membersTable(response.members))
                }
            }
        }
    }
}
