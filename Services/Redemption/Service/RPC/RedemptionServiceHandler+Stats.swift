import GRPCCore
import LaurelShared

extension RedemptionServiceHandler {
    public func getRedemptionStats(
        request: Laurel_V1_GetRedemptionStatsRequest, context: ServerContext
    ) async throws -> Laurel_V1_GetRedemptionStatsResponse {
        let range = try TimeRange(
            from: request.hasFrom ? request.from : nil, to: request.hasTo ? request.to : nil, now: redemptions.clock.now)
        let stats = try await redemptions.stats(range, top: Top.validated(request.top))
        return .with {
            $0.stats = .with {
                $0.redemptionsTotal = stats.redemptionsTotal
                $0.redemptionsByStatus = stats.redemptionsByStatus
                $0.pointsSpent = stats.pointsSpent
                $0.membersRedeeming = stats.membersRedeeming
                $0.vouchersUsed = stats.vouchersUsed
                $0.topRewards = stats.topRewards.map { reward in
                    .with {
                        $0.rewardID = reward.rewardId
                        $0.redemptions = reward.redemptions
                        $0.units = reward.units
                        $0.points = reward.points
                    }
                }
            }
        }
    }
}
