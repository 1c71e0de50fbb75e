import ArgumentParser
import GRPCCore
import GRPCNIOTransportHTTP2Posix

/// How a service other than members checks API keys: by asking members.
public struct RemoteAuthOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("members-address"), help: "host:port of laurel-members, which checks API keys (env LAUREL_MEMBERS_ADDRESS).")
    public var membersAddress: PeerAddress = Environment.peer("LAUREL_MEMBERS_ADDRESS", default: "127.0.0.1:50051")

    @Option(name: .customLong("auth-cache-seconds"), help: "How long a checked key is trusted before members is asked again; a revoked key works here at most this long (env LAUREL_AUTH_CACHE_SECONDS).")
    public var authCacheSeconds: Int = Environment.int("LAUREL_AUTH_CACHE_SECONDS") ?? 10

    @Option(name: .customLong("auth-stale-seconds"), help: "While members cannot answer, a key it confirmed within --auth-cache-seconds plus this long is still let in; 0 fails such calls UNAVAILABLE instead (env LAUREL_AUTH_STALE_SECONDS).")
    public var authStaleSeconds: Int = Environment.int("LAUREL_AUTH_STALE_SECONDS") ?? 60

    public init() {}

    public func validate() throws {
        guard (0...3600).contains(authCacheSeconds) else { throw ValidationError("--auth-cache-seconds must be 0...3600") }
        guard (0...86_400).contains(authStaleSeconds) else { throw ValidationError("--auth-stale-seconds must be 0...86400") }
    }

    /// `client` must not send a key of its own: the caller's key is the
    /// one being checked.
    public func authenticator(_ client: GRPCClient<HTTP2ClientTransport.Posix>) -> RemoteKeyAuthenticator {
        RemoteKeyAuthenticator(client: client, cacheSeconds: authCacheSeconds, staleSeconds: authStaleSeconds)
    }
}
