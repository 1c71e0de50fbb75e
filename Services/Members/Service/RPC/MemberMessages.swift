import Foundation
import LaurelShared
import SwiftProtobuf

extension Laurel_V1_Member {
    init(_ member: Member) {
        self = .with {
            $0.memberID = member.id
            $0.externalID = member.externalId
            $0.email = member.email
            $0.displayName = member.displayName
            $0.birthDate = member.birthDate?.description ?? ""
            $0.attributes = member.attributes
            $0.status = .init(member.status)
            $0.tier = member.tier
            $0.enrolledAt = .init(member.enrolledAt)
            $0.updatedAt = .init(member.updatedAt)
            $0.partnerID = member.partnerId
            $0.referralCode = member.referralCode ?? ""
            $0.referredBy = member.referredBy
            $0.tierFloor = member.tierFloor
        }
    }
}

extension Laurel_V1_TierStatus {
    init(_ status: TierStatus) {
        self = .with {
            $0.tier = status.tier
            $0.basis = .init(status.basis)
            $0.qualifyingValue = status.qualifyingValue
            $0.spendCurrency = status.spendCurrency
            $0.nextTier = status.nextTier
            $0.neededForNextTier = status.neededForNextTier
            $0.neededToKeepTier = status.neededToKeepTier
            if let reviewAt = status.reviewAt { $0.reviewAt = .init(reviewAt) }
            $0.tierFloor = status.tierFloor
        }
    }
}

extension Laurel_V1_LineEarning {
    init(_ line: LineEarning) {
        self = .with {
            $0.lineNo = Int32(line.lineNo)
            $0.sku = line.sku
            $0.points = line.points
            $0.rules = line.rules.map(Laurel_V1_RulePoints.init)
            $0.excluded = line.excluded
        }
    }
}

extension Laurel_V1_RulePoints {
    init(_ rule: RulePoints) {
        self = .with {
            $0.rule = rule.rule
            $0.points = rule.points
        }
    }
}

extension Laurel_V1_MemberStatus {
    init(_ status: MemberStatus) {
        switch status {
        case .active: self = .active
        case .suspended: self = .suspended
        case .closed: self = .closed
        }
    }
}

extension MemberStatus {
    init?(_ status: Laurel_V1_MemberStatus) {
        switch status {
        case .active: self = .active
        case .suspended: self = .suspended
        case .closed: self = .closed
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }
}

extension Laurel_V1_Balance {
    init(_ balance: Balance) {
        self = .with {
            $0.memberID = balance.memberId
            $0.available = balance.available
            $0.held = balance.held
            $0.lifetimeEarned = balance.lifetimeEarned
            $0.debt = balance.debt
        }
    }
}

/// What a points entry and a store-credit entry share on the wire.
protocol LedgerRow {
    var id: Int64? { get }
    var memberId: String { get }
    var availableDelta: Int64 { get }
    var heldDelta: Int64 { get }
    var availableAfter: Int64 { get }
    var heldAfter: Int64 { get }
    var reference: String { get }
    var reason: String { get }
    var createdAt: Instant { get }
    var debtDelta: Int64 { get }
    var debtAfter: Int64 { get }
    var rule: String { get }
    var programVersion: Int64 { get }
}

extension LedgerEntry: LedgerRow {}
extension CreditEntry: LedgerRow {}

extension Laurel_V1_LedgerEntry {
    init(_ entry: LedgerEntry) {
        self.init(row: entry, kind: .init(entry.kind), currencyCode: "")
    }

    init(_ entry: CreditEntry) {
        self.init(row: entry, kind: .init(entry.kind), currencyCode: entry.currencyCode)
    }

