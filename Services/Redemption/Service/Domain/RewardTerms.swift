import LaurelShared
import Synchronization

/// The terms each reward's last reservation was granted on, so that the next
/// redemption of it can hold the points while its stock is being reserved
/// instead of after. The catalog's answer stays the authority: a redemption
/// whose hold was priced on terms that no longer hold gives both back and
/// starts again on the new ones.
final class RewardTerms: Sendable {
    /// How long a reward's terms are trusted without a reservation to confirm them.
    static let trustedSeconds: Int64 = 60
    /// More rewards than this at once and the memory goes back to empty.
    static let capacity = 10_000

    private let entries = Mutex<[String: (terms: ReservedStock, at: Instant)]>([:])

    func recent(_ rewardId: String, now: Instant) -> ReservedStock? {
        entries.withLock { entries in
            guard let entry = entries[rewardId], now.adding(seconds: -Self.trustedSeconds) <= entry.at else { return nil }
            return entry.terms
        }
    }

    func remember(_ rewardId: String, _ terms: ReservedStock, now: Instant) {
        entries.withLock { entries in
            if entries.count >= Self.capacity, entries[rewardId] == nil { entries.removeAll(keepingCapacity: true) }
            entries[rewardId] = (terms, now)
        }
    }

    /// After a refusal (out of stock, a member's limit reached, withdrawn):
    /// the next redemption asks the catalog first, so that a reward nobody
    /// can have does not hold and release points on every attempt.
    func forget(_ rewardId: String) {
        _ = entries.withLock { $0.removeValue(forKey: rewardId) }
    }
}
