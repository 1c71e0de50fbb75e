import GRDB
import LaurelShared

extension Redemptions {
    /// Counts a saga reaching COMPLETED, FAILED or CANCELLED once that step
    /// is committed: a write that rolls back counts nothing.
    func countOutcome(_ db: Database, reaching step: SagaStep) {
        let outcome: RedemptionMetrics.Outcome
        switch step {
        case .completed: outcome = .completed
        case .failed: outcome = .failed
        case .cancelled: outcome = .cancelled
        case .pending, .stockReserved, .pointsHeld, .compensating, .cancelling: return
        }
        let outcomes = self.outcomes
        db.afterCommit { outcomes.reached(outcome) }
    }
}
