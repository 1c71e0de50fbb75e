import GRDB
import LaurelShared

extension Redemptions {
    /// Counts a saga reaching COMPLETED, FAILED or CANCELLED once that step
    /// is committed: a write that rolls back counts nothing. An attempt that
    /// held points on a reward's old terms and was given back only to start
    /// again on the new ones is no failure: its request goes on (`redeem`
    /// counts it if the retry fails the same way).
    func countOutcome(_ db: Database, reaching step: SagaStep, failure: RedemptionFailure? = nil) {
        let outcome: RedemptionMetrics.Outcome
        switch step {
        case .completed: outcome = .completed
        case .failed where failure?.reason == RedemptionError.rewardTermsChangedReason: return
        case .failed: outcome = .failed
        case .cancelled: outcome = .cancelled
        case .pending, .stockReserved, .pointsHeld, .compensating, .cancelling: return
        }
        let outcomes = self.outcomes
        db.afterCommit { outcomes.reached(outcome) }
    }
}
