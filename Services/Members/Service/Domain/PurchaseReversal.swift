import Foundation
import GRDB
import LaurelShared

public struct RefundedLine: Codable, Sendable, Equatable {
    public var sku: String
    public var quantity: Int64

    public init(sku: String, quantity: Int64) {
        self.sku = sku
        self.quantity = quantity
    }
}

/// A refund of part or all of a recorded purchase: either its lines (by SKU
/// and quantity) or an amount.
public struct ReversalRequest: Codable, Sendable, Equatable {
    public var orderId: String
    public var refundId: String
    public var lines: [RefundedLine]
    /// Nil when refunding by lines.
    public var amount: Money?
    public var reason: String

    public init(orderId: String, refundId: String, lines: [RefundedLine] = [], amount: Money? = nil, reason: String = "") {
        self.orderId = orderId
        self.refundId = refundId
        self.lines = lines
        self.amount = amount
        self.reason = reason
    }
}

public struct ReversalResult: Codable, Sendable, Equatable {
    public var pointsReversed: Points
    public var balance: Balance
    /// One REVERSE entry per rule.
    public var entries: [LedgerEntry]
    public var refundedTotal: Money
    public var cashbackReversed: Money?
    /// The member's tier after the refund.
    public var tier: String

    public init(pointsReversed: Points, balance: Balance, entries: [LedgerEntry], refundedTotal: Money, cashbackReversed: Money?, tier: String) {
        self.pointsReversed = pointsReversed
        self.balance = balance
        self.entries = entries
        self.refundedTotal = refundedTotal
        self.cashbackReversed = cashbackReversed
        self.tier = tier
    }

    private enum CodingKeys: String, CodingKey {
        case pointsReversed, balance, entries, refundedTotal, cashbackReversed, tier
        case entry
    }

    /// Results stored before reversals were by rule had one `entry`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pointsReversed = try container.decode(Points.self, forKey: .pointsReversed)
        balance = try container.decode(Balance.self, forKey: .balance)
        let legacy = try container.decodeIfPresent(LedgerEntry.self, forKey: .entry)
        entries = try container.decodeIfPresent([LedgerEntry].self, forKey: .entries) ?? legacy.map { [$0] } ?? []
        refundedTotal = try container.decode(Money.self, forKey: .refundedTotal)
        cashbackReversed = try container.decodeIfPresent(Money.self, forKey: .cashbackReversed)
        tier = try container.decodeIfPresent(String.self, forKey: .tier) ?? ""
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(pointsReversed, forKey: .pointsReversed)
        try container.encode(balance, forKey: .balance)
        try container.encode(entries, forKey: .entries)
        try container.encode(refundedTotal, forKey: .refundedTotal)
        try container.encodeIfPresent(cashbackReversed, forKey: .cashbackReversed)
        try container.encode(tier, forKey: .tier)
    }
}

struct PurchaseRefundRecord: Codable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    static let databaseTableName = "purchase_refund"

    var refundId: String
    var orderId: String
    var amountMinor: Int64
    var pointsReversed: Points
    var createdAt: Instant
}

