import GRDB
import LaurelShared

extension MemberAccounts {
    /// Counts the points a ledger entry issues, redeems or refunds once its
    /// transaction commits, so that a call that fails and rolls back counts
    /// nothing; an idempotent replay never reaches the ledger at all.
    func countPoints(_ db: Database, _ kind: LedgerKind, available: Points, held: Points) {
        let metrics = pointsMetrics
        switch kind {
        case .earn, .bonus:
            db.afterCommit { metrics.issued(available) }
        case .adjust where available > 0:
            db.afterCommit { metrics.issued(available) }
        case .capture:
            db.afterCommit { metrics.redeemed(-held) }
        case .refund:
            db.afterCommit { metrics.refunded(available) }
        case .adjust, .hold, .release, .expireHold, .reverse, .expire:
            break
        }
    }
}
