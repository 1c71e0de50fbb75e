import ArgumentParser
import GRPCCore
import GRPCNIOTransportHTTP2Posix

/// How a service other than members checks API keys: by asking members.
public struct RemoteAuthOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("members-address"), help: "host:port of laurel-members, which checks API keys (env LAUREL_MEMBERS_ADDRESS).")
    public var membersAddress: PeerAddress = Environment.peer("LAUREL_MEMBERS_ADDRESS", default: "127.0.0.1:50051")

    @Option(name: .customLong("auth-cache-seconds"), help: "How long a checked key is trusted before members is asked again; a revoked key works here at most this long (env LAUREL_AUTH_CACHE_SECONDS).")
    public var authCacheSeconds: Int = Environment.int("LAUREL_AUTH_CACHE_SECONDS") ?? 10

    public init() {}

    public func validate() throws {
        guard (0...3600).contains(authCacheSeconds) else { throw ValidationError("--auth-cache-seconds must be 0...3600") }
    }

    /// `client` must not send a key of its own: the caller's key is the
    /// one being checked.
    public func authenticator(_ client: GRPCClient<HTTP2ClientTransport.Posix>) -> RemoteKeyAuthenticator {
        RemoteKeyAuthenticator(client: client, cacheSeconds: authCacheSeconds)
    }
}
