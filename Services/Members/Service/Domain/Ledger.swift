import Foundation
import GRDB
import LaurelShared

public enum LedgerKind: String, Codable, Sendable, CaseIterable {
    case earn = "EARN"
    case adjust = "ADJUST"
    case hold = "HOLD"
    case release = "RELEASE"
    case capture = "CAPTURE"
    case expireHold = "EXPIRE_HOLD"
    case refund = "REFUND"
    case reverse = "REVERSE"
    case expire = "EXPIRE"
    /// Points not from a purchase: enrolment, birthday, referral.
    case bonus = "BONUS"
}

/// One change to a member's balances. Entries are only ever appended, and the
/// deltas of a member's entries sum to the balances in the member row.
public struct LedgerEntry: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "ledger_entry"

    public var id: Int64?
    public var memberId: String
    public var kind: LedgerKind
    public var availableDelta: Points
    public var heldDelta: Points
    public var availableAfter: Points
    public var heldAfter: Points
    public var reference: String
    public var reason: String
    public var createdAt: Instant
    /// Positive when a reversal could not take spent points back; negative
    /// when earnings repay the debt.
    @Defaulted public var debtDelta: Points = 0
    @Defaulted public var debtAfter: Points = 0
    /// The rule that produced the points ("base", "tier:GOLD", …), "" for
    /// entries that only move points.
    @Defaulted public var rule: String = ""
    @Defaulted public var programVersion: Int64 = 0

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

public enum HoldStatus: String, Codable, Sendable, CaseIterable {
    case held = "HELD"
    case captured = "CAPTURED"
    case released = "RELEASED"
    case expired = "EXPIRED"
    case refunded = "REFUNDED"
}

/// Points (or store credit) set aside for a pending spend, under a client-chosen id.
public struct Hold: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "hold"

    public var id: String
    public var memberId: String
    /// For a store-credit hold, minor units of `currencyCode`.
    public var points: Points
    public var status: HoldStatus
    public var reason: String
    public var createdAt: Instant
    public var expiresAt: Instant
    public var settledAt: Instant?
    /// The redemption the points pay for, if any.
    @Defaulted public var redemptionId: String = ""
    /// "" for points; the currency of a hold on store credit.
    @Defaulted public var currencyCode: String = ""
}

public struct HoldRequest: Codable, Sendable, Equatable {
    public var memberId: String
    public var holdId: String
    public var points: Points
    public var ttlSeconds: Int64
    public var reason: String
    /// The lowest tier allowed to hold these points; "" for any.
    public var minTier: String
    public var redemptionId: String
    /// Refuse unless this partner enrolled the member; "" for no restriction.
    public var partnerId: String
    /// Holds store credit instead; `points` must then be 0.
    public var credit: Money?

    public init(
        memberId: String, holdId: String, points: Points, ttlSeconds: Int64 = 0, reason: String = "", minTier: String = "",
        redemptionId: String = "", partnerId: String = "", credit: Money? = nil
    ) {
        self.memberId = memberId
        self.holdId = holdId
        self.points = points
        self.ttlSeconds = ttlSeconds
        self.reason = reason
        self.minTier = minTier
        self.redemptionId = redemptionId
        self.partnerId = partnerId
        self.credit = credit
    }

    private enum CodingKeys: String, CodingKey {
        case memberId, holdId, points, ttlSeconds, reason, minTier, redemptionId, partnerId, credit
    }

    /// The idempotency fingerprint: fields added later are left out while
    /// empty, so a request stored before they existed still matches.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(memberId, forKey: .memberId)
        try container.encode(holdId, forKey: .holdId)
        try container.encode(points, forKey: .points)
        try container.encode(ttlSeconds, forKey: .ttlSeconds)
        try container.encode(reason, forKey: .reason)
        try container.encode(minTier, forKey: .minTier)
        if !redemptionId.isEmpty { try container.encode(redemptionId, forKey: .redemptionId) }
        if !partnerId.isEmpty { try container.encode(partnerId, forKey: .partnerId) }
        try container.encodeIfPresent(credit, forKey: .credit)
    }
}

/// A hold and the member's balances right after the call that returned it.
public struct HoldResult: Codable, Sendable, Equatable {
    public var hold: Hold
    public var balance: Balance
}

public struct AdjustRequest: Codable, Sendable, Equatable {
    public var memberId: String
    public var delta: Points
    public var reason: String
    public var requestId: String

    public init(memberId: String, delta: Points, reason: String, requestId: String) {
        self.memberId = memberId
        self.delta = delta
        self.reason = reason
        self.requestId = requestId
    }
}

public struct AdjustResult: Codable, Sendable, Equatable {
    public var entry: LedgerEntry
    public var balance: Balance
}
