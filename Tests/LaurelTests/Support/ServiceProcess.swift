import Foundation
import Synchronization
import Testing

/// One of Laurel's executables, started as its own process on 127.0.0.1 at a
/// free port, with its logs in a file. Always `stop()` it.
final class ServiceProcess: @unchecked Sendable {
    let name: String
    let port: Int
    /// The admin HTTP port, when started with `--metrics-port`.
    let metricsPort: Int?
    let logFile: URL
    /// Its standard output up to the lines it was waited for.
    let startupOutput: String
    private let process: Process

    private init(name: String, port: Int, metricsPort: Int? = nil, logFile: URL, startupOutput: String, process: Process) {
        self.name = name
        self.port = port
        self.metricsPort = metricsPort
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
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
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

        let markers = ["listening on"] + (arguments.contains("--metrics-port") ? ["metrics on"] : [])
        let (lines, output) = try await readLines(from: stdout.fileHandleForReading, containing: markers, timeout: 60)
        let metricsPort = lines["metrics on"].flatMap { $0.split(separator: ":").last.flatMap { Int($0) } }
        guard let line = lines["listening on"], let port = line.split(separator: ":").last.flatMap({ Int($0) }),
            markers.count == lines.count
        else {
            process.terminate()
            let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            throw HarnessFailure("\(name) did not report its port; log:\n\(log)")
        }
        #expect(line == "\(name) listening on 127.0.0.1:\(port)")
        if let metricsLine = lines["metrics on"] { #expect(metricsLine == "\(name) metrics on 127.0.0.1:\(metricsPort ?? -1)") }
        return ServiceProcess(name: name, port: port, metricsPort: metricsPort, logFile: logFile, startupOutput: output, process: process)
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

    /// The first line containing each marker, by marker. Reads on a thread of
    /// its own, since a pipe read blocks until the process writes or exits;
    /// gives up after `timeout` seconds, returning what it found, and the
    /// whole output read so far.
    private static func readLines(
        from handle: FileHandle, containing markers: [String], timeout: TimeInterval
    ) async throws -> (lines: [String: String], output: String) {
        let found = Mutex<[String: String]>([:])
        let output = Mutex("")
        Thread.detachNewThread {
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return }
                buffer.append(chunk)
                guard let text = String(data: buffer, encoding: .utf8) else { continue }
                let complete = text[..<(text.lastIndex(of: "\n") ?? text.startIndex)].split(separator: "\n")
                var lines: [String: String] = [:]
                for marker in markers {
                    if let line = complete.first(where: { $0.contains(marker) }) { lines[marker] = String(line) }
                }
                output.withLock { $0 = complete.joined(separator: "\n") }
                found.withLock { $0 = lines }
                if lines.count == markers.count { return }
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let lines = found.withLock { $0 }
            if lines.count == markers.count { return (lines, output.withLock { $0 }) }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (found.withLock { $0 }, output.withLock { $0 })
    }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("laurel-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
