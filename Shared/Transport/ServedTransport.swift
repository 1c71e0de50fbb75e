import ArgumentParser
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore

/// Which HTTP/2 transport a service's gRPC server uses.
public enum TransportChoice: String, CaseIterable, Sendable {
    /// grpc-swift-nio-transport's: a child channel and async bridges per stream.
    case nio
    /// Laurel's own (`FrameServerTransport`): every stream on its connection's
    /// channel, 1.2–2.8× the calls per second of `nio` (docs/performance.md).
    case frames

    /// What a server runs on unless told otherwise.
    public static let `default` = TransportChoice.frames

    /// The choice environment variable `name` makes, or the default.
    public static func environment(_ name: String) -> TransportChoice {
        Environment.string(name).flatMap(TransportChoice.init(rawValue:)) ?? .default
    }

    /// Refuses a value of `name` that names no transport, rather than
    /// falling back to the default unnoticed.
    public static func validateEnvironment(_ name: String) throws {
        if let text = Environment.string(name), TransportChoice(rawValue: text) == nil {
            throw ValidationError("\(name) must be one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }
}

/// A server transport that can say where it listens.
public protocol AddressedServerTransport: ServerTransport {
    /// `host:port` once listening; nil if it stopped before.
    var boundAddress: String? { get async }
}

extension FrameServerTransport: AddressedServerTransport {
    public var boundAddress: String? {
        get async {
            await listeningAddress?.hostAndPort
        }
    }
}

extension HTTP2ServerTransport.Posix: AddressedServerTransport {
    public var boundAddress: String? {
        get async {
            guard let address = try? await listeningAddress else { return nil }
            if let ipv4 = address.ipv4 { return "\(ipv4.host):\(ipv4.port)" }
            if let ipv6 = address.ipv6 { return "[\(ipv6.host)]:\(ipv6.port)" }
            return "\(address)"
        }
    }
}

/// A gRPC server as the executables run it, whichever transport it has.
public protocol LaurelServing: Sendable {
    func serve() async throws
    func beginGracefulShutdown()
    var boundAddress: String? { get async }
}

extension GRPCServer: LaurelServing where Transport: AddressedServerTransport {
    public var boundAddress: String? {
        get async { await transport.boundAddress }
    }
}
