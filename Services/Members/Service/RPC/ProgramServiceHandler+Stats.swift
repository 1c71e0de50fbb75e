import GRPCCore
import LaurelShared

extension ProgramServiceHandler {
    public func getProgramStats(request: Laurel_V1_GetProgramStatsRequest, context: ServerContext) async throws -> Laurel_V1_GetProgramStatsResponse {
        let range = try TimeRange(
            from: request.hasFrom ? request.from : nil, to: request.hasTo ? request.to : nil, now: accounts.clock.now)
        let stats = try await accounts.programStats(range, activeDays: Int(request.activeDays))
        return .with {
            $0.stats = .with {
                $0.membersTotal = stats.membersTotal
                $0.membersEnrolled = stats.membersEnrolled
                $0.membersActive = stats.membersActive
                $0.pointsIssued = stats.pointsIssued
                $0.pointsRedeemed = stats.pointsRedeemed
                $0.pointsExpired = stats.pointsExpired
                $0.pointsReversed = stats.pointsReversed
                $0.pointsOutstanding = stats.pointsOutstanding
                if let liability = stats.liability { $0.liability = .init(liability) }
                $0.redemptionRateBasisPoints = stats.redemptionRateBasisPoints
                $0.membersByTier = stats.membersByTier
            }
        }
    }
}