    private init(row entry: some LedgerRow, kind: Laurel_V1_LedgerEntryKind, currencyCode: String) {
        self = .with {
            $0.entryID = entry.id ?? 0
            $0.memberID = entry.memberId
            $0.kind = kind
            $0.availableDelta = entry.availableDelta
            $0.heldDelta = entry.heldDelta
            $0.availableAfter = entry.availableAfter
            $0.heldAfter = entry.heldAfter
            $0.reference = entry.reference
            $0.reason = entry.reason
            $0.createdAt = .init(entry.createdAt)
            $0.debtDelta = entry.debtDelta
            $0.debtAfter = entry.debtAfter
            $0.rule = entry.rule
            $0.programVersion = entry.programVersion
            $0.currencyCode = currencyCode
        }
    }
}

extension Laurel_V1_LedgerEntryKind {
    /// The API has no CASHBACK kind: cashback is store credit's EARN, told
    /// apart by its rule, "cashback".
    init(_ kind: CreditKind) {
        switch kind {
        case .cashback: self = .earn
        case .hold: self = .hold
        case .release: self = .release
        case .capture: self = .capture
        case .expireHold: self = .expireHold
        case .refund: self = .refund
        case .reverse: self = .reverse
        }
    }

    init(_ kind: LedgerKind) {
        switch kind {
        case .earn: self = .earn
        case .adjust: self = .adjust
        case .hold: self = .hold
        case .release: self = .release
        case .capture: self = .capture
        case .expireHold: self = .expireHold
        case .refund: self = .refund
        case .reverse: self = .reverse
        case .expire: self = .expire
        case .bonus: self = .bonus
        }
    }
}

extension Laurel_V1_Hold {
    init(_ hold: Hold) {
        self = .with {
            $0.holdID = hold.id
            $0.memberID = hold.memberId
            $0.points = hold.points
            $0.status = .init(hold.status)
            $0.createdAt = .init(hold.createdAt)
            $0.expiresAt = .init(hold.expiresAt)
            $0.reason = hold.reason
            if !hold.currencyCode.isEmpty {
                $0.points = 0
                $0.credit = .with {
                    $0.currencyCode = hold.currencyCode
                    $0.minorUnits = hold.points
                }
            }
        }
    }
}

extension Laurel_V1_StoreCredit {
    init(_ wallet: CreditWallet) {
        self = .with {
            $0.currencyCode = wallet.currencyCode
            $0.availableMinor = wallet.available
            $0.heldMinor = wallet.held
            $0.debtMinor = wallet.debt
        }
    }
}

extension Laurel_V1_HoldStatus {
    init(_ status: HoldStatus) {
        switch status {
        case .held: self = .held
        case .captured: self = .captured
        case .released: self = .released
        case .expired: self = .expired
        case .refunded: self = .refunded
        }
    }
}

extension Laurel_V1_MemberEvent {
    init(_ event: MemberEvent) {
        self = .with {
            $0.cursor = EventCursor.encode(event.id ?? 0)
            $0.memberID = event.memberId
            $0.kind = .init(event.kind)
            $0.points = event.points
            $0.tierFrom = event.tierFrom
            $0.tierTo = event.tierTo
            $0.reference = event.reference
            $0.redemptionID = event.redemptionId
            $0.occurredAt = .init(event.occurredAt)
            $0.rule = event.rule
        }
    }
}

extension Laurel_V1_MemberEventKind {
    init(_ kind: MemberEventKind) {
        switch kind {
        case .enrolled: self = .enrolled
        case .pointsEarned: self = .pointsEarned
        case .pointsSpent: self = .pointsSpent
        case .pointsExpired: self = .pointsExpired
        case .pointsAdjusted: self = .pointsAdjusted
        case .pointsRefunded: self = .pointsRefunded
        case .pointsReversed: self = .pointsReversed
        case .tierChanged: self = .tierChanged
        case .redemptionCompleted: self = .redemptionCompleted
        }
    }
}

extension Laurel_V1_ApiKey {
    init(_ key: ApiKey) {
        self = .with {
            $0.keyID = key.id
            $0.name = key.name
            $0.role = .init(key.role)
            $0.partnerID = key.partnerId
            $0.rateLimitPerSecond = Int32(key.rateLimitPerSecond)
            $0.createdAt = .init(key.createdAt)
            if let revokedAt = key.revokedAt { $0.revokedAt = .init(revokedAt) }
        }
    }
}
