import Foundation
import GRDB
import LaurelShared

public enum MemberStatus: String, Codable, Sendable, CaseIterable {
    case active = "ACTIVE"
    case suspended = "SUSPENDED"
    case closed = "CLOSED"
}

/// A member and, in the same row, their balances: every change to them is
/// written together with its ledger entry, in one transaction. Its row is
/// mapped by hand (`Member+Row.swift`).
public struct Member: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "member"

    /// Insertion order, for stable pagination.
    public var seq: Int64?
    public var id: String
    public var externalId: String
    public var email: String
    public var displayName: String
    public var birthDate: CalendarDate?
    public var attributes: [String: String]
    public var status: MemberStatus
    public var tier: String
    public var available: Points
    public var held: Points
    public var lifetimeEarned: Points
    public var enrolledAt: Instant
    public var updatedAt: Instant
    /// The partner whose key enrolled the member; "" for operators.
    @Defaulted public var partnerId: String = ""
    /// Points owed after a refund reversed points already spent.
    @Defaulted public var debt: Points = 0
    /// What others enrol with to become this member's referees.
    public var referralCode: String?
    /// The referrer's member id, or "".
    @Defaulted public var referredBy: String = ""
    /// The lowest tier evaluation may leave the member in; "" = the first.
    @Defaulted public var tierFloor: String = ""
    /// The tier before the last upgrade: a refund never takes the member below it.
    @Defaulted public var previousTier: String = ""
    /// When the tier is next re-evaluated; nil when it never is.
    public var tierReviewAt: Instant?
    /// 1...12, kept beside the birth date so the birthday sweep is one index scan.
    public var birthMonth: Int?
    /// The last year a birthday bonus was granted; 0 if never.
    @Defaulted public var birthdayBonusYear: Int64 = 0
    /// When the latest purchase occurred, for recency segments.
    public var lastPurchaseAt: Instant?
    /// Set once the member's personal data was erased.
    public var erasedAt: Instant?

    public var balance: Balance {
        Balance(memberId: id, available: available, held: held, lifetimeEarned: lifetimeEarned, debt: debt)
    }
}

public struct Balance: Codable, Sendable, Equatable {
    public var memberId: String
    public var available: Points
    public var held: Points
    public var lifetimeEarned: Points
    /// Repaid first from future earnings.
    @Defaulted public var debt: Points = 0

    public init(memberId: String, available: Points, held: Points, lifetimeEarned: Points, debt: Points = 0) {
        self.memberId = memberId
        self.available = available
        self.held = held
        self.lifetimeEarned = lifetimeEarned
        self.debt = debt
    }
}

public struct EnrollRequest: Codable, Sendable, Equatable {
    public var externalId: String
    public var email: String
    public var displayName: String
    public var birthDate: String
    public var attributes: [String: String]
    /// Another member's referral code, or "".
    public var referralCode: String

    public init(
        externalId: String, email: String = "", displayName: String = "", birthDate: String = "", attributes: [String: String] = [:],
        referralCode: String = ""
    ) {
        self.externalId = externalId
        self.email = email
        self.displayName = displayName
        self.birthDate = birthDate
        self.attributes = attributes
        self.referralCode = referralCode
    }

    private enum CodingKeys: String, CodingKey {
        case externalId, email, displayName, birthDate, attributes, referralCode
    }

    /// The idempotency fingerprint: an empty referral code is left out, so a
    /// request stored before referrals existed still matches.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(externalId, forKey: .externalId)
        try container.encode(email, forKey: .email)
        try container.encode(displayName, forKey: .displayName)
        try container.encode(birthDate, forKey: .birthDate)
        try container.encode(attributes, forKey: .attributes)
        if !referralCode.isEmpty { try container.encode(referralCode, forKey: .referralCode) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        externalId = try container.decode(String.self, forKey: .externalId)
        email = try container.decode(String.self, forKey: .email)
        displayName = try container.decode(String.self, forKey: .displayName)
        birthDate = try container.decode(String.self, forKey: .birthDate)
        attributes = try container.decode([String: String].self, forKey: .attributes)
        referralCode = try container.decodeIfPresent(String.self, forKey: .referralCode) ?? ""
    }
}

/// Nil fields are left unchanged.
public struct UpdateMemberRequest: Sendable, Equatable {
    public var memberId: String
    public var email: String?
    public var displayName: String?
    /// "" clears the birth date.
    public var birthDate: String?
    public var setAttributes: [String: String]
    public var removeAttributes: [String]
    public var status: MemberStatus?
    public var tier: String?
    /// "" clears the floor.
    public var tierFloor: String?
    public var referralCode: String?

    public init(
        memberId: String, email: String? = nil, displayName: String? = nil, birthDate: String? = nil,
        setAttributes: [String: String] = [:], removeAttributes: [String] = [], status: MemberStatus? = nil, tier: String? = nil,
        tierFloor: String? = nil, referralCode: String? = nil
    ) {
        self.tierFloor = tierFloor
        self.referralCode = referralCode
        self.memberId = memberId
        self.email = email
        self.displayName = displayName
        self.birthDate = birthDate
        self.setAttributes = setAttributes
        self.removeAttributes = removeAttributes
        self.status = status
        self.tier = tier
    }
}

/// The programme's tiers, lowest first. Every member starts in the first.
public struct TierOrder: Sendable, Equatable {
    public let codes: [String]

    public init(_ codes: [String]) throws(InvalidArgument) {
        guard !codes.isEmpty, Set(codes).count == codes.count else {
            throw InvalidArgument("tiers", "must list distinct tier codes, lowest first")
        }
        for code in codes { _ = try Validate.identifier(code, field: "tiers") }
        self.codes = codes
    }

    /// Codes a validated programme already checked.
    init(unchecked codes: [String]) {
        self.codes = codes
    }

    public static let standard = try! TierOrder(["BASE", "SILVER", "GOLD", "PLATINUM"])

    public var entry: String { codes[0] }

    public func rank(of code: String) -> Int? { codes.firstIndex(of: code) }
}

public enum MemberLookup: Sendable, Equatable {
    case id(String)
    case externalId(String)
}
