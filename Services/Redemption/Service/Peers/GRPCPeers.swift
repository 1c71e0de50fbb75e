import GRPCCore
import LaurelShared

/// The catalog service over gRPC.
public struct GRPCCatalogPeer<Transport: ClientTransport>: CatalogPeer {
    let client: Laurel_V1_CatalogService.Client<Transport>
    let options: CallOptions

    /// Every call carries `timeout` as its deadline.
    public init(client: GRPCClient<Transport>, timeout: Duration) {
        self.client = Laurel_V1_CatalogService.Client(wrapping: client)
        var options = CallOptions.defaults
        options.timeout = timeout
        self.options = options
    }

    public func reserve(rewardId: String, quantity: Int64, reservationId: String, memberId: String, ttlSeconds: Int64) async throws(PeerError) -> ReservedStock {
        try await peerCall("catalog") {
            let reserved = try await client.reserveStock(.with {
                $0.rewardID = rewardId
                $0.quantity = quantity
                $0.reservationID = reservationId
                $0.memberID = memberId
                $0.ttlSeconds = ttlSeconds
            }, options: options)
            return ReservedStock(unitCostPoints: reserved.reservation.unitCostPoints, minTier: reserved.reward.minTier)
        }
    }

    public func commit(reservationId: String) async throws(PeerError) {
        try await peerCall("catalog") { _ = try await client.commitReservation(.with { $0.reservationID = reservationId }, options: options) }
    }

    public func release(reservationId: String) async throws(PeerError) {
        try await peerCall("catalog") { _ = try await client.releaseReservation(.with { $0.reservationID = reservationId }, options: options) }
    }

    public func restock(reservationId: String) async throws(PeerError) {
        try await peerCall("catalog") { _ = try await client.restockReservation(.with { $0.reservationID = reservationId }, options: options) }
    }
}

/// The members service over gRPC.
public struct GRPCMembersPeer<Transport: ClientTransport>: MembersPeer {
    let client: Laurel_V1_MemberService.Client<Transport>
    let options: CallOptions

    /// Every call carries `timeout` as its deadline.
    public init(client: GRPCClient<Transport>, timeout: Duration) {
        self.client = Laurel_V1_MemberService.Client(wrapping: client)
        var options = CallOptions.defaults
        options.timeout = timeout
        self.options = options
    }

    public func hold(
        memberId: String, holdId: String, points: Points, ttlSeconds: Int64, reason: String, minTier: String,
        redemptionId: String, partnerId: String
    ) async throws(PeerError) {
        try await peerCall("members") {
            _ = try await client.holdPoints(.with {
                $0.memberID = memberId
                $0.holdID = holdId
                $0.points = points
                $0.ttlSeconds = ttlSeconds
                $0.reason = reason
                $0.minTier = minTier
                $0.redemptionID = redemptionId
                $0.partnerID = partnerId
            }, options: options)
        }
    }

    public func capture(holdId: String) async throws(PeerError) {
        try await peerCall("members") { _ = try await client.captureHold(.with { $0.holdID = holdId }, options: options) }
    }

    public func release(holdId: String) async throws(PeerError) {
        try await peerCall("members") { _ = try await client.releaseHold(.with { $0.holdID = holdId }, options: options) }
    }

    public func refund(holdId: String) async throws(PeerError) {
        try await peerCall("members") { _ = try await client.refundHold(.with { $0.holdID = holdId }, options: options) }
    }
}

/// Sorts a peer's failures into a refusal (the peer answered no, and did
/// nothing) and everything else, where the call may or may not have happened.
func peerCall<T>(_ peer: String, _ body: () async throws -> T) async throws(PeerError) -> T {
    do {
        return try await body()
    } catch let error as RPCError {
        switch error.code {
        case .invalidArgument, .notFound, .alreadyExists, .failedPrecondition, .outOfRange, .permissionDenied, .unauthenticated:
            let info = error.laurelErrorInfo
            throw .refused(
                code: error.code.rawValue, reason: info?.reason ?? "\(error.code)".uppercased(),
                message: error.message, metadata: info?.metadata ?? [:])
        default:
            throw .unavailable(peer: peer, detail: "\(error.code): \(error.message)")
        }
    } catch {
        throw .unavailable(peer: peer, detail: "\(error)")
    }
}
