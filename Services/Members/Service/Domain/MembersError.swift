import GRPCCore
import LaurelShared

/// Every refusal of the members service, with its status and reason.
public enum MembersError: LaurelError, Equatable {
    case memberNotFound(String)
    case memberAlreadyExists(externalId: String, memberId: String)
    case memberNotActive(memberId: String, status: MemberStatus)
    case insufficientPoints(memberId: String, available: Points, requested: Points)
    case holdNotFound(String)
    case holdExpired(String)
    case holdNotHeld(holdId: String, status: HoldStatus)
    case holdNotCaptured(holdId: String, status: HoldStatus)
    case balanceLimit(memberId: String)
    case tierTooLow(memberId: String, tier: String, minTier: String)
    case unknownTier(String)
    case purchaseNotFound(String)
    case refundExceedsPurchase(orderId: String, detail: String)
    case apiKeyNotFound(String)
    case apiKeySecretAlreadyIssued(requestId: String, keyId: String)
    case programVersionConflict(expected: Int64, current: Int64)
    case tierInUse(String)
    case campaignNotFound(String)
    case campaignAlreadyExists(String)
    case referralCodeNotFound(String)
    case selfReferral(memberId: String)
    case referralLoop(memberId: String, referrerId: String)
    case alreadyReferred(memberId: String, referrerId: String)
    case referralTooLate(memberId: String)
    case insufficientCredit(memberId: String, currency: String, available: Int64, requested: Int64)

    public var code: RPCError.Code {
        switch self {
        case .memberNotFound, .holdNotFound, .purchaseNotFound, .apiKeyNotFound, .campaignNotFound, .referralCodeNotFound: .notFound
        case .memberAlreadyExists, .apiKeySecretAlreadyIssued, .campaignAlreadyExists: .alreadyExists
        case .programVersionConflict, .tierInUse, .selfReferral, .referralLoop, .alreadyReferred, .referralTooLate, .insufficientCredit:
            .failedPrecondition
        case .refundExceedsPurchase: .failedPrecondition
        case .memberNotActive, .insufficientPoints, .holdExpired, .holdNotHeld, .holdNotCaptured, .tierTooLow, .unknownTier:
            .failedPrecondition
        case .balanceLimit: .outOfRange
        }
    }

    public var reason: String {
        switch self {
        case .memberNotFound: "MEMBER_NOT_FOUND"
        case .memberAlreadyExists: "MEMBER_ALREADY_EXISTS"
        case .memberNotActive: "MEMBER_NOT_ACTIVE"
        case .insufficientPoints: "INSUFFICIENT_POINTS"
        case .holdNotFound: "HOLD_NOT_FOUND"
        case .holdExpired: "HOLD_EXPIRED"
        case .holdNotHeld: "HOLD_NOT_HELD"
        case .holdNotCaptured: "HOLD_NOT_CAPTURED"
        case .balanceLimit: "BALANCE_LIMIT"
        case .tierTooLow: "TIER_TOO_LOW"
        case .unknownTier: "UNKNOWN_TIER"
        case .purchaseNotFound: "PURCHASE_NOT_FOUND"
        case .refundExceedsPurchase: "REFUND_EXCEEDS_PURCHASE"
        case .apiKeyNotFound: "API_KEY_NOT_FOUND"
        case .apiKeySecretAlreadyIssued: "API_KEY_SECRET_ALREADY_ISSUED"
        case .programVersionConflict: "PROGRAM_VERSION_CONFLICT"
        case .tierInUse: "TIER_IN_USE"
        case .campaignNotFound: "CAMPAIGN_NOT_FOUND"
        case .campaignAlreadyExists: "CAMPAIGN_ALREADY_EXISTS"
        case .referralCodeNotFound: "REFERRAL_CODE_NOT_FOUND"
        case .selfReferral: "SELF_REFERRAL"
        case .referralLoop: "REFERRAL_LOOP"
        case .alreadyReferred: "ALREADY_REFERRED"
        case .referralTooLate: "REFERRAL_TOO_LATE"
        case .insufficientCredit: "INSUFFICIENT_CREDIT"
        }
    }

