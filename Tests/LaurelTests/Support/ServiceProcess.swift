import Foundation
import Synchronization
import Testing

/// One of Laurel's executables, started as its own process on 127.0.0.1 at a
/// free port, with its logs in a file. Always `stop()` it.
final class ServiceProcess: @unchecked Sendable {
    let name: String
    let port: Int
    let logFile: URL
    /// What it printed to standard output up to and including its
    /// "listening on" line.
    let startupOutput: String
    private let process: Process

    private init(name: String, port: Int, logFile: URL, startupOutput: String, process: Process) {
        self.name = name
        self.port = port
        self.logFile = logFile
        self.startupOutput = startupOutput
        self.process = process
    }

    /// The operator key a first start of members prints once.
    var bootstrapOperatorKey: String? {
        startupOutput.split(separator: "\n").first { $0.contains("bootstrap operator key") }
            .flatMap { $0.split(separator: " ").last.map(String.init) }
    }

    /// The directory holding the built executables: `LAUREL_BIN_DIR`, or this
    /// checkout's `.build/debug`.
    static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["LAUREL_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug")
    }

    /// Starts `name` with `--host 127.0.0.1 --port 0 --data-dir dataDirectory`
    /// and waits for the line that gives its port.
    static func start(
        _ name: String, dataDirectory: URL, port: Int = 0, arguments: [String] = [], environment: [String: String] = [:]
    ) async throws -> ServiceProcess {
        let executable = binDirectory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw HarnessFailure("\(executable.path) is missing: build first (scripts/test does)")
        }
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let logFile = dataDirectory.appendingPathComponent("\(name).log")
        if !FileManager.default.fileExists(atPath: logFile.path) {
            FileManager.default.createFile(atPath: logFile.path, contents: nil)
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--host", "127.0.0.1", "--port", "\(port)", "--data-dir", dataDirectory.path] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let stdout = Pipe()
        process.standardOutput = stdout
        let log = try FileHandle(forWritingTo: logFile)
        log.seekToEndOfFile()
        process.standardError = log
        try process.run()

        let output = try await readLine(from: stdout.fileHandleForReading, containing: "listening on", timeout: 60)
        let line = output?.split(separator: "\n").last.map(String.init)
        guard let output, let line, let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            process.terminate()
            let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            throw HarnessFailure("\(name) did not report its port; log:\n\(log)")
        }
        #expect(line == "\(name) listening on 127.0.0.1:\(port)")
        return ServiceProcess(name: name, port: port, logFile: logFile, startupOutput: output, process: process)
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; returns the exit status.
    @discardableResult
    func stop(grace: TimeInterval = 15) async -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -9
        }
        return process.terminationStatus
    }

    var isRunning: Bool { process.isRunning }

    /// Waits up to `timeout` seconds for the process to end by itself.
    func waitForExit(timeout: TimeInterval) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !process.isRunning
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// The output up to the first line containing `marker`. Reads on a
    /// thread of its own, since a pipe read blocks until the process writes
    /// or exits; gives up after `timeout` seconds.
    private static func readLine(from handle: FileHandle, containing marker: String, timeout: TimeInterval) async throws -> String? {
        let found = Mutex<String?>(nil)
        Thread.detachNewThread {
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return }
                buffer.append(chunk)
                if let text = String(data: buffer, encoding: .utf8),
                    let index = text.split(separator: "\n").firstIndex(where: { $0.contains(marker) })
                {
                    found.withLock { $0 = text.split(separator: "\n")[...index].joined(separator: "\n") }
                    return
                }
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = found.withLock({ $0 }) { return line }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("laurel-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
