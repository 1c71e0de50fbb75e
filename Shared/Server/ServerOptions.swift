import ArgumentParser
import Foundation
import Logging

/// Options every executable takes. Each also reads an environment variable,
/// so a service can be configured either way; a flag wins.
public struct ServerOptions: ParsableArguments, Sendable {
    @Option(help: "Address to bind (env LAUREL_HOST).")
    public var host: String = Environment.string("LAUREL_HOST") ?? "127.0.0.1"

    @Option(name: .customLong("data-dir"), help: "Directory of the SQLite database (env LAUREL_DATA_DIR).")
    public var dataDirectory: String = Environment.string("LAUREL_DATA_DIR") ?? "./data"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env LAUREL_LOG_LEVEL).")
    public var logLevel: String = Environment.string("LAUREL_LOG_LEVEL") ?? "info"

    @Option(name: .customLong("rate-limit-per-second"), help: "Calls per second per API key without its own limit; 0 turns limiting off (env LAUREL_RATE_LIMIT_PER_SECOND).")
    public var rateLimitPerSecond: Int = Environment.int("LAUREL_RATE_LIMIT_PER_SECOND") ?? 1000

    @Option(name: .customLong("rate-limit-burst"), help: "Calls a key may make at once before the rate applies; 0 means twice the rate (env LAUREL_RATE_LIMIT_BURST).")
    public var rateLimitBurst: Int = Environment.int("LAUREL_RATE_LIMIT_BURST") ?? 0

    @Option(name: .customLong("max-request-bytes"), help: "Largest request message accepted; larger ones get RESOURCE_EXHAUSTED (env LAUREL_MAX_REQUEST_BYTES).")
    public var maxRequestBytes: Int = Environment.int("LAUREL_MAX_REQUEST_BYTES") ?? 1_048_576

    @Option(name: .customLong("metrics-port"), help: "Port of the admin HTTP server with GET /metrics, on --host; 0 picks a free one; none if unset (env LAUREL_METRICS_PORT).")
    var metricsPortFlag: Int?
    // An optional option may not have a default, so the variable is read here.
    public var metricsPort: Int? { metricsPortFlag ?? Environment.int("LAUREL_METRICS_PORT") }

    @Option(name: .customLong("group-commit-batch"), help: "Most concurrent writes committed together in one transaction (one fsync); 1 turns group commit off (env LAUREL_GROUP_COMMIT_BATCH).")
    public var groupCommitBatch: Int = Environment.int("LAUREL_GROUP_COMMIT_BATCH") ?? 256

    @Option(help: "HTTP/2 transport of the gRPC server: frames (Laurel's own, every stream on its connection's channel, the default; see docs/performance.md) or nio (grpc-swift-nio-transport's) (env LAUREL_TRANSPORT).")
    public var transport: TransportChoice = TransportChoice.environment("LAUREL_TRANSPORT")

    @Option(name: .customLong("shutdown-grace-seconds"), help: "After SIGTERM or SIGINT, how long calls in flight may take to finish before they are cancelled (env LAUREL_SHUTDOWN_GRACE_SECONDS).")
    public var shutdownGraceSeconds: Int = Environment.int("LAUREL_SHUTDOWN_GRACE_SECONDS") ?? 20

    public var shutdownGrace: Duration { .seconds(shutdownGraceSeconds) }

    public init() {}

    public func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard rateLimitPerSecond >= 0, rateLimitBurst >= 0 else { throw ValidationError("rate limits must not be negative") }
        guard (1024...67_108_864).contains(maxRequestBytes) else { throw ValidationError("--max-request-bytes must be 1024...67108864") }
        if let metricsPort, !(0...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be 0...65535") }
        try TransportChoice.validateEnvironment("LAUREL_TRANSPORT")
        guard (1...10_000).contains(groupCommitBatch) else { throw ValidationError("--group-commit-batch must be 1...10000") }
        guard (1...3600).contains(shutdownGraceSeconds) else { throw ValidationError("--shutdown-grace-seconds must be 1...3600") }
    }

    /// Sends logs to standard error, leaving standard output for the
    /// "listening on" line that scripts and tests read.
    public func bootstrapLogging(label: String) -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}

extension TransportChoice: ExpressibleByArgument {}

/// A peer service's address, "host:port".
public struct PeerAddress: ExpressibleByArgument, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init?(argument: String) {
        guard let colon = argument.lastIndex(of: ":"), let port = Int(argument[argument.index(after: colon)...]),
            (1...65535).contains(port), colon != argument.startIndex
        else { return nil }
        self.host = String(argument[..<colon])
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
    public var defaultValueDescription: String { description }
}

public enum Environment {
    public static func string(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// A malformed value stops the program rather than being silently ignored.
    public static func int(_ name: String) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text) else {
            FileHandle.standardError.write(Data("error: \(name)='\(text)' is not a whole number\n".utf8))
            exit(64)
        }
        return value
    }

    public static func peer(_ name: String, default fallback: String) -> PeerAddress {
        let text = string(name) ?? fallback
        guard let address = PeerAddress(argument: text) else {
            FileHandle.standardError.write(Data("error: \(name)='\(text)' is not host:port\n".utf8))
            exit(64)
        }
        return address
    }
}
