import GRPCCore
import LaurelShared

/// The catalog service over gRPC.
///
/// Reservations and commits, the saga's steps on every redemption, go in
/// batch calls (`CallBatcher`); the rarer steps of compensation and
/// cancellation go one by one.
public struct GRPCCatalogPeer<Transport: ClientTransport>: CatalogPeer {
    let client: Laurel_V1_CatalogService.Client<Transport>
    let options: CallOptions
    private let reservations: CallBatcher<Laurel_V1_ReserveStockRequest, ReservedStock>
    private let commits: CallBatcher<Laurel_V1_CommitReservationRequest, Void>

    /// Every call carries `timeout` as its deadline; nil for a client whose
    /// transport gives every call one itself (`FrameClientTransport.Config.callTimeout`).
    public init(client: GRPCClient<Transport>, timeout: Duration?) {
        let client = Laurel_V1_CatalogService.Client(wrapping: client)
        var options = CallOptions.defaults
        options.timeout = timeout
        self.client = client
        self.options = options
        reservations = batcher("catalog") { [options] items in
            try await client.reserveStockBatch(.with { $0.items = items }, options: options).outcomes.map { outcome in
                switch outcome.outcome {
                case .reserved(let reserved):
                    .done(ReservedStock(unitCostPoints: reserved.reservation.unitCostPoints, minTier: reserved.reward.minTier))
                case .error(let status): .failed(status)
                case nil: nil
                }
            }
        }
        commits = batcher("catalog") { [options] items in
            try await client.commitReservationBatch(.with { $0.items = items }, options: options).outcomes.map { outcome in
                switch outcome.outcome {
                case .committed: .done(())
                case .error(let status): .failed(status)
                case nil: nil
                }
            }
        }
    }

    public func reserve(rewardId: String, quantity: Int64, reservationId: String, memberId: String, ttlSeconds: Int64) async throws(PeerError) -> ReservedStock {
        try await reservations.call(.with {
            $0.rewardID = rewardId
            $0.quantity = quantity
            $0.reservationID = reservationId
            $0.memberID = memberId
            $0.ttlSeconds = ttlSeconds
        })
    }

    public func commit(reservationId: String) async throws(PeerError) {
        try await commits.call(.with { $0.reservationID = reservationId })
    }

    public func release(reservationId: String) async throws(PeerError) {
        try await peerCall("catalog") { _ = try await client.releaseReservation(.with { $0.reservationID = reservationId }, options: options) }
    }

    public func restock(reservationId: String) async throws(PeerError) {
        try await peerCall("catalog") { _ = try await client.restockReservation(.with { $0.reservationID = reservationId }, options: options) }
    }
}

/// The members service over gRPC.
///
/// Holds and captures, the saga's steps on every redemption, go in batch
/// calls (`CallBatcher`); the rarer steps of compensation and cancellation
/// go one by one.
public struct GRPCMembersPeer<Transport: ClientTransport>: MembersPeer {
    let client: Laurel_V1_MemberService.Client<Transport>
    let options: CallOptions
    private let holds: CallBatcher<Laurel_V1_HoldPointsRequest, Void>
    private let captures: CallBatcher<Laurel_V1_CaptureHoldRequest, Void>

    /// Every call carries `timeout` as its deadline; nil for a client whose
    /// transport gives every call one itself (`FrameClientTransport.Config.callTimeout`).
    public init(client: GRPCClient<Transport>, timeout: Duration?) {
        let client = Laurel_V1_MemberService.Client(wrapping: client)
        var options = CallOptions.defaults
        options.timeout = timeout
        self.client = client
        self.options = options
        holds = batcher("members") { [options] items in
            try await client.holdPointsBatch(.with { $0.items = items }, options: options).outcomes.map { outcome in
                switch outcome.outcome {
                case .held: .done(())
                case .error(let status): .failed(status)
                case nil: nil
                }
            }
        }
        captures = batcher("members") { [options] items in
            try await client.captureHoldBatch(.with { $0.items = items }, options: options).outcomes.map { outcome in
                switch outcome.outcome {
                case .captured: .done(())
                case .error(let status): .failed(status)
                case nil: nil
                }
            }
        }
    }

    public func hold(
        memberId: String, holdId: String, points: Points, ttlSeconds: Int64, reason: String, minTier: String,
        redemptionId: String, partnerId: String
    ) async throws(PeerError) {
        try await holds.call(.with {
            $0.memberID = memberId
            $0.holdID = holdId
            $0.points = points
            $0.ttlSeconds = ttlSeconds
            $0.reason = reason
            $0.minTier = minTier
            $0.redemptionID = redemptionId
            $0.partnerID = partnerId
        })
    }

    public func capture(holdId: String) async throws(PeerError) {
        try await captures.call(.with { $0.holdID = holdId })
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
        let info = error.laurelErrorInfo
        throw PeerError(code: error.code, reason: info?.reason, message: error.message, metadata: info?.metadata ?? [:], peer: peer)
    } catch {
        throw .unavailable(peer: peer, detail: "\(error)")
    }
}

/// A batcher over one of a peer's batch calls. `send` makes the call and
/// reads each outcome: done, failed with its status, or nil for an outcome
/// that holds neither. A batch call that fails as a whole fails each
/// of its items the same way, sorted as `peerCall` sorts it.
func batcher<Item: Sendable, Answer: Sendable>(
    _ peer: String, send: @escaping @Sendable ([Item]) async throws -> [BatchOutcome<Answer>?]
) -> CallBatcher<Item, Answer> {
    CallBatcher(peer: peer) { items in
        let outcomes: [BatchOutcome<Answer>?]
        do throws(PeerError) {
            outcomes = try await peerCall(peer) { try await send(items) }
        } catch {
            return Array(repeating: .failure(error), count: items.count)
        }
        return outcomes.map { outcome in
            switch outcome {
            case .done(let answer): .success(answer)
            case .failed(let status): .failure(PeerError(status, peer: peer))
            case nil: .failure(.unavailable(peer: peer, detail: "an outcome without a result"))
            }
        }
    }
}

extension PeerError {
    /// The sorting of `peerCall`, from a status's parts.
    init(code: RPCError.Code, reason: String?, message: String, metadata: [String: String], peer: String) {
        switch code {
        case .invalidArgument, .notFound, .alreadyExists, .failedPrecondition, .outOfRange, .permissionDenied, .unauthenticated:
            self = .refused(code: code.rawValue, reason: reason ?? "\(code)".uppercased(), message: message, metadata: metadata)
        default:
            self = .unavailable(peer: peer, detail: "\(code): \(message)")
        }
    }

    /// One item of a batch call, as if it had been a call of its own.
    init(_ status: Laurel_V1_ItemStatus, peer: String) {
        let code = Status.Code(rawValue: Int(status.code)).flatMap(RPCError.Code.init) ?? .unknown
        self.init(
            code: code, reason: status.reason.isEmpty ? nil : status.reason, message: status.message, metadata: status.metadata,
            peer: peer)
    }
}
