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
        }
    }
}

extension Laurel_V1_LedgerEntry {
    init(_ entry: LedgerEntry) {
        self = .with {
            $0.entryID = entry.id ?? 0
            $0.memberID = entry.memberId
            $0.kind = .init(entry.kind)
            $0.availableDelta = entry.availableDelta
            $0.heldDelta = entry.heldDelta
            $0.availableAfter = entry.availableAfter
            $0.heldAfter = entry.heldAfter
            $0.reference = entry.reference
            $0.reason = entry.reason
            $0.createdAt = .init(entry.createdAt)
        }
    }
}

extension Laurel_V1_LedgerEntryKind {
    init(_ kind: LedgerKind) {
        switch kind {
        case .earn: self = .earn
        case .adjust: self = .adjust
        case .hold: self = .hold
        case .release: self = .release
        case .capture: self = .capture
        case .expireHold: self = .expireHold
        case .refund: self = .refund
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
