import Foundation
import GRDB
import LaurelShared

public enum RewardKind: String, Codable, Sendable, CaseIterable {
    case discountPercent = "DISCOUNT_PERCENT"
    case discountAmount = "DISCOUNT_AMOUNT"
    case freeProduct = "FREE_PRODUCT"
    case giftCard = "GIFT_CARD"
    case cashback = "CASHBACK"
    case exclusiveAccess = "EXCLUSIVE_ACCESS"

    /// Kinds worth an amount of money, carried in `value`.
    var hasMoneyValue: Bool { self == .discountAmount || self == .giftCard || self == .cashback }
}

/// A reward and its stock counters: available + reserved + committed is every
/// unit ever stocked less units removed by hand, and none goes below zero.
public struct Reward: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, SnakeCaseColumns, NarrowlyUpdated {
    public static let databaseTableName = "reward"

    public var seq: Int64?
    public var id: String
    public var sku: String
    public var name: String
    public var description: String
    public var kind: RewardKind
    public var costPoints: Points
    public var unlimitedStock: Bool
    public var stockAvailable: Int64
    public var stockReserved: Int64
    public var stockCommitted: Int64
    public var validFrom: Instant?
    public var validUntil: Instant?
    public var active: Bool
    public var archived: Bool
    public var discountPercent: Int
    public var valueCurrency: String?
    public var valueMinor: Int64?
    public var productSku: String?
    public var createdAt: Instant
    public var updatedAt: Instant
    /// Most units one member may have reserved or committed; 0 = no limit.
    public var perMemberLimit: Int
    /// The lowest tier allowed to redeem it; nil = any.
    public var minTier: String?

    /// Every column but `seq` and `id`, the keys: `reservation.reward_id`
    /// references `reward.id`, and SQLite checks that foreign key on every
    /// UPDATE that sets `id`, even to the same value, by walking all of the
    /// reward's reservations, so a popular reward's every reservation grew
    /// slower with its history. `RewardCatalogTests` holds this list to the table.
    public static let updatedColumns = [
        "sku", "name", "description", "kind", "cost_points", "unlimited_stock", "stock_available", "stock_reserved",
        "stock_committed", "valid_from", "valid_until", "active", "archived", "discount_percent", "value_currency",
        "value_minor", "product_sku", "created_at", "updated_at", "per_member_limit", "min_tier",
    ]

    public static let storedValuesSQL = storedValuesStatement()

    /// As GRDB's Codable encoding writes them; `RewardCatalogTests` holds
    /// the two to each other.
    public func updatedValues() throws -> [DatabaseValue] {
        let values: [(any DatabaseValueConvertible)?] = [
            sku, name, description, kind.rawValue, costPoints, unlimitedStock, stockAvailable, stockReserved, stockCommitted,
            validFrom, validUntil, active, archived, discountPercent, valueCurrency, valueMinor, productSku, createdAt, updatedAt,
            perMemberLimit, minTier,
        ]
        return values.map { $0?.databaseValue ?? .null }
    }

    /// Chosen over GRDB's `update(_:onConflict:)` wherever a `Reward` is
    /// updated: sets only what changed (a reservation moves two stock
    /// counters), never the keys (`NarrowlyUpdated`).
    public func update(_ db: Database) throws {
        try updateChangedColumns(db)
    }

    public var value: Money? {
        guard let valueCurrency, let valueMinor, let currency = try? Currency(valueCurrency) else { return nil }
        return Money(currency: currency, minorUnits: valueMinor)
    }

    /// Why the reward cannot be reserved at `now`, or nil if it can.
    public func unavailability(at now: Instant) -> RewardUnavailability? {
        if archived { return .archived }
        if !active { return .inactive }
        if let validFrom, now < validFrom { return .notYetValid }
        if let validUntil, now >= validUntil { return .expired }
        return nil
    }
}

