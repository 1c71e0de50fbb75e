import Foundation
import LaurelShared

/// The programme's rules: how purchases earn, the tiers, the bonuses. Stored
/// as a new version on every change, so each ledger entry can name the
/// version of the rule that produced it.
public struct ProgramRules: Codable, Sendable, Equatable {
    public var earn: EarnRules
    public var tiers: TierRules
    public var bonuses: Bonuses
    public var referrals: ReferralRules
    /// What points are worth, for the liability in the statistics.
    public var pointValue: PointValue?

    public init(
        earn: EarnRules = EarnRules(), tiers: TierRules, bonuses: Bonuses = Bonuses(), referrals: ReferralRules = ReferralRules(),
        pointValue: PointValue? = nil
    ) {
        self.earn = earn
        self.tiers = tiers
        self.bonuses = bonuses
        self.referrals = referrals
        self.pointValue = pointValue
    }

    /// What a service starts with before any UpdateProgram: a flat rate in
    /// every currency and tiers assigned by hand.
    public static func initial(pointsPerUnit: Points = 1, tiers: TierOrder = .standard) -> ProgramRules {
        ProgramRules(
            earn: EarnRules(defaultPointsPerUnit: pointsPerUnit),
            tiers: TierRules(tiers: tiers.codes.map { TierDefinition(code: $0) }))
    }

    public var tierOrder: TierOrder { TierOrder(unchecked: tiers.tiers.map(\.code)) }

    public func tier(_ code: String) -> TierDefinition? { tiers.tiers.first { $0.code == code } }

    /// Checks every field, naming it as the API does ("program.earn.rates[0]…").
    public func validate() throws(InvalidArgument) {
        try earn.validate(field: "program.earn")
        try tiers.validate(field: "program.tiers")
        try Self.points(bonuses.enrolmentPoints, "program.bonuses.enrolment_points")
        try Self.points(bonuses.birthdayPoints, "program.bonuses.birthday_points")
        try Self.points(referrals.referrerPoints, "program.referrals.referrer_points")
        try Self.points(referrals.refereePoints, "program.referrals.referee_points")
        if let pointValue {
            _ = try Currency(pointValue.currencyCode, field: "program.point_value.currency_code")
            try Self.points(pointValue.minorUnitsPer1000Points, "program.point_value.minor_units_per_1000_points", max: 1_000_000_000)
        }
    }

    static func points(_ value: Points, _ field: String, max: Points = 1_000_000_000) throws(InvalidArgument) {
        guard (0...max).contains(value) else { throw InvalidArgument(field, "must be between 0 and \(max), got \(value)") }
    }
}

public struct Program: Codable, Sendable, Equatable {
    public var version: Int64
    public var updatedAt: Instant
    public var rules: ProgramRules

    public init(version: Int64, updatedAt: Instant, rules: ProgramRules) {
        self.version = version
        self.updatedAt = updatedAt
        self.rules = rules
    }
}

public struct EarnRules: Codable, Sendable, Equatable {
    public var defaultPointsPerUnit: Points
    public var rates: [CurrencyRate]
    public var categoryMultipliers: [Multiplier]
    public var skuMultipliers: [Multiplier]
    public var excludedSkus: [String]
    /// 0 = no cap.
    public var dailyCap: Points
    public var weeklyCap: Points
    public var monthlyCap: Points

    public init(
        defaultPointsPerUnit: Points = 1, rates: [CurrencyRate] = [], categoryMultipliers: [Multiplier] = [],
        skuMultipliers: [Multiplier] = [], excludedSkus: [String] = [], dailyCap: Points = 0, weeklyCap: Points = 0, monthlyCap: Points = 0
    ) {
        self.defaultPointsPerUnit = defaultPointsPerUnit
        self.rates = rates
        self.categoryMultipliers = categoryMultipliers
        self.skuMultipliers = skuMultipliers
        self.excludedSkus = excludedSkus
        self.dailyCap = dailyCap
        self.weeklyCap = weeklyCap
        self.monthlyCap = monthlyCap
    }