    public var message: String {
        switch self {
        case .memberNotFound(let id):
            "member '\(id)' not found"
        case .memberAlreadyExists(let externalId, let memberId) where memberId.isEmpty:
            "external_id '\(externalId)' is already enrolled by another partner"
        case .memberAlreadyExists(let externalId, let memberId):
            "external_id '\(externalId)' is already enrolled as \(memberId) with other details; use UpdateMember to change them"
        case .memberNotActive(let memberId, let status):
            "member \(memberId) is \(status.rawValue), not ACTIVE"
        case .insufficientPoints(let memberId, let available, let requested):
            "member \(memberId) has \(available) points available, \(requested) needed"
        case .holdNotFound(let id):
            "hold '\(id)' not found"
        case .holdExpired(let id):
            "hold '\(id)' expired and its points were returned"
        case .holdNotHeld(let id, let status):
            "hold '\(id)' is \(status.rawValue), not HELD"
        case .holdNotCaptured(let id, let status):
            "hold '\(id)' is \(status.rawValue); only a CAPTURED hold can be refunded"
        case .balanceLimit(let memberId):
            "the change would take member \(memberId)'s balance beyond the largest representable value"
        case .tierTooLow(let memberId, let tier, let minTier):
            "member \(memberId) is in tier \(tier); this needs \(minTier) or above"
        case .unknownTier(let tier):
            "tier '\(tier)' is not one of this programme's tiers"
        case .purchaseNotFound(let orderId):
            "no purchase with order_id '\(orderId)'"
        case .refundExceedsPurchase(let orderId, let detail):
            "the refund is more than what is left of order \(orderId): \(detail)"
        case .apiKeyNotFound(let keyId):
            "API key '\(keyId)' not found"
        case .apiKeySecretAlreadyIssued(let requestId, let keyId):
            "request_id '\(requestId)' already created key \(keyId), whose secret was shown once; revoke it and create another"
        case .programVersionConflict(let expected, let current):
            "the programme is at version \(current), not \(expected): read it again and reapply the change"
        case .tierInUse(let tier):
            "tier '\(tier)' is held by members (or is their floor); move them to another tier before removing it"
        case .campaignNotFound(let id):
            "campaign '\(id)' not found"
        case .campaignAlreadyExists(let id):
            "campaign '\(id)' already exists with other details; campaigns are not edited: end it and create another"
        case .referralCodeNotFound(let code):
            "no member has referral code '\(code)'"
        case .selfReferral(let memberId):
            "member \(memberId) cannot be their own referrer"
        case .referralLoop(let memberId, let referrerId):
            "member \(referrerId) was referred, directly or not, by \(memberId): a referral may not loop"
        case .alreadyReferred(let memberId, let referrerId):
            "member \(memberId) was already referred by \(referrerId)"
        case .referralTooLate(let memberId):
            "member \(memberId) has already earned points on a purchase; a referral must come before"
        case .insufficientCredit(let memberId, let currency, let available, let requested):
            "member \(memberId) has \(available) \(currency) minor units of store credit available, \(requested) needed"
        }
    }

    public var metadata: [String: String] {
        switch self {
        case .memberNotFound(let id): ["member_id": id]
        case .memberAlreadyExists(let externalId, let memberId): ["external_id": externalId, "member_id": memberId]
        case .memberNotActive(let memberId, let status): ["member_id": memberId, "status": status.rawValue]
        case .insufficientPoints(let memberId, let available, let requested):
            ["member_id": memberId, "available": "\(available)", "requested": "\(requested)"]
        case .holdNotFound(let id), .holdExpired(let id): ["hold_id": id]
        case .holdNotHeld(let id, let status), .holdNotCaptured(let id, let status): ["hold_id": id, "status": status.rawValue]
        case .balanceLimit(let memberId): ["member_id": memberId]
        case .tierTooLow(let memberId, let tier, let minTier): ["member_id": memberId, "tier": tier, "min_tier": minTier]
        case .unknownTier(let tier): ["tier": tier]
        case .purchaseNotFound(let orderId): ["order_id": orderId]
        case .refundExceedsPurchase(let orderId, _): ["order_id": orderId]
        case .apiKeyNotFound(let keyId): ["key_id": keyId]
        case .apiKeySecretAlreadyIssued(let requestId, let keyId): ["request_id": requestId, "key_id": keyId]
        case .programVersionConflict(let expected, let current): ["expected_version": "\(expected)", "current_version": "\(current)"]
        case .tierInUse(let tier): ["tier": tier]
        case .campaignNotFound(let id), .campaignAlreadyExists(let id): ["campaign_id": id]
        case .referralCodeNotFound(let code): ["referral_code": code]
        case .selfReferral(let memberId), .referralTooLate(let memberId): ["member_id": memberId]
        case .referralLoop(let memberId, let referrerId), .alreadyReferred(let memberId, let referrerId):
            ["member_id": memberId, "referrer_id": referrerId]
        case .insufficientCredit(let memberId, let currency, let available, let requested):
            ["member_id": memberId, "currency_code": currency, "available": "\(available)", "requested": "\(requested)"]
        }
    }
}
