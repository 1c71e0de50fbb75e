import GRPCCore
import LaurelShared

/// Every refusal of the catalog service, with its status and reason.
public enum CatalogError: LaurelError, Equatable {
    case rewardNotFound(String)
    case rewardAlreadyExists(sku: String, rewardId: String)
    case rewardNotAvailable(rewardId: String, why: RewardUnavailability)
    case rewardArchived(String)
    case outOfStock(rewardId: String, available: Int64, requested: Int64)
    case unlimitedStock(String)
    case reservationNotFound(String)
    case reservationExpired(String)
    case reservationNotReserved(reservationId: String, status: ReservationStatus)
    case reservationNotCommitted(reservationId: String, status: ReservationStatus)
    case perMemberLimitReached(rewardId: String, memberId: String, limit: Int, held: Int64)

    public var code: RPCError.Code {
        switch self {
        case .rewardNotFound, .reservationNotFound: .notFound
        case .rewardAlreadyExists: .alreadyExists
        case .rewardNotAvailable, .rewardArchived, .outOfStock, .unlimitedStock, .reservationExpired,
            .reservationNotReserved, .reservationNotCommitted, .perMemberLimitReached:
            .failedPrecondition
        }
    }

    public var reason: String {
        switch self {
        case .rewardNotFound: "REWARD_NOT_FOUND"
        case .rewardAlreadyExists: "REWARD_ALREADY_EXISTS"
        case .rewardNotAvailable: "REWARD_NOT_AVAILABLE"
        case .rewardArchived: "REWARD_ARCHIVED"
        case .outOfStock: "OUT_OF_STOCK"
        case .unlimitedStock: "UNLIMITED_STOCK"
        case .reservationNotFound: "RESERVATION_NOT_FOUND"
        case .reservationExpired: "RESERVATION_EXPIRED"
        case .reservationNotReserved: "RESERVATION_NOT_RESERVED"
        case .reservationNotCommitted: "RESERVATION_NOT_COMMITTED"
        case .perMemberLimitReached: "PER_MEMBER_LIMIT_REACHED"
        }
    }

    public var message: String {
        switch self {
        case .rewardNotFound(let id): "reward '\(id)' not found"
        case .rewardAlreadyExists(let sku, let id): "sku '\(sku)' already exists as reward \(id) with other details"
        case .rewardNotAvailable(let id, let why): "reward \(id) cannot be redeemed now: \(why.rawValue)"
        case .rewardArchived(let id): "reward \(id) is archived and can no longer change"
        case .outOfStock(let id, let available, let requested): "reward \(id) has \(available) units available, \(requested) requested"
        case .unlimitedStock(let id): "reward \(id) has unlimited stock; stock_delta does not apply"
        case .reservationNotFound(let id): "reservation '\(id)' not found"
        case .reservationExpired(let id): "reservation '\(id)' expired and its stock was returned"
        case .reservationNotReserved(let id, let status): "reservation '\(id)' is \(status.rawValue), not RESERVED"
        case .reservationNotCommitted(let id, let status): "reservation '\(id)' is \(status.rawValue); only a COMMITTED reservation can be restocked"
        case .perMemberLimitReached(let id, let memberId, let limit, let held):
            "reward \(id) allows \(limit) units per member; member \(memberId) already has \(held)"
        }
    }

    public var metadata: [String: String] {
        switch self {
        case .rewardNotFound(let id), .rewardArchived(let id), .unlimitedStock(let id): ["reward_id": id]
        case .rewardAlreadyExists(let sku, let id): ["sku": sku, "reward_id": id]
        case .rewardNotAvailable(let id, let why): ["reward_id": id, "why": why.rawValue]
        case .outOfStock(let id, let available, let requested): ["reward_id": id, "available": "\(available)", "requested": "\(requested)"]
        case .reservationNotFound(let id), .reservationExpired(let id): ["reservation_id": id]
        case .reservationNotReserved(let id, let status), .reservationNotCommitted(let id, let status):
            ["reservation_id": id, "status": status.rawValue]
        case .perMemberLimitReached(let id, let memberId, let limit, let held):
            ["reward_id": id, "member_id": memberId, "limit": "\(limit)", "held": "\(held)"]
        }
    }
}