    public func rate(for currency: Currency) -> CurrencyRate {
        rates.first { $0.currencyCode == currency.code }
            ?? CurrencyRate(currencyCode: currency.code, pointsPerUnit: defaultPointsPerUnit)
    }

    func validate(field: String) throws(InvalidArgument) {
        try ProgramRules.points(defaultPointsPerUnit, "\(field).default_points_per_unit", max: 1_000_000)
        var currencies = Set<String>()
        for (index, rate) in rates.enumerated() {
            let name = "\(field).rates[\(index)]"
            _ = try Currency(rate.currencyCode, field: "\(name).currency_code")
            guard currencies.insert(rate.currencyCode).inserted else { throw InvalidArgument("\(name).currency_code", "is listed twice") }
            try ProgramRules.points(rate.pointsPerUnit, "\(name).points_per_unit", max: 1_000_000)
            try ProgramRules.points(rate.minimumOrderMinor, "\(name).minimum_order_minor", max: 10_000_000_000_000)
        }
        try Multiplier.validate(categoryMultipliers, field: "\(field).category_multipliers")
        try Multiplier.validate(skuMultipliers, field: "\(field).sku_multipliers")
        guard excludedSkus.count <= 1000 else { throw InvalidArgument("\(field).excluded_skus", "must have at most 1000 SKUs") }
        for (index, sku) in excludedSkus.enumerated() { _ = try Validate.identifier(sku, field: "\(field).excluded_skus[\(index)]") }
        try ProgramRules.points(dailyCap, "\(field).daily_cap", max: 1_000_000_000_000)
        try ProgramRules.points(weeklyCap, "\(field).weekly_cap", max: 1_000_000_000_000)
        try ProgramRules.points(monthlyCap, "\(field).monthly_cap", max: 1_000_000_000_000)
    }
}

public struct CurrencyRate: Codable, Sendable, Equatable {
    public var currencyCode: String
    public var pointsPerUnit: Points
    public var minimumOrderMinor: Int64

    public init(currencyCode: String, pointsPerUnit: Points, minimumOrderMinor: Int64 = 0) {
        self.currencyCode = currencyCode
        self.pointsPerUnit = pointsPerUnit
        self.minimumOrderMinor = minimumOrderMinor
    }
}

public struct Multiplier: Codable, Sendable, Equatable {
    /// A category or a SKU.
    public var match: String
    /// 200 doubles.
    public var percent: Int

    public init(match: String, percent: Int) {
        self.match = match
        self.percent = percent
    }

    static func validate(_ multipliers: [Multiplier], field: String) throws(InvalidArgument) {
        guard multipliers.count <= 1000 else { throw InvalidArgument(field, "must have at most 1000 entries") }
        var seen = Set<String>()
        for (index, multiplier) in multipliers.enumerated() {
            _ = try Validate.text(multiplier.match, field: "\(field)[\(index)].match", maxLength: 128, required: true)
            guard seen.insert(multiplier.match).inserted else { throw InvalidArgument("\(field)[\(index)].match", "is listed twice") }
            guard (101...10_000).contains(multiplier.percent) else {
                throw InvalidArgument("\(field)[\(index)].multiplier_percent", "must be between 101 and 10000, got \(multiplier.percent)")
            }
        }
    }
}

public enum TierBasis: String, Codable, Sendable, CaseIterable {
    /// Tiers are assigned by hand only.
    case manual = "MANUAL"
    case qualifyingPoints = "QUALIFYING_POINTS"
    case spend = "SPEND"
}

public struct TierRules: Codable, Sendable, Equatable {
    public var basis: TierBasis
    public var spendCurrency: String
    public var windowDays: Int
    /// Lowest first.
    public var tiers: [TierDefinition]

