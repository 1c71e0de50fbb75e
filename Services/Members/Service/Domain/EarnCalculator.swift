import Foundation
import LaurelShared

/// Points one rule gave.
public struct RulePoints: Codable, Sendable, Equatable {
    public var rule: String
    public var points: Points

    public init(rule: String, points: Points) {
        self.rule = rule
        self.points = points
    }
}

public struct LineEarning: Codable, Sendable, Equatable {
    public var lineNo: Int
    public var sku: String
    public var rules: [RulePoints]
    public var excluded: Bool

    public var points: Points { rules.reduce(0) { $0 + $1.points } }
}

/// What a purchase earns and why.
public struct Earning: Codable, Sendable, Equatable {
    public var lines: [LineEarning]
    /// Fixed bonuses of the purchase as a whole.
    public var orderRules: [RulePoints]
    public var capped: Points
    /// Spend that earns (excluded lines left out), for cashback.
    public var eligibleSpendMinor: Int64
    /// Why nothing was earned, when nothing was.
    public var noPointsReason: String

    public var points: Points { lines.reduce(0) { $0 + $1.points } + orderRules.reduce(0) { $0 + $1.points } }

    /// Per rule, in the order the rules first appear: one ledger entry each.
    public var byRule: [RulePoints] {
        var totals: [RulePoints] = []
        for rule in lines.flatMap(\.rules) + orderRules where rule.points > 0 {
            if let index = totals.firstIndex(where: { $0.rule == rule.rule }) {
                totals[index].points += rule.points
            } else {
                totals.append(rule)
            }
        }
        return totals
    }
}

/// What the earn rules look at in a member.
public struct Earner: Sendable, Equatable {
    public var tier: String
    public var attributes: [String: String]
    public var enrolledAt: Instant

    public init(tier: String, attributes: [String: String] = [:], enrolledAt: Instant) {
        self.tier = tier
        self.attributes = attributes
        self.enrolledAt = enrolledAt
    }
}

extension Member {
    var earner: Earner { Earner(tier: tier, attributes: attributes, enrolledAt: enrolledAt) }
}

/// The earn rules as arithmetic, free of storage: base points per line, then
/// bonuses each computed on the base (SKU or category multiplier, tier,
/// multiplier campaigns), fixed campaign bonuses, then the caps.
public struct EarnCalculator: Sendable {
    public var rules: ProgramRules
    public var campaigns: [Campaign]

    public init(rules: ProgramRules, campaigns: [Campaign]) {
        self.rules = rules
        self.campaigns = campaigns
    }

