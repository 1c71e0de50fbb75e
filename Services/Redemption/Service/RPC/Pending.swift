import GRPCCore
import LaurelShared

// PENDING (issue 7): replaced by the statistics and privacy work.
extension RedemptionServiceHandler {
    public func getRedemptionStats(request: Laurel_V1_GetRedemptionStatsRequest, context: ServerContext) async throws -> Laurel_V1_GetRedemptionStatsResponse {
        throw RPCError(code: .unimplemented, message: "not yet")
    }
}
