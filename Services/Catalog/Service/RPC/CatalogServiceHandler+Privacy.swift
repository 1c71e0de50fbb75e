import GRPCCore
import LaurelShared

extension CatalogServiceHandler {
    public func exportMemberReservations(
        request: Laurel_V1_ExportMemberReservationsRequest, context: ServerContext
    ) async throws -> Laurel_V1_ExportMemberReservationsResponse {
        let reservations = try await catalog.reservations(ofMember: request.memberID)
        return .with { $0.reservations = reservations.map(Laurel_V1_Reservation.init) }
    }

    public func eraseMemberReservations(
        request: Laurel_V1_EraseMemberReservationsRequest, context: ServerContext
    ) async throws -> Laurel_V1_EraseMemberReservationsResponse {
        let erased = try await catalog.eraseReservations(
            ofMember: request.memberID, requestId: request.requestID, reason: "member erasure", keyId: Principal.current?.keyId ?? "")
        return .with { $0.reservationsErased = Int64(erased) }
    }
}
