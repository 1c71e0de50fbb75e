import ArgumentParser
import LaurelShared

struct WhoAmICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami",
        abstract: "Describe the API key the command is run with.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.run { laurel, output in
            let response = try await laurel.access { try await $0.whoAmI(.init(), options: laurel.call) }
            try output.show(response, .details(response.key.detailRows))
        }
    }
}
