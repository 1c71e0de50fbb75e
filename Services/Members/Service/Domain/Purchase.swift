import Foundation
import GRDB
import LaurelShared

public struct PurchaseLine: Codable, Sendable, Equatable {
    public var sku: String
    public var category: String
    public var quantity: Int64
    public var unitPriceMinor: Int64

    public init(sku: String, category: String = "", quantity: Int64, unitPriceMinor: Int64) {
        self.sku = sku
        self.category = category
        self.quantity = quantity
        self.unitPriceMinor = unitPriceMinor
    }
}

public struct PurchaseRequest: Codable, Sendable, Equatable {
    public var memberId: String
    public var orderId: String
    public var currencyCode: String
    public var amountMinor: Int64
    public var lines: [PurchaseLine]
    /// Nil means "now".
    public var occurredAt: Instant?

    public init(memberId: String, orderId: String, currencyCode: String, amountMinor: Int64, lines: [PurchaseLine] = [], occurredAt: Instant? = nil) {
        self.memberId = memberId
        self.orderId = orderId
        self.currencyCode = currencyCode
        self.amountMinor = amountMinor
        self.lines = lines
        self.occurredAt = occurredAt
    }
}

public struct PurchaseResult: Codable, Sendable, Equatable {
    public var pointsEarned: Points
    public var balance: Balance
    /// One EARN entry per rule.
    public var entries: [LedgerEntry]
    public var earning: Earning
    public var programVersion: Int64
    /// Store credit given back; nil when none.
    public var cashback: Money?

    public init(pointsEarned: Points, balance: Balance, entries: [LedgerEntry], earning: Earning, programVersion: Int64, cashback: Money?) {
        self.pointsEarned = pointsEarned
        self.balance = balance
        self.entries = entries
        self.earning = earning
        self.programVersion = programVersion
        self.cashback = cashback
    }

    private enum CodingKeys: String, CodingKey {
        case pointsEarned, balance, entries, earning, programVersion, cashback
        case entry
    }

    /// Results stored before the programme existed had one `entry` and no
    /// breakdown: a replay of one still answers, with its base-rate entry.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pointsEarned = try container.decode(Points.self, forKey: .pointsEarned)
        balance = try container.decode(Balance.self, forKey: .balance)
        let legacy = try container.decodeIfPresent(LedgerEntry.self, forKey: .entry)
        entries = try container.decodeIfPresent([LedgerEntry].self, forKey: .entries) ?? legacy.map { [$0] } ?? []
        earning = try container.decodeIfPresent(Earning.self, forKey: .earning)
            ?? Earning(
                lines: [], orderRules: pointsEarned > 0 ? [RulePoints(rule: "base", points: pointsEarned)] : [], capped: 0,
                eligibleSpendMinor: 0, noPointsReason: "")
        programVersion = try container.decodeIfPresent(Int64.self, forKey: .programVersion) ?? 0
        cashback = try container.decodeIfPresent(Money.self, forKey: .cashback)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(pointsEarned, forKey: .pointsEarned)
        try container.encode(balance, forKey: .balance)
        try container.encode(entries, forKey: .entries)
        try container.encode(earning, forKey: .earning)
        try container.encode(programVersion, forKey: .programVersion)
        try container.encodeIfPresent(cashback, forKey: .cashback)
    }
}

/// A rule and the programme version it belongs to, as ledger entries record them.
public struct RuleVersion: Sendable, Equatable {
    public var rule: String
    public var version: Int64

    public init(rule: String, version: Int64) {
        self.rule = rule
        self.version = version
    }
}

/// A recorded purchase; its lines are kept for refunds by line.
struct PurchaseRecord: Codable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    static let databaseTableName = "purchase"

    var orderId: String
    var memberId: String
    var currencyCode: String
    var amountMinor: Int64
    var pointsEarned: Points
    var ledgerEntryId: Int64?
    var occurredAt: Instant
    var recordedAt: Instant
    var refundedMinor: Int64 = 0
    var pointsReversed: Points = 0
    var programVersion: Int64 = 0
    /// Store credit the purchase gave back, and how much of it refunds took back.
    var cashbackMinor: Int64 = 0
    var cashbackReversedMinor: Int64 = 0
}

/// What one line (or, with line_no -1, the purchase as a whole) earned by
/// one rule, and how much of it refunds have taken back.
struct PurchaseEarningRecord: Codable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    static let databaseTableName = "purchase_earning"

    var orderId: String
    var lineNo: Int
    var rule: String
    var programVersion: Int64
    var points: Points
    var reversed: Points

    static func insert(_ db: Database, _ earning: Earning, orderId: String, version: Int64) throws {
        for line in earning.lines {
            for rule in line.rules {
                try PurchaseEarningRecord(orderId: orderId, lineNo: line.lineNo, rule: rule.rule, programVersion: version, points: rule.points, reversed: 0)
                    .insert(db)
            }
        }
        for rule in earning.orderRules {
            try PurchaseEarningRecord(orderId: orderId, lineNo: -1, rule: rule.rule, programVersion: version, points: rule.points, reversed: 0)
                .insert(db)
        }
    }
}

struct PurchaseLineRecord: Codable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    static let databaseTableName = "purchase_line"

    var orderId: String
    var lineNo: Int
    var sku: String
    var category: String
    var quantity: Int64
    var unitPriceMinor: Int64
    var refundedQuantity: Int64 = 0
}
