import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Synchronization

/// Checks keys with the members service (AccessService.WhoAmI), remembering
/// each answer for `cacheSeconds` so that a busy key costs one remote check
/// per period, not one per call. A revoked key therefore keeps working here
/// for at most `cacheSeconds`.
public final class RemoteKeyAuthenticator: KeyAuthenticator {
    private let access: Laurel_V1_AccessService.Client<HTTP2ClientTransport.Posix>
    private let cacheSeconds: Int
    private let timeout: Duration
    private let cache = Mutex<[Data: (principal: Principal, until: ContinuousClock.Instant)]>([:])

    public init(client: GRPCClient<HTTP2ClientTransport.Posix>, cacheSeconds: Int, timeout: Duration = .seconds(2)) {
        self.access = .init(wrapping: client)
        self.cacheSeconds = cacheSeconds
        self.timeout = timeout
    }

    public func authenticate(_ key: ApiKeySecret) async throws -> Principal {
        let id = key.hash
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0[id] }), hit.until > now { return hit.principal }

        var options = CallOptions.defaults
        options.timeout = timeout
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
            throw AccessError.authUnavailable("members: \(error.code)")
        }
        if cacheSeconds > 0 {
            cache.withLock { cache in
                // Keys are few; stale entries of revoked or unused keys are dropped wholesale.
                if cache.count > 10_000 { cache.removeAll() }
                cache[id] = (principal, now.advanced(by: .seconds(cacheSeconds)))
            }
        }
        return principal
    }
}
