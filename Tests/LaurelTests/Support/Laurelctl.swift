import Foundation
import Testing

/// One run of the built `laurelctl`: how it ended and what it printed.
struct LaurelctlRun: Sendable, CustomStringConvertible {
    let arguments: [String]
    let status: Int32
    let stdout: String
    let stderr: String

    /// Standard output as the JSON object `--json` prints.
    func json() throws -> [String: Any] {
        try Self.object(stdout, what: "stdout of laurelctl \(arguments.joined(separator: " "))")
    }

    /// Standard error as the JSON object `--json` prints for a failure.
    func errorJSON() throws -> [String: Any] {
        try Self.object(stderr, what: "stderr of laurelctl \(arguments.joined(separator: " "))")
    }

    /// The value of `field` in a "field  value" table of one resource, or nil
    /// when there is no such line.
    func detail(_ field: String) -> String? {
        for line in stdout.split(separator: "\n", omittingEmptySubsequences: false) where line.hasPrefix(field) {
            let rest = line.dropFirst(field.count)
            if rest.isEmpty { return "" }
            // The column gap is two spaces at least: one space means a longer
            // field name that merely starts with this one.
            if rest.hasPrefix("  ") { return rest.trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    var description: String { "laurelctl \(arguments.joined(separator: " ")) exited \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }

    private static func object(_ text: String, what: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw HarnessFailure("\(what) is not a JSON object: \(text)")
        }
        return object
    }
}

extension LaurelCluster {
    /// Runs `laurelctl arguments` against this cluster's three services, with
    /// `apiKey` when given and otherwise the cluster's own key.
    func laurelctl(_ arguments: String..., apiKey: String? = nil) async throws -> LaurelctlRun {
        var all = arguments + [
            "--members", "127.0.0.1:\(members.port)",
            "--catalog", "127.0.0.1:\(catalog.port)",
            "--redemption", "127.0.0.1:\(redemption.port)",
        ]
        all += ["--api-key", apiKey ?? operatorKey]
        return try await runLaurelctl(all)
    }
}

/// Runs the built `laurelctl` with exactly `arguments`, with none of the
/// caller's LAUREL_* settings, and waits up to `timeout` seconds for it.
func runLaurelctl(_ arguments: [String], timeout: TimeInterval = 60) async throws -> LaurelctlRun {
    let executable = ServiceProcess.binDirectory.appendingPathComponent("laurelctl")
    guard FileManager.default.isExecutableFile(atPath: executable.path) else {
        throw HarnessFailure("\(executable.path) is missing: build first (scripts/test does)")
    }
    // Files rather than pipes: a pipe that nobody reads would block a chatty
    // process.
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let stdoutFile = directory.appendingPathComponent("stdout")
    let stderrFile = directory.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
    _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)

    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LAUREL_") }
    process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
    process.standardError = try FileHandle(forWritingTo: stderrFile)
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        throw HarnessFailure("laurelctl \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
    }
    return LaurelctlRun(
        arguments: arguments, status: process.terminationStatus,
        stdout: try String(contentsOf: stdoutFile, encoding: .utf8),
        stderr: try String(contentsOf: stderrFile, encoding: .utf8))
}
