import Foundation
import GRDB
import LaurelShared
import Synchronization

/// When earned points expire: never, N days after earning, or at the end of
/// a calendar month or year (UTC) counted from the month or year of earning.
public enum ExpiryPolicy: Sendable, Equatable, CustomStringConvertible {
    case never
    case days(Int)
    /// End of the month `n` months after the month of earning (0: that month).
    case endOfMonth(Int)
    /// End of the year `n` years after the year of earning (0: that year).
    case endOfYear(Int)

    /// "never", "days:N", "end-of-month:N" or "end-of-year:N".
    public init(parsing text: String) throws(InvalidArgument) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let count = parts.count == 2 ? Int(parts[1]) : nil
        switch (parts.first ?? "", count) {
        case ("never", nil) where parts.count == 1: self = .never
        case ("days", let n?) where (1...36_500).contains(n): self = .days(n)
        case ("end-of-month", let n?) where (0...1_200).contains(n): self = .endOfMonth(n)
        case ("end-of-year", let n?) where (0...100).contains(n): self = .endOfYear(n)
        default:
            throw InvalidArgument("points-expiry", "must be never, days:N, end-of-month:N or end-of-year:N, got '\(text)'")
        }
    }

    public var description: String {
        switch self {
        case .never: "never"
        case .days(let n): "days:\(n)"
        case .endOfMonth(let n): "end-of-month:\(n)"
        case .endOfYear(let n): "end-of-year:\(n)"
        }
    }

    /// The instant points earned at `earned` expire (the first millisecond
    /// after their last valid day), or nil.
    public func expiry(of earned: Instant) -> Instant? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = earned.date
        switch self {
        case .never:
            return nil
        case .days(let n):
            return earned.adding(seconds: Int64(n) * 86_400)
        case .endOfMonth(let n):
            let month = calendar.dateComponents([.year, .month], from: date)
            let start = calendar.date(from: month)!
            return Instant(calendar.date(byAdding: .month, value: n + 1, to: start)!)
        case .endOfYear(let n):
            let year = calendar.dateComponents([.year], from: date)
            let start = calendar.date(from: year)!
            return Instant(calendar.date(byAdding: .year, value: n + 1, to: start)!)
        }
    }
}

/// Points credited together, spent oldest first, expiring together. A
/// member's lots' `remaining` sum to their available points.
struct PointLot: Codable, FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    static let databaseTableName = "point_lot"

    var id: Int64?
    var memberId: String
    var reference: String
    var earnedAt: Instant
    var expiresAt: Instant?
    var points: Points
    var remaining: Points

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// Which lots a hold took its points from, so a release or refund puts them
/// back where they were, expiry date included.
struct HoldLot: Codable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    static let databaseTableName = "hold_lot"

    var holdId: String
    var lotId: Int64
    var points: Points
}

/// Points about to expire, for GetBalance.
public struct ExpiringPoints: Sendable, Equatable {
    public var within30Days: Points
    public var nextExpiry: Instant?
}

extension MemberAccounts {
    /// Keeps the lots in step with a ledger entry's change to available points.
    func moveLots(_ db: Database, _ member: Member, kind: LedgerKind, available: Points, reference: String, now: Instant) throws {
        if available > 0 {
            switch kind {
            case .release, .expireHold, .refund:
                try restoreLots(db, member, holdId: reference, points: available, now: now)
            default:
                var lot = PointLot(
                    memberId: member.id, reference: reference, earnedAt: now, expiresAt: expiryPolicy.expiry(of: now),
                    points: available, remaining: available)
                try lot.insert(db)
            }
        } else if available < 0 && kind != .expire {
            try consumeLots(db, member, points: -available, holdId: kind == .hold ? reference : nil)
        }
    }

    /// Oldest first.
    private func consumeLots(_ db: Database, _ member: Member, points: Points, holdId: String?) throws {
        var owed = points
        let lots = try PointLot.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM point_lot WHERE member_id = ? AND remaining > 0 ORDER BY id"), arguments: [member.id])
        for var lot in lots where owed > 0 {
            let taken = min(owed, lot.remaining)
            lot.remaining -= taken
            owed -= taken
            try lot.updateRemaining(db)
            if let holdId { try HoldLot(holdId: holdId, lotId: lot.id!, points: taken).insert(db) }
        }
        guard owed == 0 else { throw LotsOutOfStep(memberId: member.id, missing: owed) }
    }

    private func restoreLots(_ db: Database, _ member: Member, holdId: String, points: Points, now: Instant) throws {
        var left = points
        let giveBack = try db.cachedStatement(sql: "UPDATE point_lot SET remaining = remaining + ? WHERE id = ?")
        for taken in try HoldLot.fetchAll(db.cachedStatement(sql: "SELECT * FROM hold_lot WHERE hold_id = ?"), arguments: [holdId]) where left > 0 {
            let back = min(left, taken.points)
            try giveBack.execute(arguments: [back, taken.lotId])
            left -= back
        }
        // A hold made before lots existed: its points predate expiry too.
        if left > 0 {
            var lot = PointLot(memberId: member.id, reference: holdId, earnedAt: now, expiresAt: nil, points: left, remaining: left)
            try lot.insert(db)
        }
    }

    /// Expires every lot past its date, a batch per transaction; returns the
    /// lots and points expired.
    @discardableResult
    public func expirePoints(batchSize: Int = 500) async throws -> (lots: Int, points: Points) {
        let clock = self.clock
        let points = Mutex<Points>(0)
        let lots = try await sweepInBatches(database.writer, batchSize: batchSize) { db, limit in
            let now = clock.now
            let due = try PointLot
                .filter(Column("remaining") > 0 && Column("expires_at") != nil && Column("expires_at") <= now)
                .order(Column("expires_at"), Column("id"))
                .limit(limit)
                .fetchAll(db)
            for var lot in due {
                var member = try Self.member(db, lot.memberId)
                try post(db, &member, kind: .expire, available: -lot.remaining, reference: "lot-\(lot.id!)", reason: "points expired", now: now)
                points.withLock { [lot] in $0 += lot.remaining }
                lot.remaining = 0
                try lot.updateRemaining(db)
            }
            return due.count
        }
        if lots > 0 { feed.notify() }
        return (lots, points.withLock { $0 })
    }

    /// Available points expiring within 30 days of now, and the next expiry.
    func expiring(_ db: Database, memberId: String, now: Instant) throws -> ExpiringPoints {
        let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT COALESCE(SUM(CASE WHEN expires_at <= ? THEN remaining ELSE 0 END), 0), MIN(expires_at)
                FROM point_lot WHERE member_id = ? AND remaining > 0 AND expires_at IS NOT NULL
                """),
            arguments: [now.adding(seconds: 30 * 86_400), memberId])
        return ExpiringPoints(within30Days: row?[0] ?? 0, nextExpiry: row?[1])
    }
}

/// The lots no longer add up to the available points: a bug, never a
/// client's fault, so it surfaces as INTERNAL and the transaction rolls back.
struct LotsOutOfStep: Error, CustomStringConvertible {
    var memberId: String
    var missing: Points
    var description: String { "point lots of \(memberId) are \(missing) short of the available balance" }
}
