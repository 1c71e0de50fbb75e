import ArgumentParser
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LaurelShared

/// Asks a server's standard grpc.health.v1 service whether it is serving, and
/// exits 0 only if it is: for start-up scripts, container probes and operators.
@main
struct HealthProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laurel-health-probe",
        abstract: "Exit 0 if a gRPC server reports SERVING, 1 otherwise.")

    @Argument(help: "host:port of the server.")
    var address: PeerAddress

    @Option(help: "The service to ask about; empty means the server as a whole.")
    var service: String = ""

    @Option(name: .customLong("timeout-ms"), help: "Give up after this long.")
    var timeoutMilliseconds: Int = 2000

    func run() async throws {
        let status = try await withGRPCClient(
            transport: .http2NIOPosix(target: .dns(host: address.host, port: address.port), transportSecurity: .plaintext)
        ) { client in
            var options = CallOptions.defaults
            options.timeout = .milliseconds(timeoutMilliseconds)
            return try await Grpc_Health_V1_Health.Client(wrapping: client).check(.with { $0.service = service }, options: options).status
        }
        print("\(address): \(status)")
        if status != .serving { throw ExitCode.failure }
    }
}
