import GRPCCore
import LaurelShared

// PENDING (issue 7): replaced by the statistics and privacy work.
extension MemberServiceHandler {
    public func exportMemberData(request: Laurel_V1_ExportMemberDataRequest, context: ServerContext) async throws -> Laurel_V1_ExportMemberDataResponse {
        throw RPCError(code: .unimplemented, message: "not yet")
    }

    public func eraseMemberData(request: Laurel_V1_EraseMemberDataRequest, context: ServerContext) async throws -> Laurel_V1_EraseMemberDataResponse {
        throw RPCError(code: .unimplemented, message: "not yet")
    }
}

extension ProgramServiceHandler {
    public func getProgramStats(request: Laurel_V1_GetProgramStatsRequest, context: ServerContext) async throws -> Laurel_V1_GetProgramStatsResponse {
        throw RPCError(code: .unimplemented, message: "not yet")
    }
}
