import Foundation
import LaurelShared
import SwiftProtobuf

extension Laurel_V1_Reward {
    init(_ reward: Reward) {
        self = .with {
            $0.rewardID = reward.id
            $0.sku = reward.sku
            $0.name = reward.name
            $0.description_p = reward.description
            $0.kind = .init(reward.kind)
            $0.costPoints = reward.costPoints
            $0.unlimitedStock = reward.unlimitedStock
            $0.stockAvailable = reward.stockAvailable
            $0.stockReserved = reward.stockReserved
            $0.stockCommitted = reward.stockCommitted
            if let validFrom = reward.validFrom { $0.validFrom = .init(validFrom) }
            if let validUntil = reward.validUntil { $0.validUntil = .init(validUntil) }
            $0.active = reward.active
            $0.archived = reward.archived
            $0.discountPercent = Int32(reward.discountPercent)
            if let value = reward.value { $0.value = .init(value) }
            $0.productSku = reward.productSku ?? ""
            $0.createdAt = .init(reward.createdAt)
            $0.updatedAt = .init(reward.updatedAt)
            $0.perMemberLimit = Int32(reward.perMemberLimit)
            $0.minTier = reward.minTier ?? ""
        }
    }
}

extension Laurel_V1_RewardKind {
    init(_ kind: RewardKind) {
        switch kind {
        case .discountPercent: self = .discountPercent
        case .discountAmount: self = .discountAmount
        case .freeProduct: self = .freeProduct
        case .giftCard: self = .giftCard
        case .cashback: self = .cashback
        case .exclusiveAccess: self = .exclusiveAccess
        }
    }
}

extension RewardKind {
    init?(_ kind: Laurel_V1_RewardKind) {
        switch kind {
        case .discountPercent: self = .discountPercent
        case .discountAmount: self = .discountAmount
        case .freeProduct: self = .freeProduct
        case .giftCard: self = .giftCard
        case .cashback: self = .cashback
        case .exclusiveAccess: self = .exclusiveAccess
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }
}

extension Laurel_V1_Reservation {
    init(_ reservation: Reservation) {
        self = .with {
            $0.reservationID = reservation.id
            $0.rewardID = reservation.rewardId
            $0.quantity = reservation.quantity
            $0.status = .init(reservation.status)
            $0.unitCostPoints = reservation.unitCostPoints
            $0.createdAt = .init(reservation.createdAt)
            $0.expiresAt = .init(reservation.expiresAt)
            $0.memberID = reservation.memberId ?? ""
        }
    }
}

extension Laurel_V1_ReservationStatus {
    init(_ status: ReservationStatus) {
        switch status {
        case .reserved: self = .reserved
        case .committed: self = .committed
        case .released: self = .released
        case .expired: self = .expired
        case .restocked: self = .restocked
        }
    }
}
