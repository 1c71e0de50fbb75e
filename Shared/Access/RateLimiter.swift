import Synchronization

/// A token bucket per API key, per process: each key gets `rate` calls per
/// second with bursts of up to `burst`. Service keys are not limited, so a
/// partner's burst cannot starve redemption's calls to the other services.
public final class RateLimiter: Sendable {
    public struct Configuration: Sendable {
        /// Calls per second for keys without their own limit; 0 turns limiting off.
        public var defaultRate: Int
        /// Bucket size for those keys; 0 means twice the rate.
        public var defaultBurst: Int

        public init(defaultRate: Int, defaultBurst: Int = 0) {
            self.defaultRate = defaultRate
            self.defaultBurst = defaultBurst
        }

        public static let unlimited = Configuration(defaultRate: 0)
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let configuration: Configuration
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Takes a token for `principal`; returns nil if the call may go ahead,
    /// else how long until a token is available.
    public func admit(_ principal: Principal, now: ContinuousClock.Instant = .now) -> Duration? {
        guard principal.role != .service, configuration.defaultRate > 0 else { return nil }
        let rate = Double(principal.rateLimitPerSecond > 0 ? principal.rateLimitPerSecond : configuration.defaultRate)
        let burst: Double =
            principal.rateLimitPerSecond == 0 && configuration.defaultBurst > 0
            ? Double(configuration.defaultBurst) : max(1, rate * 2)
        return buckets.withLock { buckets in
            var bucket = buckets[principal.keyId] ?? Bucket(tokens: burst, updated: now)
            let elapsed = bucket.updated.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + max(0, seconds) * rate)
            bucket.updated = now
            defer { buckets[principal.keyId] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            let wait = (1 - bucket.tokens) / rate
            return .microseconds(Int64((wait * 1_000_000).rounded(.up)))
        }
    }
}
