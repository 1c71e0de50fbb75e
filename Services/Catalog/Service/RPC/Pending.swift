import GRPCCore
import LaurelShared

// PENDING (issue 7): replaced by the statistics and privacy work.
extension CatalogServiceHandler {
    public func getCatalogStats(request: Laurel_V1_GetCatalogStatsRequest, context: ServerContext) async throws -> Laurel_V1_GetCatalogStatsResponse {
        throw RPCError(code: .unimplemented, message: "not yet")
    }

    public func exportMemberReservations(
        request: Laurel_V1_ExportMemberReservationsRequest, context: ServerContext
    ) async throws -> Laurel_V1_ExportMemberReservationsResponse {
        throw RPCError(code: .unimplemented, message: "not yet")
    }

    public func eraseMemberReservations(
        request: Laurel_V1_EraseMemberReservationsRequest, context: ServerContext
    ) async throws -> Laurel_V1_EraseMemberReservationsResponse {
        throw RPCError(code: .unimplemented, message: "not yet")
    }
}
