import Foundation
import GRDB
import LaurelShared
import Synchronization

/// Where a member stands in the tier programme, for GetMember.
public struct TierStatus: Sendable, Equatable {
    public var tier: String
    public var basis: TierBasis
    public var qualifyingValue: Int64
    public var spendCurrency: String
    public var nextTier: String
    public var neededForNextTier: Int64
    public var neededToKeepTier: Int64
    public var reviewAt: Instant?
    public var tierFloor: String
}

/// Tiers move up at once when a member qualifies, and are re-evaluated a
/// window after they were reached: then the member keeps the highest tier
/// they qualify for, never below their floor. A refund that takes the
/// qualifying value below the tier moves the member down at once, but never
/// below the tier they held before their last upgrade: a refund undoes an
/// upgrade it paid for, not a tier earned before.
extension MemberAccounts {
    /// Qualifying points or spend over the window ending now.
    static func qualifyingValue(_ db: Database, memberId: String, rules: TierRules, now: Instant) throws -> Int64 {
        let since = now.adding(seconds: -Int64(rules.windowDays) * 86_400)
        switch rules.basis {
        case .manual:
            return 0
        case .qualifyingPoints:
            return try Int64.fetchOne(
                db,
                sql: """
                    SELECT COALESCE(SUM(points_earned - points_reversed), 0) FROM purchase
                    WHERE member_id = ? AND occurred_at >= ? AND occurred_at <= ?
                    """,
                arguments: [memberId, since, now]) ?? 0
        case .spend:
            return try Int64.fetchOne(
                db,
                sql: """
                    SELECT COALESCE(SUM(amount_minor - refunded_minor), 0) FROM purchase
                    WHERE member_id = ? AND currency_code = ? AND occurred_at >= ? AND occurred_at <= ?
                    """,
                arguments: [memberId, rules.spendCurrency, since, now]) ?? 0
        }
    }

    /// The rank of the highest tier `value` qualifies for.
    static func qualifiedRank(_ value: Int64, _ rules: TierRules) -> Int {
        rules.tiers.lastIndex { $0.threshold <= value } ?? 0
    }

    /// After a purchase: up at once if the member now qualifies higher.
    func reconsiderTier(_ db: Database, _ member: inout Member, program: Program, now: Instant) throws {
        let rules = program.rules.tiers
        guard rules.qualifies else { return }
        let tiers = program.rules.tierOrder
        let value = try Self.qualifyingValue(db, memberId: member.id, rules: rules, now: now)
        let target = Self.qualifiedRank(value, rules)
        guard target > tiers.rank(of: member.tier) ?? 0 else { return }
        member.previousTier = member.tier
        try changeTier(db, &member, to: tiers.codes[target], reviewAt: now.adding(seconds: Int64(rules.windowDays) * 86_400), now: now)
    }

    /// After a refund: down at once to what the member still qualifies for,
    /// but not below the tier before the last upgrade nor the floor.
    func reconsiderTierAfterRefund(_ db: Database, _ member: inout Member, program: Program, now: Instant) throws {
        let rules = program.rules.tiers
        guard rules.qualifies else { return }
        let tiers = program.rules.tierOrder
        let current = tiers.rank(of: member.tier) ?? 0
        let value = try Self.qualifyingValue(db, memberId: member.id, rules: rules, now: now)
        let lowest = max(tiers.rank(of: member.previousTier) ?? 0, tiers.rank(of: member.tierFloor) ?? 0)
        let target = max(Self.qualifiedRank(value, rules), lowest)
        guard target < current else { return }
        try changeTier(db, &member, to: tiers.codes[target], reviewAt: member.tierReviewAt, now: now)
    }

    /// A tier set by hand counts as reached now: it is reviewed a window
    /// later and a refund never takes the member below it.
    func assignTier(_ db: Database, _ member: inout Member, _ tier: String, program: Program, now: Instant) throws {
        let rules = program.rules.tiers
        let reviewAt = rules.qualifies && tier != program.rules.tierOrder.entry ? now.adding(seconds: Int64(rules.windowDays) * 86_400) : nil
        member.previousTier = tier
        try changeTier(db, &member, to: tier, reviewAt: reviewAt, now: now)
    }

