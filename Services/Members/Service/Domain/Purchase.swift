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
    public var entry: LedgerEntry?
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

/// How many points a purchase earns: a whole number per whole major currency
/// unit, rounded down (123.45 USD at 1 point per unit earns 123).
public struct EarnPolicy: Sendable, Equatable {
    public var pointsPerMajorUnit: Points

    public init(pointsPerMajorUnit: Points = 1) {
        self.pointsPerMajorUnit = pointsPerMajorUnit
    }

    public func points(for amount: Money) -> Points {
        let (points, overflow) = amount.wholeMajorUnits.multipliedReportingOverflow(by: pointsPerMajorUnit)
        return overflow ? Points.max : points
    }
}
