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
    public var entry: LedgerEntry?
    public var refundedTotal: Money
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
    /// Takes back the points of the refunded share of a purchase. The share
    /// is cumulative and rounded down, and the last refund takes whatever is
    /// left, so several partial refunds reverse exactly what the whole
    /// purchase earned. Spent points become debt rather than a negative
    /// balance.
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
                if let amount = request.amount {
                    guard amount.currency == currency else {
                        throw InvalidArgument("amount.currency_code", "the purchase was in \(currency.code)")
                    }
                    refund = amount.minorUnits
                } else {
                    var lines = try PurchaseLineRecord.filter(Column("order_id") == orderId).order(Column("line_no")).fetchAll(db)
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
                let owedBack =
                    purchase.refundedMinor == purchase.amountMinor
                    ? purchase.pointsEarned : Self.share(of: purchase.pointsEarned, purchase.refundedMinor, purchase.amountMinor)
                let points = owedBack - purchase.pointsReversed
                purchase.pointsReversed = owedBack
                try purchase.update(db)

                var entry: LedgerEntry?
                if points > 0 {
                    let taken = min(member.available, points)
                    entry = try post(
                        db, &member, kind: .reverse, available: -taken, debt: points - taken, reference: refundId,
                        reason: reason.isEmpty ? "refund of \(orderId)" : reason, now: now)
                }
                try PurchaseRefundRecord(refundId: refundId, orderId: orderId, amountMinor: refund, pointsReversed: points, createdAt: now)
                    .insert(db)
                return ReversalResult(
                    pointsReversed: points, balance: member.balance, entry: entry,
                    refundedTotal: Money(currency: currency, minorUnits: purchase.refundedMinor))
            }
        }
    }

    /// ⌊points × part / whole⌋ without overflow.
    static func share(of points: Points, _ part: Int64, _ whole: Int64) -> Points {
        let product = points.multipliedFullWidth(by: part)
        return whole.dividingFullWidth((high: product.high, low: product.low)).quotient
    }
}
