import ArgumentParser
import Foundation
import LaurelShared

/// Where Laurel is, who is calling and how to answer: the options every
/// command takes, each with an environment variable so a shell can set them
/// once (a flag wins).
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("members"), help: "host:port of the members service (env LAUREL_MEMBERS_ADDR)")
    var membersAddress: PeerAddress = Environment.peer("LAUREL_MEMBERS_ADDR", default: "127.0.0.1:50051")

    @Option(name: .customLong("catalog"), help: "host:port of the catalog service (env LAUREL_CATALOG_ADDR)")
    var catalogAddress: PeerAddress = Environment.peer("LAUREL_CATALOG_ADDR", default: "127.0.0.1:50052")

    @Option(name: .customLong("redemption"), help: "host:port of the redemption service (env LAUREL_REDEMPTION_ADDR)")
    var redemptionAddress: PeerAddress = Environment.peer("LAUREL_REDEMPTION_ADDR", default: "127.0.0.1:50053")

    @Option(name: .customLong("api-key"), help: "The API key to call with (env LAUREL_API_KEY)")
    var apiKey: String?

    @Option(
        name: .customLong("api-key-file"),
        help: ArgumentHelp("Read the API key from this file, so that it stays out of the shell's history.", valueName: "path"))
    var apiKeyFile: String?

    @Option(name: .customLong("timeout-ms"), help: "Deadline of each call, in milliseconds")
    var timeoutMilliseconds: Int = 5000

    @Flag(help: "Print the responses in the API's JSON mapping, and errors as a JSON object.")
    var json = false

    func validate() throws {
        guard timeoutMilliseconds > 0 else { throw ValidationError("--timeout-ms must be greater than zero") }
        _ = try resolvedAPIKey()
    }

    /// A flag beats the file, which beats the environment: the closer to the
    /// command line, the more deliberate.
    func resolvedAPIKey() throws -> String? {
        if apiKey != nil && apiKeyFile != nil {
            throw ValidationError("give --api-key or --api-key-file, not both")
        }
        if let apiKey {
            guard !apiKey.isEmpty else { throw ValidationError("--api-key is empty") }
            return apiKey
        }
        if let apiKeyFile {
            let contents: String
            do {
                contents = try String(contentsOfFile: apiKeyFile, encoding: .utf8)
            } catch {
                throw ValidationError("--api-key-file: cannot read \(apiKeyFile): \(error.localizedDescription)")
            }
            let key = contents.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty else { throw ValidationError("--api-key-file: \(apiKeyFile) is empty") }
            return key
        }
        return Environment.string("LAUREL_API_KEY")
    }

    /// Runs a command's calls, reporting any failure of theirs in the form
    /// the operator asked for and as exit status 1 (usage errors are 64).
    /// `idempotencyKey` is the key a mutating command sent, so that a failed
    /// or timed-out call can be repeated with it.
    func run(idempotencyKey: IdempotencyKey? = nil, _ body: (Laurel, Output) async throws -> Void) async throws {
        let output = Output(json: json)
        let laurel = try Laurel(
            members: membersAddress, catalog: catalogAddress, redemption: redemptionAddress,
            apiKey: resolvedAPIKey(), timeout: .milliseconds(timeoutMilliseconds))
        do {
            try await body(laurel, output)
            if let idempotencyKey, idempotencyKey.generated { output.noteRetry(with: idempotencyKey) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            output.report(error, idempotencyKey: idempotencyKey)
            throw ExitCode.failure
        }
    }
}
