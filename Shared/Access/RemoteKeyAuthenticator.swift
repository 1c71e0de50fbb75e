import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Synchronization

/// Checks keys with the members service (AccessService.WhoAmI), remembering
/// each answer for `cacheSeconds` so that a busy key costs one remote check
/// per period, not one per call. A revoked key therefore keeps working here
/// for at most `cacheSeconds`.
///
/// While members cannot give an answer (stopped, restarting, too slow), a key
/// it confirmed within the last `cacheSeconds + staleSeconds` is still let
/// in: otherwise every restart of members would fail the other services'
/// callers whose check happened to fall due meanwhile. Only during such an
/// outage can a revoked key work that much longer. A key members refused is
/// forgotten at once, and one it never confirmed cannot get in while it is away.
public final class RemoteKeyAuthenticator: KeyAuthenticator {
    private let access: Laurel_V1_AccessService.Client<HTTP2ClientTransport.Posix>
    private let cacheSeconds: Int
    private let staleSeconds: Int
    private let timeout: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let cache = Mutex<[Data: (principal: Principal, checkedAt: ContinuousClock.Instant)]>([:])

    public init(
        client: GRPCClient<HTTP2ClientTransport.Posix>, cacheSeconds: Int, staleSeconds: Int = 0, timeout: Duration = .seconds(2),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.access = .init(wrapping: client)
        self.cacheSeconds = cacheSeconds
        self.staleSeconds = staleSeconds
        self.timeout = timeout
        self.now = now
    }

    public func authenticate(_ key: ApiKeySecret) async throws -> Principal {
        let id = key.hash
        let now = self.now()
        let cached = cache.withLock { $0[id] }
        if let cached, now < cached.checkedAt.advanced(by: .seconds(cacheSeconds)) { return cached.principal }
        let fallback = cached.flatMap { now < $0.checkedAt.advanced(by: .seconds(cacheSeconds + staleSeconds)) ? $0.principal : nil }

        var options = CallOptions.defaults
        options.timeout = timeout
        // With nothing to fall back on, waiting (up to `timeout`) for a
        // connection that is coming back beats failing at once; with a
        // fallback, a call should not wait for members at all.
        options.waitForReady = fallback == nil
        let principal: Principal
        do {
            let response = try await access.whoAmI(
                request: ClientRequest(message: .init(), metadata: ["authorization": "Bearer \(key.text)"]),
                options: options)
            principal = try Principal(response.key)
        } catch let error as RPCError where error.code == .unauthenticated {
            cache.withLock { _ = $0.removeValue(forKey: id) }
            throw AccessError.invalidKey
        } catch let error as RPCError {
            if let fallback { return fallback }
            throw AccessError.authUnavailable("members: \(error.code)")
        }
        if cacheSeconds > 0 || staleSeconds > 0 {
            cache.withLock { cache in
                // Keys are few; stale entries of revoked or unused keys are dropped wholesale.
                if cache.count > 10_000 { cache.removeAll() }
                cache[id] = (principal, now)
            }
        }
        return principal
    }
}
