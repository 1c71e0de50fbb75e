import GRPCCore
import LaurelShared

/// Every refusal of the redemption service, with its status and reason.
public enum RedemptionError: LaurelError, Equatable {
    case redemptionNotFound(String)
    /// The redemption failed; carries the peer's own status and reason
    /// (INSUFFICIENT_POINTS, OUT_OF_STOCK, MEMBER_NOT_FOUND …).
    case failed(redemptionId: String, RedemptionFailure)
    case notCompleted(redemptionId: String, status: RedemptionStatus)
    case peerUnavailable(redemptionId: String, peer: String, detail: String)
    case pointsLimit(Points)
    /// The reward's cost or tier changed while its points were being held
    /// on the old terms; nothing was taken.
    case rewardTermsChanged(rewardId: String)
    case voucherNotFound
    case voucherAlreadyUsed(redemptionId: String, usedAt: Instant, storeId: String)
    case voucherVoid(redemptionId: String)

    static let rewardTermsChangedReason = "REWARD_TERMS_CHANGED"

    public var code: RPCError.Code {
        switch self {
        case .redemptionNotFound, .voucherNotFound: .notFound
        case .voucherAlreadyUsed, .voucherVoid: .failedPrecondition
        case .failed(_, let failure): RPCError.Code(Status.Code(rawValue: failure.code) ?? .unknown) ?? .unknown
        case .notCompleted: .failedPrecondition
        case .peerUnavailable: .unavailable
        case .pointsLimit: .invalidArgument
        case .rewardTermsChanged: .aborted
        }
    }

    public var reason: String {
        switch self {
        case .redemptionNotFound: "REDEMPTION_NOT_FOUND"
        case .failed(_, let failure): failure.reason
        case .notCompleted: "REDEMPTION_NOT_COMPLETED"
        case .peerUnavailable: "PEER_UNAVAILABLE"
        case .pointsLimit: "POINTS_LIMIT"
        case .rewardTermsChanged: Self.rewardTermsChangedReason
        case .voucherNotFound: "VOUCHER_NOT_FOUND"
        case .voucherAlreadyUsed: "VOUCHER_ALREADY_USED"
        case .voucherVoid: "VOUCHER_VOID"
        }
    }

    public var message: String {
        switch self {
        case .redemptionNotFound(let id): "redemption '\(id)' not found"
        case .failed(_, let failure): failure.message
        case .notCompleted(let id, let status): "redemption \(id) is \(status.rawValue); only a COMPLETED redemption can be cancelled"
        case .peerUnavailable(let id, let peer, let detail):
            "the \(peer) service could not be reached (\(detail)); redemption \(id) did not finish: retry with the same idempotency key for its outcome"
        case .pointsLimit(let points): "the redemption would cost \(points) points, more than the largest allowed"
        case .rewardTermsChanged(let rewardId):
            "reward \(rewardId) changed its cost or tier while it was being redeemed; nothing was taken: retry with the same idempotency key"
        case .voucherNotFound: "no voucher has that code"
        case .voucherAlreadyUsed(_, let usedAt, let storeId): "the voucher was already used, at store \(storeId) at \(usedAt)"
        case .voucherVoid: "the voucher's redemption was cancelled; it is void"
        }
    }

    public var metadata: [String: String] {
        switch self {
        case .redemptionNotFound(let id): ["redemption_id": id]
        case .failed(let id, let failure): failure.metadata.merging(["redemption_id": id]) { old, _ in old }
        case .notCompleted(let id, let status): ["redemption_id": id, "status": status.rawValue]
        case .peerUnavailable(let id, let peer, _): ["redemption_id": id, "peer": peer]
        case .pointsLimit(let points): ["points": "\(points)"]
        case .rewardTermsChanged(let rewardId): ["reward_id": rewardId]
        case .voucherNotFound: [:]
        case .voucherAlreadyUsed(let id, let usedAt, let storeId):
            ["redemption_id": id, "used_at": "\(usedAt)", "store_id": storeId]
        case .voucherVoid(let id): ["redemption_id": id]
        }
    }
}
