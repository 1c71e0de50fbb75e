import Foundation
import GRDB
import LaurelShared

/// Who and what a campaign applies to; every condition set must hold.
public struct CampaignTarget: Codable, Sendable, Equatable {
    public var tiers: [String]
    public var attributes: [String: String]
    public var enrolledFrom: Instant?
    public var enrolledBefore: Instant?
    public var skus: [String]
    public var categories: [String]

    public init(
        tiers: [String] = [], attributes: [String: String] = [:], enrolledFrom: Instant? = nil, enrolledBefore: Instant? = nil,
        skus: [String] = [], categories: [String] = []
    ) {
        self.tiers = tiers
        self.attributes = attributes
        self.enrolledFrom = enrolledFrom
        self.enrolledBefore = enrolledBefore
        self.skus = skus
        self.categories = categories
    }

    func includes(_ member: Earner) -> Bool {
        (tiers.isEmpty || tiers.contains(member.tier))
            && attributes.allSatisfy { member.attributes[$0.key] == $0.value }
            && enrolledFrom.map { member.enrolledAt >= $0 } ?? true
            && enrolledBefore.map { member.enrolledAt < $0 } ?? true
    }

    var targetsLines: Bool { !skus.isEmpty || !categories.isEmpty }

    func includes(_ line: PurchaseLine) -> Bool {
        !targetsLines || skus.contains(line.sku) || (!line.category.isEmpty && categories.contains(line.category))
    }
}

public enum CampaignReward: Codable, Sendable, Equatable {
    /// 200 doubles the base points of targeted lines.
    case multiplier(percent: Int)
    /// Once per purchase.
    case bonus(points: Points)
}

public enum CampaignStatus: String, Sendable {
    case scheduled = "SCHEDULED"
    case active = "ACTIVE"
    case ended = "ENDED"
}

/// A time-boxed bonus. Its id is client-chosen, so creating it is idempotent;
/// it is never edited, only ended early.
public struct Campaign: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "campaign"

    public var seq: Int64?
    public var id: String
    public var name: String
    public var startsAt: Instant
    public var endsAt: Instant
    public var multiplierPercent: Int
    public var bonusPoints: Points
    public var target: CampaignTarget
    public var endedAt: Instant?
    public var createdAt: Instant

    public init(
        id: String, name: String, startsAt: Instant, endsAt: Instant, reward: CampaignReward, target: CampaignTarget = CampaignTarget(),
        endedAt: Instant? = nil, createdAt: Instant = Instant(millisecondsSince1970: 0)
    ) {
        self.id = id
        self.name = name
        self.startsAt = startsAt
        self.endsAt = endsAt
        switch reward {
        case .multiplier(let percent): (multiplierPercent, bonusPoints) = (percent, 0)
        case .bonus(let points): (multiplierPercent, bonusPoints) = (0, points)
        }
        self.target = target
        self.endedAt = endedAt
        self.createdAt = createdAt
    }

    public var reward: CampaignReward { bonusPoints > 0 ? .bonus(points: bonusPoints) : .multiplier(percent: multiplierPercent) }

    /// When it stops applying: its end, or when it was ended early.
    public var effectiveEnd: Instant { min(endsAt, endedAt ?? endsAt) }

    public func status(at now: Instant) -> CampaignStatus {
        if now >= effectiveEnd { return .ended }
        return now >= startsAt ? .active : .scheduled
    }

    public var rule: String { "campaign:\(id)" }

    func validate() throws(InvalidArgument) {
        _ = try Validate.identifier(id, field: "campaign.campaign_id")
        _ = try Validate.text(name, field: "campaign.name", maxLength: 200, required: true)
        guard startsAt < endsAt else { throw InvalidArgument("campaign.ends_at", "must be after starts_at") }
        switch reward {
        case .multiplier(let percent):
            guard (101...10_000).contains(percent) else {
                throw InvalidArgument("campaign.multiplier_percent", "must be between 101 and 10000, got \(percent)")
            }
        case .bonus(let points):
            try ProgramRules.points(points, "campaign.bonus_points")
        }
        guard target.tiers.count <= 20, target.skus.count <= 1000, target.categories.count <= 1000 else {
            throw InvalidArgument("campaign.target", "lists too many tiers, SKUs or categories")
        }
        _ = try Validate.attributes(target.attributes, field: "campaign.target.attributes")
        for (index, sku) in target.skus.enumerated() { _ = try Validate.identifier(sku, field: "campaign.target.skus[\(index)]") }
        for (index, category) in target.categories.enumerated() {
            _ = try Validate.text(category, field: "campaign.target.categories[\(index)]", maxLength: 128, required: true)
        }
        if let from = target.enrolledFrom, let before = target.enrolledBefore, from >= before {
            throw InvalidArgument("campaign.target.enrolled_before", "must be after enrolled_from")
        }
    }
}

extension MemberAccounts {
    /// Idempotent on the campaign id: the same campaign again returns it.
    public func createCampaign(_ campaign: Campaign) async throws -> Campaign {
        var campaign = campaign
        campaign.seq = nil
        campaign.endedAt = nil
        campaign.createdAt = Instant(millisecondsSince1970: 0)
        try campaign.validate()
        let now = clock.now
        let program = try await database.writer.read { db in try self.programs.current(db) }
        for (index, tier) in campaign.target.tiers.enumerated() where program.rules.tier(tier) == nil {
            throw InvalidArgument("campaign.target.tiers[\(index)]", "'\(tier)' is not one of this programme's tiers")
        }
        let request = campaign
        return try await write { db in
            try IdempotencyKeys.run(
                db, scope: "campaign", key: request.id, field: "campaign_id", request: request, now: now,
                conflict: { MembersError.campaignAlreadyExists(request.id) }
            ) {
                var created = request
                created.createdAt = now
                try created.insert(db)
                created.seq = db.lastInsertedRowID
                return created
            }
        }
    }

    /// Oldest first.
    public func campaigns(includeEnded: Bool, pageSize: Int, after token: PageToken?) async throws -> Page<Campaign> {
        let now = clock.now
        return try await database.writer.read { db in
            var query = Campaign.filter(Column("seq") > (token?.after ?? 0))
            if !includeEnded {
                query = query.filter(Column("ends_at") > now && (Column("ended_at") == nil || Column("ended_at") > now))
            }
            let fetched = try query.order(Column("seq")).limit(pageSize + 1).fetchAll(db)
            return Page(fetched: fetched, pageSize: pageSize) { $0.seq ?? 0 }
        }
    }

    /// Ending an ended campaign returns it unchanged.
    public func endCampaign(id: String) async throws -> Campaign {
        let id = try Validate.identifier(id, field: "campaign_id")
        let now = clock.now
        return try await write { db in
            guard var campaign = try Campaign.filter(Column("id") == id).fetchOne(db) else { throw MembersError.campaignNotFound(id) }
            if campaign.status(at: now) != .ended {
                campaign.endedAt = now
                try campaign.update(db)
            }
            return campaign
        }
    }

    /// Campaigns a purchase that occurred at `instant` gets.
    static func campaigns(_ db: Database, activeAt instant: Instant) throws -> [Campaign] {
        // Every purchase asks: a cached statement.
        try Campaign.fetchAll(
            db.cachedStatement(sql: """
                SELECT * FROM campaign
                WHERE starts_at <= :now AND ends_at > :now AND (ended_at IS NULL OR ended_at > :now)
                ORDER BY seq
                """),
            arguments: ["now": instant])
    }
}
