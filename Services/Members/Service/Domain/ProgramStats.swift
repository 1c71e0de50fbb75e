import GRDB
import LaurelShared

/// The programme's figures over a time range (see GetProgramStats).
public struct ProgramStats: Sendable, Equatable {
    public var membersTotal: Int64
    public var membersEnrolled: Int64
    public var membersActive: Int64
    public var pointsIssued: Points
    public var pointsRedeemed: Points
    public var pointsExpired: Points
    public var pointsReversed: Points
    public var pointsOutstanding: Points
    /// Nil without a point value in the programme.
    public var liability: Money?
    public var redemptionRateBasisPoints: Int64
    public var membersByTier: [String: Int64]
}

extension MemberAccounts {
    /// Read in one transaction, so the figures agree with each other.
    public func programStats(_ range: TimeRange, activeDays: Int) async throws -> ProgramStats {
        guard (0...3650).contains(activeDays) else { throw InvalidArgument("active_days", "must be 0...3650, got \(activeDays)") }
        let activeSince = range.to.adding(seconds: -Int64(activeDays == 0 ? 30 : activeDays) * 86_400)
        return try await database.writer.read { db in
            let members = try Row.fetchOne(
                db, sql: "SELECT COUNT(*), COALESCE(SUM(enrolled_at >= ?), 0) FROM member WHERE enrolled_at < ?",
                arguments: [range.from, range.to])!
            let active = try Int64.fetchOne(
                db, sql: "SELECT COUNT(DISTINCT member_id) FROM purchase WHERE occurred_at >= ? AND occurred_at < ?",
                arguments: [activeSince, range.to]) ?? 0
            // Issued counts what was credited, repaid debt included; reversed
            // what refunds took back, debt they created included.
            let ledger = try Row.fetchOne(
                db,
                sql: """
                    SELECT
                      COALESCE(SUM(CASE WHEN kind IN ('EARN', 'BONUS') THEN available_delta - debt_delta
                                        WHEN kind = 'ADJUST' AND available_delta > 0 THEN available_delta ELSE 0 END), 0),
                      COALESCE(SUM(CASE WHEN kind = 'CAPTURE' THEN -held_delta ELSE 0 END), 0),
                      COALESCE(SUM(CASE WHEN kind = 'EXPIRE' THEN -available_delta ELSE 0 END), 0),
                      COALESCE(SUM(CASE WHEN kind = 'REVERSE' THEN debt_delta - available_delta ELSE 0 END), 0)
                    FROM ledger_entry WHERE created_at >= ? AND created_at < ?
                    """,
                arguments: [range.from, range.to])!
            let outstanding = try Points.fetchOne(db, sql: "SELECT COALESCE(SUM(available + held), 0) FROM member") ?? 0
            let byTier = try Row.fetchAll(db, sql: "SELECT tier, COUNT(*) FROM member GROUP BY tier")
            let issued: Points = ledger[0]
            let redeemed: Points = ledger[1]
            let liability = try programs.current(db).rules.pointValue.map { value in
                Money(
                    currency: try Currency(value.currencyCode, field: "point_value.currency_code"),
                    minorUnits: Self.share(of: outstanding, value.minorUnitsPer1000Points, 1000))
            }
            return ProgramStats(
                membersTotal: members[0], membersEnrolled: members[1], membersActive: active,
                pointsIssued: issued, pointsRedeemed: redeemed, pointsExpired: ledger[2], pointsReversed: ledger[3],
                pointsOutstanding: outstanding, liability: liability,
                redemptionRateBasisPoints: issued > 0 ? Self.share(of: redeemed, 10_000, issued) : 0,
                membersByTier: Dictionary(uniqueKeysWithValues: byTier.map { ($0[0], $0[1]) }))
        }
    }
}