    public init(basis: TierBasis = .manual, spendCurrency: String = "", windowDays: Int = 0, tiers: [TierDefinition]) {
        self.basis = basis
        self.spendCurrency = spendCurrency
        self.windowDays = windowDays
        self.tiers = tiers
    }

    /// Whether members move between tiers by what they earn or spend.
    public var qualifies: Bool { basis != .manual && windowDays > 0 }

    func validate(field: String) throws(InvalidArgument) {
        guard (1...20).contains(tiers.count) else { throw InvalidArgument("\(field).tiers", "must list 1 to 20 tiers, lowest first") }
        guard (0...3660).contains(windowDays) else { throw InvalidArgument("\(field).window_days", "must be between 0 and 3660, got \(windowDays)") }
        if windowDays > 0, basis == .manual { throw InvalidArgument("\(field).basis", "is required when window_days is set") }
        if basis != .manual, windowDays == 0 { throw InvalidArgument("\(field).window_days", "is required when a basis is set") }
        if basis == .spend { _ = try Currency(spendCurrency, field: "\(field).spend_currency") }
        var codes = Set<String>()
        for (index, tier) in tiers.enumerated() {
            let name = "\(field).tiers[\(index)]"
            _ = try Validate.identifier(tier.code, field: "\(name).code")
            guard codes.insert(tier.code).inserted else { throw InvalidArgument("\(name).code", "is listed twice") }
            _ = try Validate.text(tier.name, field: "\(name).name", maxLength: 100)
            if index == 0 {
                guard tier.threshold == 0 else { throw InvalidArgument("\(name).threshold", "must be 0 for the first tier") }
            } else if qualifies, tier.threshold <= tiers[index - 1].threshold {
                throw InvalidArgument("\(name).threshold", "must be greater than the tier below's")
            }
            try ProgramRules.points(tier.threshold, "\(name).threshold", max: 10_000_000_000_000)
            guard tier.earnMultiplierPercent == 0 || (100...10_000).contains(tier.earnMultiplierPercent) else {
                throw InvalidArgument("\(name).earn_multiplier_percent", "must be 0 or between 100 and 10000, got \(tier.earnMultiplierPercent)")
            }
            guard (0...10_000).contains(tier.cashbackBasisPoints) else {
                throw InvalidArgument("\(name).cashback_basis_points", "must be between 0 and 10000, got \(tier.cashbackBasisPoints)")
            }
        }
    }
}

public struct TierDefinition: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    public var threshold: Int64
    /// 0 or 100: no tier bonus.
    public var earnMultiplierPercent: Int
    public var cashbackBasisPoints: Int

    public init(code: String, name: String = "", threshold: Int64 = 0, earnMultiplierPercent: Int = 0, cashbackBasisPoints: Int = 0) {
        self.code = code
        self.name = name
        self.threshold = threshold
        self.earnMultiplierPercent = earnMultiplierPercent
        self.cashbackBasisPoints = cashbackBasisPoints
    }
}

public struct Bonuses: Codable, Sendable, Equatable {
    public var enrolmentPoints: Points
    public var birthdayPoints: Points

    public init(enrolmentPoints: Points = 0, birthdayPoints: Points = 0) {
        self.enrolmentPoints = enrolmentPoints
        self.birthdayPoints = birthdayPoints
    }
}

public struct ReferralRules: Codable, Sendable, Equatable {
    public var referrerPoints: Points
    public var refereePoints: Points

    public init(referrerPoints: Points = 0, refereePoints: Points = 0) {
        self.referrerPoints = referrerPoints
        self.refereePoints = refereePoints
    }
}

/// `minorUnitsPer1000Points` of the currency per 1000 points.
public struct PointValue: Codable, Sendable, Equatable {
    public var currencyCode: String
    public var minorUnitsPer1000Points: Int64

    public init(currencyCode: String, minorUnitsPer1000Points: Int64) {
        self.currencyCode = currencyCode
        self.minorUnitsPer1000Points = minorUnitsPer1000Points
    }
}