    /// `capRoom` is what the caps still allow this member; nil for no cap.
    public func earning(for member: Earner, amount: Money, lines: [PurchaseLine], capRoom: Points?) -> Earning {
        // A purchase without lines earns on its amount, as one line.
        let lines = lines.isEmpty ? [PurchaseLine(sku: "", quantity: 1, unitPriceMinor: amount.minorUnits)] : lines
        let rate = rules.earn.rate(for: amount.currency)
        let excluded = Set(rules.earn.excludedSkus)
        var earning = Earning(lines: [], orderRules: [], capped: 0, eligibleSpendMinor: 0, noPointsReason: "")
        if amount.minorUnits < rate.minimumOrderMinor {
            earning.lines = lines.enumerated().map { LineEarning(lineNo: $0.offset, sku: $0.element.sku, rules: [], excluded: false) }
            earning.noPointsReason = "BELOW_MINIMUM_ORDER"
            return earning
        }

        let memberCampaigns = campaigns.filter { $0.target.includes(member) }
        let tierPercent = rules.tier(member.tier)?.earnMultiplierPercent ?? 0
        var anyTargetedLine = Set<String>()
        for (lineNo, line) in lines.enumerated() {
            guard !excluded.contains(line.sku) || line.sku.isEmpty else {
                earning.lines.append(LineEarning(lineNo: lineNo, sku: line.sku, rules: [], excluded: true))
                continue
            }
            let total = Self.clamp(line.quantity.multipliedFullWidth(by: line.unitPriceMinor))
            earning.eligibleSpendMinor = Self.clamp(earning.eligibleSpendMinor.addingReportingOverflow(total))
            let base = Self.fraction(total, times: rate.pointsPerUnit, over: amount.currency.minorUnitsPerMajor)
            var applied = [RulePoints(rule: "base", points: base)]
            if let multiplier = rules.earn.skuMultipliers.first(where: { $0.match == line.sku }) {
                applied.append(RulePoints(rule: "sku:\(line.sku)", points: Self.bonus(base, multiplier.percent)))
            } else if !line.category.isEmpty, let multiplier = rules.earn.categoryMultipliers.first(where: { $0.match == line.category }) {
                applied.append(RulePoints(rule: "category:\(line.category)", points: Self.bonus(base, multiplier.percent)))
            }
            if tierPercent > 100 {
                applied.append(RulePoints(rule: "tier:\(member.tier)", points: Self.bonus(base, tierPercent)))
            }
            for campaign in memberCampaigns where campaign.target.includes(line) {
                anyTargetedLine.insert(campaign.id)
                if case .multiplier(let percent) = campaign.reward {
                    applied.append(RulePoints(rule: campaign.rule, points: Self.bonus(base, percent)))
                }
            }
            earning.lines.append(LineEarning(lineNo: lineNo, sku: line.sku, rules: applied.filter { $0.points > 0 }, excluded: false))
        }
        for campaign in memberCampaigns where anyTargetedLine.contains(campaign.id) {
            if case .bonus(let points) = campaign.reward { earning.orderRules.append(RulePoints(rule: campaign.rule, points: points)) }
        }
        if let capRoom { earning.cap(at: capRoom) }
        if earning.points == 0 && earning.noPointsReason.isEmpty {
            earning.noPointsReason =
                earning.capped > 0 ? "EARNING_CAP_REACHED" : earning.lines.allSatisfy(\.excluded) ? "EXCLUDED_ITEMS_ONLY" : "NO_EARNING_RATE"
        }
        return earning
    }

    /// ⌊value × numerator / denominator⌋ without overflow (saturating).
    static func fraction(_ value: Int64, times numerator: Int64, over denominator: Int64) -> Int64 {
        let product = value.multipliedFullWidth(by: numerator)
        guard product.high < denominator else { return Int64.max }
        return denominator.dividingFullWidth((high: product.high, low: product.low)).quotient
    }

    /// The extra points a multiplier adds to `base`: 150% adds half.
    static func bonus(_ base: Points, _ percent: Int) -> Points {
        fraction(base, times: Int64(percent - 100), over: 100)
    }

    private static func clamp(_ product: (high: Int64, low: UInt64)) -> Int64 {
        product.high == 0 && product.low <= UInt64(Int64.max) ? Int64(product.low) : Int64.max
    }

    private static func clamp(_ sum: (partialValue: Int64, overflow: Bool)) -> Int64 {
        sum.overflow ? Int64.max : sum.partialValue
    }
}

extension Earning {
    /// Keeps the base points first, then the SKU and category bonuses, the
    /// tier bonus, campaign bonuses on lines and fixed bonuses, taking off
    /// whatever goes beyond `room`.
    mutating func cap(at room: Points) {
        func order(_ rule: String) -> Int {
            if rule == "base" { return 0 }
            if rule.hasPrefix("sku:") || rule.hasPrefix("category:") { return 1 }
            if rule.hasPrefix("tier:") { return 2 }
            return 3
        }
        var left = max(room, 0)
        for rank in 0...3 {
            for l in lines.indices {
                for r in lines[l].rules.indices where order(lines[l].rules[r].rule) == rank {
                    let kept = min(lines[l].rules[r].points, left)
                    capped += lines[l].rules[r].points - kept
                    lines[l].rules[r].points = kept
                    left -= kept
                }
            }
        }
        for r in orderRules.indices {
            let kept = min(orderRules[r].points, left)
            capped += orderRules[r].points - kept
            orderRules[r].points = kept
            left -= kept
        }
        for l in lines.indices { lines[l].rules.removeAll { $0.points == 0 } }
        orderRules.removeAll { $0.points == 0 }
    }
}