    /// A floor above the member's tier lifts them to it at once.
    func setTierFloor(_ db: Database, _ member: inout Member, _ floor: String, program: Program, now: Instant) throws {
        member.tierFloor = floor
        let tiers = program.rules.tierOrder
        if !floor.isEmpty, (tiers.rank(of: floor) ?? 0) > (tiers.rank(of: member.tier) ?? 0) {
            try assignTier(db, &member, floor, program: program, now: now)
        } else {
            member.updatedAt = now
            try member.update(db)
        }
    }

    /// Writes the member with its new tier and review date, and a
    /// TIER_CHANGED event when the tier moved.
    func changeTier(_ db: Database, _ member: inout Member, to tier: String, reviewAt: Instant?, now: Instant) throws {
        let before = member.tier
        member.tier = tier
        member.tierReviewAt = reviewAt
        member.updatedAt = now
        try member.update(db)
        if before != tier {
            try MemberEvent.append(db, member, .tierChanged, tierFrom: before, tierTo: tier, now: now)
        }
    }

    /// Re-evaluates every member whose review is due, a batch per
    /// transaction. Returns how many were evaluated and how many changed tier.
    @discardableResult
    public func evaluateTiers(batchSize: Int = 500) async throws -> (evaluated: Int, changed: Int) {
        let clock = self.clock
        let changed = Mutex(0)
        let evaluated = try await sweepInBatches(database.writer, batchSize: batchSize) { db, limit in
            let now = clock.now
            let program = try programs.stored(db, now: now)
            let rules = program.rules.tiers
            let tiers = program.rules.tierOrder
            let due = try Member.filter(Column("tier_review_at") <= now).limit(limit).fetchAll(db)
            for var member in due {
                let before = member.tier
                guard rules.qualifies else {
                    try changeTier(db, &member, to: member.tier, reviewAt: nil, now: now)
                    continue
                }
                let value = try Self.qualifyingValue(db, memberId: member.id, rules: rules, now: now)
                let target = max(Self.qualifiedRank(value, rules), tiers.rank(of: member.tierFloor) ?? 0)
                member.previousTier = tiers.codes[target]
                let reviewAt = target > 0 ? now.adding(seconds: Int64(rules.windowDays) * 86_400) : nil
                try changeTier(db, &member, to: tiers.codes[target], reviewAt: reviewAt, now: now)
                if member.tier != before { changed.withLock { $0 += 1 } }
            }
            return due.count
        }
        if evaluated > 0 { feed.notify() }
        return (evaluated, changed.withLock { $0 })
    }

    /// Where the member stands, read in one transaction.
    public func tierStatus(of member: Member) async throws -> TierStatus {
        let now = clock.now
        return try await database.writer.read { db in
            let program = try programs.current(db)
            let rules = program.rules.tiers
            var status = TierStatus(
                tier: member.tier, basis: rules.basis, qualifyingValue: 0, spendCurrency: rules.basis == .spend ? rules.spendCurrency : "",
                nextTier: "", neededForNextTier: 0, neededToKeepTier: 0, reviewAt: member.tierReviewAt, tierFloor: member.tierFloor)
            guard rules.qualifies, let rank = program.rules.tierOrder.rank(of: member.tier) else { return status }
            let value = try Self.qualifyingValue(db, memberId: member.id, rules: rules, now: now)
            status.qualifyingValue = value
            if rank + 1 < rules.tiers.count {
                status.nextTier = rules.tiers[rank + 1].code
                status.neededForNextTier = max(0, rules.tiers[rank + 1].threshold - value)
            }
            status.neededToKeepTier = max(0, rules.tiers[rank].threshold - value)
            return status
        }
    }
}
