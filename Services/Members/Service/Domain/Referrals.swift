import Foundation
import GRDB
import LaurelShared

/// A referee's link to the member whose code they used; rewarded once, on
/// the referee's first purchase that earns points.
public struct Referral: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "referral"

    public var refereeId: String
    public var referrerId: String
    public var createdAt: Instant
    public var rewardedAt: Instant?
    /// The purchase that triggered the reward.
    public var orderId: String?
}

extension MemberAccounts {
    /// Makes `member` the referee of the owner of `code`. A code is found only
    /// among the members the caller may see, and never for a closed member,
    /// so a partner cannot probe another partner's codes.
    func applyReferralCode(_ db: Database, _ member: inout Member, code: String, scope: AccessScope, now: Instant) throws {
        // Codes are read aloud and typed: any case will do.
        let candidates = [code, code.uppercased(), code.lowercased()]
        guard
            let referrer = try Member.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM member WHERE referral_code IN (?, ?, ?) LIMIT 1"), arguments: StatementArguments(candidates)),
            scope.includes(ownerPartnerId: referrer.partnerId), referrer.status != .closed
        else { throw MembersError.referralCodeNotFound(code) }

        if member.referredBy == referrer.id { return }
        guard referrer.id != member.id, !Self.sameEmail(referrer, member) else { throw MembersError.selfReferral(memberId: member.id) }
        guard member.referredBy.isEmpty else { throw MembersError.alreadyReferred(memberId: member.id, referrerId: member.referredBy) }
        let earnedOnPurchase = try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM purchase WHERE member_id = ? AND points_earned > 0)", arguments: [member.id]) ?? false
        guard !earnedOnPurchase else { throw MembersError.referralTooLate(memberId: member.id) }
        try Self.refuseLoop(db, referee: member.id, referrer: referrer.id)

        try Referral(refereeId: member.id, referrerId: referrer.id, createdAt: now).insert(db)
        member.referredBy = referrer.id
        member.updatedAt = now
        try member.update(db)
    }

    private static func sameEmail(_ one: Member, _ other: Member) -> Bool {
        !one.email.isEmpty && one.email.lowercased() == other.email.lowercased()
    }

    /// Walks up from the referrer: meeting the referee means the new link
    /// would close a circle. Links are only ever added through this check, so
    /// the walk ends; the bound guards against a database edited by hand.
    private static func refuseLoop(_ db: Database, referee: String, referrer: String) throws {
        var current = referrer
        for _ in 0..<100_000 {
            guard let next = try String.fetchOne(db, sql: "SELECT referrer_id FROM referral WHERE referee_id = ?", arguments: [current])
            else { return }
            if next == referee { throw MembersError.referralLoop(memberId: referee, referrerId: referrer) }
            current = next
        }
        throw MembersError.referralLoop(memberId: referee, referrerId: referrer)
    }

    func grantEnrolmentBonus(_ db: Database, _ member: inout Member, program: Program, now: Instant) throws {
        let points = program.rules.bonuses.enrolmentPoints
        guard points > 0 else { return }
        try earn(
            db, &member, points, kind: .bonus, reference: member.externalId, reason: "enrolment bonus",
            rule: RuleVersion(rule: "enrolment", version: program.version), now: now)
    }

    /// Rewards the referee and the referrer, once, when a purchase of the
    /// referee earns points. A later refund of that purchase leaves the
    /// rewards alone: the referral happened.
    func rewardReferral(_ db: Database, referee member: inout Member, orderId: String, program: Program, now: Instant) throws {
        guard !member.referredBy.isEmpty,
            var referral = try Referral.fetchOne(db, key: member.id), referral.rewardedAt == nil
        else { return }
        let rules = program.rules.referrals
        if rules.refereePoints > 0 {
            try earn(
                db, &member, rules.refereePoints, kind: .bonus, reference: orderId, reason: "referral bonus",
                rule: RuleVersion(rule: "referral:referee", version: program.version), now: now)
        }
        var referrer = try Self.member(db, referral.referrerId)
        if rules.referrerPoints > 0, referrer.status == .active {
            try earn(
                db, &referrer, rules.referrerPoints, kind: .bonus, reference: member.id, reason: "referral bonus",
                rule: RuleVersion(rule: "referral:referrer", version: program.version), now: now)
        }
        referral.rewardedAt = now
        referral.orderId = orderId
        try referral.update(db)
    }
}

extension MemberAccounts {
    /// Grants the programme's birthday points to every active member in their
    /// birthday month (UTC) who has not had them this year. Run by the
    /// periodic sweep and `RunProgramSweep`; returns how many were granted.
    public func grantBirthdayBonuses(batchSize: Int = 500) async throws -> Int {
        let clock = self.clock
        let granted = try await sweepInBatches(database.writer, batchSize: batchSize) { db, limit in
            let now = clock.now
            let program = try programs.stored(db, now: now)
            let points = program.rules.bonuses.birthdayPoints
            guard points > 0 else { return 0 }
            let today = CalendarDate(now.date)
            let due = try Member.fetchAll(
                db,
                sql: "SELECT * FROM member WHERE birth_month = ? AND birthday_bonus_year < ? AND status = ? LIMIT ?",
                arguments: [today.month, today.year, MemberStatus.active.rawValue, limit])
            for var member in due {
                member.birthdayBonusYear = Int64(today.year)
                try earn(
                    db, &member, points, kind: .bonus, reference: "birthday-\(today.year)", reason: "birthday bonus",
                    rule: RuleVersion(rule: "birthday", version: program.version), now: now)
            }
            return due.count
        }
        if granted > 0 { feed.notify() }
        return granted
    }
}