extension MemberAccounts {
    /// Takes back the points of the refunded share of a purchase, rule by
    /// rule: a refunded line gives back its share (by quantity) of what that
    /// line earned under each rule, a refunded amount the same share of every
    /// rule's points, and the purchase-wide bonuses go back by the share of
    /// money refunded. Shares are cumulative and rounded down, and the refund
    /// that completes the purchase takes whatever is left, so several partial
    /// refunds reverse exactly what the whole purchase earned. Spent points
    /// become debt rather than a negative balance.
    public func reversePurchase(_ request: ReversalRequest, scope: AccessScope = .everyone) async throws -> ReversalResult {
        let orderId = try Validate.identifier(request.orderId, field: "order_id")
        let refundId = try Validate.identifier(request.refundId, field: "refund_id")
        let reason = try Validate.text(request.reason, field: "reason", maxLength: 500)
        guard request.lines.isEmpty != (request.amount == nil) else {
            throw InvalidArgument("lines", "give either the refunded lines or an amount, not both")
        }
        if let amount = request.amount {
            _ = try Validate.positive(amount.minorUnits, field: "amount.minor_units", max: 10_000_000_000_000)
        }
        guard request.lines.count <= 1000 else { throw InvalidArgument("lines", "must have at most 1000 lines") }
        for (index, line) in request.lines.enumerated() {
            _ = try Validate.identifier(line.sku, field: "lines[\(index)].sku")
            _ = try Validate.positive(line.quantity, field: "lines[\(index)].quantity", max: 1_000_000)
        }
        let now = clock.now

        return try await write { db in
            try IdempotencyKeys.run(db, scope: "reverse", key: refundId, field: "refund_id", request: request, now: now) {
                guard var purchase = try PurchaseRecord.fetchOne(db, key: orderId) else { throw MembersError.purchaseNotFound(orderId) }
                var member = try Self.member(db, purchase.memberId, scope: scope)
                let currency = try Currency(purchase.currencyCode, field: "amount.currency_code")
                let remaining = purchase.amountMinor - purchase.refundedMinor

                var refund: Int64 = 0
                var lines = try PurchaseLineRecord.filter(Column("order_id") == orderId).order(Column("line_no")).fetchAll(db)
                if let amount = request.amount {
                    guard amount.currency == currency else {
                        throw InvalidArgument("amount.currency_code", "the purchase was in \(currency.code)")
                    }
                    refund = amount.minorUnits
                } else {
                    guard !lines.isEmpty else {
                        throw InvalidArgument("lines", "order \(orderId) was recorded without lines; refund an amount")
                    }
                    for (index, refunded) in request.lines.enumerated() {
                        var wanted = refunded.quantity
                        for i in lines.indices where lines[i].sku == refunded.sku && wanted > 0 {
                            let take = min(wanted, lines[i].quantity - lines[i].refundedQuantity)
                            lines[i].refundedQuantity += take
                            refund += take * lines[i].unitPriceMinor
                            wanted -= take
                        }
                        guard wanted == 0 else {
                            throw MembersError.refundExceedsPurchase(
                                orderId: orderId, detail: "lines[\(index)]: fewer than \(refunded.quantity) unrefunded '\(refunded.sku)'")
                        }
                    }
                    for line in lines { try line.update(db) }
                }
                guard refund <= remaining else {
                    throw MembersError.refundExceedsPurchase(
                        orderId: orderId, detail: "\(refund) minor units refunded, \(remaining) not yet refunded")
                }

                purchase.refundedMinor += refund
                try Self.addSpend(db, memberId: purchase.memberId, currencyCode: purchase.currencyCode, -refund)
                let byRule = try Self.reverseEarnings(db, &purchase, lines: lines)
                var entries: [LedgerEntry] = []
                for reversal in byRule {
                    let taken = min(member.available, reversal.points)
                    entries.append(
                        try post(
                            db, &member, kind: .reverse, available: -taken, debt: reversal.points - taken, reference: refundId,
                            reason: reason.isEmpty ? "refund of \(orderId)" : reason, rule: reversal.rule, now: now))
                }
                let points = byRule.reduce(0) { $0 + $1.points }
                purchase.pointsReversed += points
                let cashback = try reverseCashback(
                    db, &member, &purchase, refundId: refundId, reason: reason.isEmpty ? "refund of \(orderId)" : reason, now: now)
                try purchase.update(db)
                try PurchaseRefundRecord(refundId: refundId, orderId: orderId, amountMinor: refund, pointsReversed: points, createdAt: now)
                    .insert(db)
                try reconsiderTierAfterRefund(db, &member, program: try programs.stored(db, now: now), now: now)
                return ReversalResult(
                    pointsReversed: points, balance: member.balance, entries: entries,
                    refundedTotal: Money(currency: currency, minorUnits: purchase.refundedMinor), cashbackReversed: cashback,
                    tier: member.tier)
            }
        }
    }

    /// Moves each rule's reversed points up to what the refunds so far owe,
    /// and returns, per rule, the points this refund takes back.
    static func reverseEarnings(_ db: Database, _ purchase: inout PurchaseRecord, lines: [PurchaseLineRecord]) throws -> [(rule: RuleVersion, points: Points)] {
        let complete = purchase.refundedMinor == purchase.amountMinor
        let refundedByLines = lines.reduce(Int64(0)) { $0 + $1.refundedQuantity * $1.unitPriceMinor }
        // Money refunded as an amount rather than as lines.
        let refundedAsAmount = max(0, purchase.refundedMinor - refundedByLines)
        var byRule: [(rule: RuleVersion, points: Points)] = []
        for var row in try PurchaseEarningRecord.filter(Column("order_id") == purchase.orderId).order(Column("line_no"), Column("rule")).fetchAll(db) {
            var owed: Points
            if complete {
                owed = row.points
            } else if let line = lines.first(where: { $0.lineNo == row.lineNo }) {
                owed = max(share(of: row.points, line.refundedQuantity, line.quantity), share(of: row.points, refundedAsAmount, purchase.amountMinor))
            } else {
                owed = share(of: row.points, purchase.refundedMinor, purchase.amountMinor)
            }
            owed = min(row.points, max(owed, row.reversed))
            guard owed > row.reversed else { continue }
            let points = owed - row.reversed
            row.reversed = owed
            try row.update(db)
            let rule = RuleVersion(rule: row.rule, version: row.programVersion)
            if let index = byRule.firstIndex(where: { $0.rule == rule }) {
                byRule[index].points += points
            } else {
                byRule.append((rule, points))
            }
        }
        return byRule
    }

    /// ⌊points × part / whole⌋ without overflow.
    static func share(of points: Points, _ part: Int64, _ whole: Int64) -> Points {
        let product = points.multipliedFullWidth(by: part)
        return whole.dividingFullWidth((high: product.high, low: product.low)).quotient
    }
}