extension Reward {
    /// By hand, from the columns `updatedValues()` writes: every reservation
    /// and commit reads its reward, and through Codable that was a tenth of
    /// the catalog's CPU during redemptions.
    public init(row: Row) throws {
        seq = row["seq"]
        id = row["id"]
        sku = row["sku"]
        name = row["name"]
        description = row["description"]
        kind = try row.decoded("kind", of: "reward")
        costPoints = row["cost_points"]
        unlimitedStock = row["unlimited_stock"]
        stockAvailable = row["stock_available"]
        stockReserved = row["stock_reserved"]
        stockCommitted = row["stock_committed"]
        validFrom = row["valid_from"]
        validUntil = row["valid_until"]
        active = row["active"]
        archived = row["archived"]
        discountPercent = row["discount_percent"]
        valueCurrency = row["value_currency"]
        valueMinor = row["value_minor"]
        productSku = row["product_sku"]
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
        perMemberLimit = row["per_member_limit"]
        minTier = row["min_tier"]
    }
}

public enum RewardUnavailability: String, Codable, Sendable {
    case archived = "ARCHIVED"
    case inactive = "INACTIVE"
    case notYetValid = "NOT_YET_VALID"
    case expired = "EXPIRED"
}

public struct CreateRewardRequest: Codable, Sendable, Equatable {
    public var sku: String
    public var name: String
    public var description: String
    public var kind: RewardKind
    public var costPoints: Points
    public var stock: Int64
    public var unlimitedStock: Bool
    public var validFrom: Instant?
    public var validUntil: Instant?
    /// Nil means active.
    public var active: Bool?
    public var discountPercent: Int
    public var valueCurrency: String
    public var valueMinor: Int64
    public var productSku: String
    public var perMemberLimit: Int
    public var minTier: String

    public init(
        sku: String, name: String, description: String = "", kind: RewardKind, costPoints: Points, stock: Int64 = 0,
        unlimitedStock: Bool = false, validFrom: Instant? = nil, validUntil: Instant? = nil, active: Bool? = nil,
        discountPercent: Int = 0, valueCurrency: String = "", valueMinor: Int64 = 0, productSku: String = "",
        perMemberLimit: Int = 0, minTier: String = ""
    ) {
        self.sku = sku
        self.name = name
        self.description = description
        self.kind = kind
        self.costPoints = costPoints
        self.stock = stock
        self.unlimitedStock = unlimitedStock
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.active = active
        self.discountPercent = discountPercent
        self.valueCurrency = valueCurrency
        self.valueMinor = valueMinor
        self.productSku = productSku
        self.perMemberLimit = perMemberLimit
        self.minTier = minTier
    }
}

/// Nil fields are left unchanged.
public struct UpdateRewardRequest: Codable, Sendable, Equatable {
    public var rewardId: String
    public var name: String?
    public var description: String?
    public var costPoints: Points?
    public var validFrom: Instant?
    public var validUntil: Instant?
    public var clearValidFrom: Bool
    public var clearValidUntil: Bool
    public var active: Bool?
    public var stockDelta: Int64
    public var requestId: String
    public var perMemberLimit: Int?
    /// "" removes the requirement.
    public var minTier: String?

    public init(
        rewardId: String, name: String? = nil, description: String? = nil, costPoints: Points? = nil,
        validFrom: Instant? = nil, validUntil: Instant? = nil, clearValidFrom: Bool = false, clearValidUntil: Bool = false,
        active: Bool? = nil, stockDelta: Int64 = 0, requestId: String = "", perMemberLimit: Int? = nil, minTier: String? = nil
    ) {
        self.rewardId = rewardId
        self.name = name
        self.description = description
        self.costPoints = costPoints
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.clearValidFrom = clearValidFrom
        self.clearValidUntil = clearValidUntil
        self.active = active
        self.stockDelta = stockDelta
        self.requestId = requestId
        self.perMemberLimit = perMemberLimit
        self.minTier = minTier
    }
}

public enum RewardLookup: Sendable, Equatable {
    case id(String)
    case sku(String)
}

public struct RewardFilter: Sendable, Equatable {
    public var includeArchived: Bool
    public var redeemableOnly: Bool

    public init(includeArchived: Bool = false, redeemableOnly: Bool = false) {
        self.includeArchived = includeArchived
        self.redeemableOnly = redeemableOnly
    }
}
