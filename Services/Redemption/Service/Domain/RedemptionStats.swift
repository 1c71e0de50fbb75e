import GRDB
import LaurelShared

/// Redemptions created within a time range (see GetRedemptionStats).
public struct RedemptionStats: Sendable, Equatable {
    public var redemptionsTotal: Int64
    public var redemptionsByStatus: [String: Int64]
    public var pointsSpent: Int64
    public var membersRedeeming: Int64
    public var vouchersUsed: Int64
    public var topRewards: [RedeemedReward]
}

public struct RedeemedReward: Sendable, Equatable {
    public var rewardId: String
    public var redemptions: Int64
    public var units: Int64
    public var points: Int64
}

extension Redemptions {
    public func stats(_ range: TimeRange, top: Int) async throws -> RedemptionStats {
        try await database.writer.read { db in
            let bySteps = try Row.fetchAll(
                db, sql: "SELECT step, COUNT(*) FROM redemption WHERE created_at >= ? AND created_at < ? GROUP BY step",
                arguments: [range.from, range.to])
            var byStatus: [String: Int64] = [:]
            for row in bySteps {
                guard let step = SagaStep(rawValue: row[0]) else { continue }
                byStatus[step.status.rawValue, default: 0] += row[1]
            }
            let completed = try Row.fetchOne(
                db,
                sql: """
                    SELECT COALESCE(SUM(points_spent), 0), COUNT(DISTINCT member_id), COALESCE(SUM(voucher_used_at IS NOT NULL), 0)
                    FROM redemption WHERE step = 'COMPLETED' AND created_at >= ? AND created_at < ?
                    """,
                arguments: [range.from, range.to])!
            let top = try Row.fetchAll(
                db,
                sql: """
                    SELECT reward_id, COUNT(*) AS redemptions, SUM(quantity), SUM(points_spent) FROM redemption
                    WHERE step = 'COMPLETED' AND created_at >= ? AND created_at < ?
                    GROUP BY reward_id ORDER BY redemptions DESC, reward_id LIMIT ?
                    """,
                arguments: [range.from, range.to, top])
            return RedemptionStats(
                redemptionsTotal: byStatus.values.reduce(0, +), redemptionsByStatus: byStatus, pointsSpent: completed[0],
                membersRedeeming: completed[1], vouchersUsed: completed[2],
                topRewards: top.map { RedeemedReward(rewardId: $0[0], redemptions: $0[1], units: $0[2], points: $0[3]) })
        }
    }
}
