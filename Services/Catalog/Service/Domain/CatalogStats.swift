import GRDB
import LaurelShared

/// The catalogue's figures (see GetCatalogStats).
public struct CatalogStats: Sendable, Equatable {
    public var rewardsTotal: Int64
    public var rewardsActive: Int64
    public var stockAvailable: Int64
    public var stockReserved: Int64
    public var unitsCommitted: Int64
    public var unitsReleased: Int64
    public var topRewards: [RewardFigure]
}

public struct RewardFigure: Sendable, Equatable {
    public var rewardId: String
    public var name: String
    public var units: Int64
    public var points: Int64
}

extension RewardCatalog {
    /// Stock now; reservations by when they were created. Archived rewards
    /// are not counted; active ones are on offer and within their validity.
    public func stats(_ range: TimeRange, top: Int) async throws -> CatalogStats {
        let now = clock.now
        return try await database.writer.read { db in
            let rewards = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*),
                      COALESCE(SUM(active AND (valid_from IS NULL OR valid_from <= :now) AND (valid_until IS NULL OR valid_until > :now)), 0),
                      COALESCE(SUM(CASE WHEN unlimited_stock THEN 0 ELSE stock_available END), 0),
                      COALESCE(SUM(stock_reserved), 0)
                    FROM reward WHERE NOT archived
                    """,
                arguments: ["now": now])!
            let units = try Row.fetchOne(
                db,
                sql: """
                    SELECT COALESCE(SUM(CASE WHEN status = 'COMMITTED' THEN quantity ELSE 0 END), 0),
                      COALESCE(SUM(CASE WHEN status IN ('RELEASED', 'EXPIRED', 'RESTOCKED') THEN quantity ELSE 0 END), 0)
                    FROM reservation WHERE created_at >= ? AND created_at < ?
                    """,
                arguments: [range.from, range.to])!
            let top = try Row.fetchAll(
                db,
                sql: """
                    SELECT r.reward_id, w.name, SUM(r.quantity) AS units, SUM(r.quantity * r.unit_cost_points)
                    FROM reservation r JOIN reward w ON w.id = r.reward_id
                    WHERE r.status = 'COMMITTED' AND r.created_at >= ? AND r.created_at < ?
                    GROUP BY r.reward_id ORDER BY units DESC, r.reward_id LIMIT ?
                    """,
                arguments: [range.from, range.to, top])
            return CatalogStats(
                rewardsTotal: rewards[0], rewardsActive: rewards[1], stockAvailable: rewards[2], stockReserved: rewards[3],
                unitsCommitted: units[0], unitsReleased: units[1],
                topRewards: top.map { RewardFigure(rewardId: $0[0], name: $0[1], units: $0[2], points: $0[3]) })
        }
    }
}
