import Foundation
import LaurelShared
import MembersService
import Testing

/// The earn rules as arithmetic, without storage or transport.
@Suite struct EarnCalculatorTests {
    let enrolled = Instant(millisecondsSince1970: 1_767_225_600_000)  // 2026-01-01

    func member(tier: String = "BASE", attributes: [String: String] = [:]) -> Earner {
        Earner(tier: tier, attributes: attributes, enrolledAt: enrolled)
    }

    func money(_ code: String, _ minor: Int64) throws -> Money { Money(currency: try Currency(code), minorUnits: minor) }

    func campaign(_ id: String, _ reward: CampaignReward, _ target: CampaignTarget = CampaignTarget()) -> Campaign {
        Campaign(id: id, name: id, startsAt: enrolled, endsAt: enrolled.adding(seconds: 86_400), reward: reward, target: target)
    }

    @Test func ratesArePerCurrencyAndRoundDownPerLine() throws {
        var rules = ProgramRules.initial()
        rules.earn.rates = [CurrencyRate(currencyCode: "JPY", pointsPerUnit: 1), CurrencyRate(currencyCode: "EUR", pointsPerUnit: 3)]
        rules.earn.defaultPointsPerUnit = 2
        let calculator = EarnCalculator(rules: rules, campaigns: [])
        // JPY has no minor units: 1 point per yen.
        #expect(calculator.earning(for: member(), amount: try money("JPY", 1_500), lines: [], capRoom: nil).points == 1_500)
        // 3 × 9.99 = 29.97, rounded down.
        #expect(calculator.earning(for: member(), amount: try money("EUR", 999), lines: [], capRoom: nil).points == 29)
        // Unlisted currencies earn the default rate; each line rounds down on its own.
        let lines = [PurchaseLine(sku: "A", quantity: 1, unitPriceMinor: 150), PurchaseLine(sku: "B", quantity: 1, unitPriceMinor: 150)]
        let earning = calculator.earning(for: member(), amount: try money("USD", 300), lines: lines, capRoom: nil)
        #expect(earning.lines.map(\.points) == [3, 3])
        #expect(earning.eligibleSpendMinor == 300)
    }

    @Test func campaignsApplyOnlyToTheirSegment() throws {
        let target = CampaignTarget(
            tiers: ["GOLD"], attributes: ["region": "north"], enrolledFrom: enrolled, enrolledBefore: enrolled.adding(seconds: 1))
        let calculator = EarnCalculator(rules: .initial(), campaigns: [campaign("c", .bonus(points: 7), target)])
        let amount = try money("USD", 1_000)
        #expect(calculator.earning(for: member(tier: "GOLD", attributes: ["region": "north"]), amount: amount, lines: [], capRoom: nil).points == 17)
        #expect(calculator.earning(for: member(tier: "GOLD", attributes: ["region": "south"]), amount: amount, lines: [], capRoom: nil).points == 10)
        #expect(calculator.earning(for: member(tier: "SILVER", attributes: ["region": "north"]), amount: amount, lines: [], capRoom: nil).points == 10)
        var late = member(tier: "GOLD", attributes: ["region": "north"])
        late.enrolledAt = enrolled.adding(seconds: 1)
        #expect(calculator.earning(for: late, amount: amount, lines: [], capRoom: nil).points == 10)
    }

    @Test func aFixedBonusTargetingSkusNeedsOneOfThemInTheBasket() throws {
        let calculator = EarnCalculator(rules: .initial(), campaigns: [campaign("beans", .bonus(points: 25), CampaignTarget(skus: ["BEANS"]))])
        let amount = try money("USD", 1_000)
        let without = calculator.earning(for: member(), amount: amount, lines: [PurchaseLine(sku: "MILK", quantity: 1, unitPriceMinor: 1_000)], capRoom: nil)
        #expect(without.orderRules.isEmpty)
        let with = calculator.earning(
            for: member(), amount: amount,
            lines: [PurchaseLine(sku: "MILK", quantity: 1, unitPriceMinor: 500), PurchaseLine(sku: "BEANS", quantity: 1, unitPriceMinor: 500)],
            capRoom: nil)
        #expect(with.orderRules == [RulePoints(rule: "campaign:beans", points: 25)])
        // Without lines, only campaigns that target no SKU or category apply.
        #expect(calculator.earning(for: member(), amount: amount, lines: [], capRoom: nil).orderRules.isEmpty)
    }

    @Test func theCapKeepsBasePointsFirstAndBonusesLast() throws {
        var rules = ProgramRules.initial()
        rules.earn.categoryMultipliers = [Multiplier(match: "shoes", percent: 200)]
        let calculator = EarnCalculator(rules: rules, campaigns: [campaign("bonus", .bonus(points: 40))])
        let lines = [PurchaseLine(sku: "RUN", category: "shoes", quantity: 1, unitPriceMinor: 3_000), PurchaseLine(sku: "SOCK", quantity: 1, unitPriceMinor: 2_000)]
        let earning = calculator.earning(for: member(), amount: try money("USD", 5_000), lines: lines, capRoom: 60)
        #expect(earning.points == 60)
        #expect(earning.capped == 60)
        #expect(earning.byRule == [RulePoints(rule: "base", points: 50), RulePoints(rule: "category:shoes", points: 10)])
        #expect(earning.orderRules.isEmpty)
    }

    @Test func hugeBasketsSaturateRatherThanOverflow() throws {
        var rules = ProgramRules.initial()
        rules.earn.defaultPointsPerUnit = 1_000_000
        let calculator = EarnCalculator(rules: rules, campaigns: [])
        let line = PurchaseLine(sku: "GOLDBAR", quantity: 1_000_000, unitPriceMinor: 10_000_000_000_000)
        let earning = calculator.earning(for: member(), amount: try money("USD", 10_000_000_000_000), lines: [line], capRoom: nil)
        #expect(earning.points == Int64.max)
    }

    @Test func programmesAreValidatedFieldByField() {
        var rules = ProgramRules.initial()
        rules.tiers = TierRules(basis: .qualifyingPoints, windowDays: 30, tiers: [TierDefinition(code: "A"), TierDefinition(code: "B", threshold: 0)])
        #expect(throws: InvalidArgument("program.tiers.tiers[1].threshold", "must be greater than the tier below's")) { try rules.validate() }
        rules.tiers = TierRules(basis: .spend, windowDays: 30, tiers: [TierDefinition(code: "A")])
        #expect(throws: InvalidArgument.self) { try rules.validate() }
        rules.tiers = TierRules(tiers: [TierDefinition(code: "A", threshold: 5)])
        #expect(throws: InvalidArgument("program.tiers.tiers[0].threshold", "must be 0 for the first tier")) { try rules.validate() }
        rules = .initial()
        rules.earn.rates = [CurrencyRate(currencyCode: "USD", pointsPerUnit: 1), CurrencyRate(currencyCode: "USD", pointsPerUnit: 2)]
        #expect(throws: InvalidArgument("program.earn.rates[1].currency_code", "is listed twice")) { try rules.validate() }
    }
}
