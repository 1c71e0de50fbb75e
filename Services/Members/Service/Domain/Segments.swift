import Crypto
import Foundation
import GRDB
import LaurelShared

/// A segment of members for `ListMembers`: every condition set must hold.
/// Erased members never match.
public struct MemberFilter: Codable, Sendable, Equatable {
    public var tiers: [String] = []
    public var statuses: [MemberStatus] = []
    public var enrolledFrom: Instant?
    public var enrolledBefore: Instant?
    /// 1...12; 0 = any.
    public var birthMonth: Int = 0
    public var minAvailable: Points?
    public var maxAvailable: Points?
    public var attributes: [String: String] = [:]
    public var lastPurchaseFrom: Instant?
    public var lastPurchaseBefore: Instant?
    /// Required with either spend bound.
    public var spendCurrency: String = ""
    public var minLifetimeSpendMinor: Int64?
    public var maxLifetimeSpendMinor: Int64?

    public init() {}

    public var isEmpty: Bool { self == MemberFilter() }

    func validated() throws -> MemberFilter {
        guard tiers.count <= 50 else { throw InvalidArgument("filter.tiers", "must name at most 50 tiers") }
        for tier in tiers { _ = try Validate.identifier(tier, field: "filter.tiers") }
        guard (0...12).contains(birthMonth) else { throw InvalidArgument("filter.birth_month", "must be 1...12, or 0 for any") }
        _ = try Validate.attributes(attributes, field: "filter.attributes")
        if let minAvailable, let maxAvailable, minAvailable > maxAvailable {
            throw InvalidArgument("filter.min_available", "must not be above max_available")
        }
        if let from = enrolledFrom, let before = enrolledBefore, from >= before {
            throw InvalidArgument("filter.enrolled_from", "must be before enrolled_before")
        }
        if let from = lastPurchaseFrom, let before = lastPurchaseBefore, from >= before {
            throw InvalidArgument("filter.last_purchase_from", "must be before last_purchase_before")
        }
        var filter = self
        if minLifetimeSpendMinor != nil || maxLifetimeSpendMinor != nil || !spendCurrency.isEmpty {
            guard minLifetimeSpendMinor != nil || maxLifetimeSpendMinor != nil else {
                throw InvalidArgument("filter.min_lifetime_spend_minor", "a spend range needs a bound")
            }
            filter.spendCurrency = try Currency(spendCurrency, field: "filter.spend_currency").code
            if let low = minLifetimeSpendMinor, let high = maxLifetimeSpendMinor, low > high {
                throw InvalidArgument("filter.min_lifetime_spend_minor", "must not be above max_lifetime_spend_minor")
            }
        }
        return filter
    }

    /// Names the filter in page tokens, so a token is only taken back with
    /// the filter that produced it.
    var fingerprint: String {
        guard !isEmpty else { return "" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let digest = SHA256.hash(data: (try? encoder.encode(self)) ?? Data())
        return digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// The WHERE clause over `member` (aliased m) and its arguments.
    func condition(scope: AccessScope) -> (sql: String, arguments: StatementArguments) {
        var clauses = ["m.erased_at IS NULL"]
        var arguments = StatementArguments()
        func add(_ clause: String, _ values: [any DatabaseValueConvertible]) {
            clauses.append(clause)
            arguments += StatementArguments(values.map { $0.databaseValue })
        }
        if case .partner(let partnerId) = scope { add("m.partner_id = ?", [partnerId]) }
        if !tiers.isEmpty { add("m.tier IN (\(Self.placeholders(tiers.count)))", tiers) }
        if !statuses.isEmpty { add("m.status IN (\(Self.placeholders(statuses.count)))", statuses.map(\.rawValue)) }
        if let enrolledFrom { add("m.enrolled_at >= ?", [enrolledFrom]) }
        if let enrolledBefore { add("m.enrolled_at < ?", [enrolledBefore]) }
        if birthMonth != 0 { add("m.birth_month = ?", [birthMonth]) }
        if let minAvailable { add("m.available >= ?", [minAvailable]) }
        if let maxAvailable { add("m.available <= ?", [maxAvailable]) }
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
            add("EXISTS (SELECT 1 FROM member_attribute a WHERE a.member_seq = m.seq AND a.key = ? AND a.value = ?)", [key, value])
        }
        if let lastPurchaseFrom { add("m.last_purchase_at >= ?", [lastPurchaseFrom]) }
        if let lastPurchaseBefore { add("m.last_purchase_at < ?", [lastPurchaseBefore]) }
        // A member who never bought in the currency has spent 0 in it.
        let spend = "COALESCE((SELECT s.spend_minor FROM member_spend s WHERE s.member_id = m.id AND s.currency_code = ?), 0)"
        if let low = minLifetimeSpendMinor { add("\(spend) >= ?", [spendCurrency, low]) }
        if let high = maxLifetimeSpendMinor { add("\(spend) <= ?", [spendCurrency, high]) }
        return (clauses.joined(separator: " AND "), arguments)
    }

    /// A condition an index answers: `probe` lists the matching members'
    /// `key` (seq or id) straight from that index.
    struct IndexedCondition {
        var key: String
        var probe: String
        var arguments: StatementArguments

        var clause: String { "\(key) IN (\(probe))" }
    }

    /// The conditions an index answers, to find a rare segment without
    /// reading the table in order.
    func indexedConditions(scope: AccessScope) -> [IndexedCondition] {
        var conditions: [IndexedCondition] = []
        if case .partner(let partnerId) = scope {
            conditions.append(IndexedCondition(key: "m.seq", probe: "SELECT seq FROM member WHERE partner_id = ?", arguments: [partnerId]))
        }
        func range(_ column: String, _ low: DatabaseValue?, _ high: DatabaseValue?, highInclusive: Bool) {
            guard low != nil || high != nil else { return }
            var clauses: [String] = []
            var arguments = StatementArguments()
            if let low {
                clauses.append("\(column) >= ?")
                arguments += [low]
            }
            if let high {
                clauses.append("\(column) \(highInclusive ? "<=" : "<") ?")
                arguments += [high]
            }
            conditions.append(IndexedCondition(
                key: "m.seq", probe: "SELECT seq FROM member WHERE \(clauses.joined(separator: " AND "))", arguments: arguments))
        }
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
            conditions.append(IndexedCondition(
                key: "m.seq", probe: "SELECT member_seq FROM member_attribute WHERE key = ? AND value = ?", arguments: [key, value]))
        }
        if let low = minLifetimeSpendMinor, low > 0 {
            var probe = "SELECT member_id FROM member_spend WHERE currency_code = ? AND spend_minor >= ?"
            var arguments: StatementArguments = [spendCurrency, low]
            if let high = maxLifetimeSpendMinor {
                probe += " AND spend_minor <= ?"
                arguments += [high]
            }
            conditions.append(IndexedCondition(key: "m.id", probe: probe, arguments: arguments))
        }
        range("last_purchase_at", lastPurchaseFrom?.databaseValue, lastPurchaseBefore?.databaseValue, highInclusive: false)
        range("available", minAvailable?.databaseValue, maxAvailable?.databaseValue, highInclusive: true)
        range("enrolled_at", enrolledFrom?.databaseValue, enrolledBefore?.databaseValue, highInclusive: false)
        if birthMonth != 0 {
            conditions.append(IndexedCondition(key: "m.seq", probe: "SELECT seq FROM member WHERE birth_month = ?", arguments: [birthMonth]))
        }
        if !tiers.isEmpty {
            conditions.append(IndexedCondition(
                key: "m.seq", probe: "SELECT seq FROM member WHERE tier IN (\(Self.placeholders(tiers.count)))",
                arguments: StatementArguments(tiers)))
        }
        if !statuses.isEmpty {
            conditions.append(IndexedCondition(
                key: "m.seq", probe: "SELECT seq FROM member WHERE status IN (\(Self.placeholders(statuses.count)))",
                arguments: StatementArguments(statuses.map(\.rawValue))))
        }
        return conditions
    }

    /// The indexed condition matching fewest members, counted from its index
    /// up to `cap`; nil when there is none, or when each matches `cap` or
    /// more, so that reading the table in order is no worse.
    static func mostSelective(_ conditions: [IndexedCondition], _ db: Database, cap: Int) throws -> IndexedCondition? {
        var best: (condition: IndexedCondition, count: Int)?
        for condition in conditions {
            let count = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM (\(condition.probe) LIMIT ?)", arguments: condition.arguments + [cap]) ?? 0
            if count < cap, count < best?.count ?? .max { best = (condition, count) }
        }
        return best?.condition
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}

extension MemberAccounts {
    /// Keeps the indexed copy of a member's attributes in step with the row.
    static func saveAttributes(_ db: Database, _ member: Member) throws {
        guard let seq = member.seq else { return }
        try db.cachedStatement(sql: "DELETE FROM member_attribute WHERE member_seq = ?").execute(arguments: [seq])
        let insert = try db.cachedStatement(sql: "INSERT INTO member_attribute (member_seq, key, value) VALUES (?, ?, ?)")
        for (key, value) in member.attributes { try insert.execute(arguments: [seq, key, value]) }
    }

    /// Keeps the lifetime spend per currency that spend segments read.
    static func addSpend(_ db: Database, memberId: String, currencyCode: String, _ minor: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO member_spend (member_id, currency_code, spend_minor) VALUES (?, ?, ?)
            ON CONFLICT (member_id, currency_code) DO UPDATE SET spend_minor = spend_minor + excluded.spend_minor
            """).execute(arguments: [memberId, currencyCode, minor])
    }

    /// A page of the members matching `filter`, in enrolment order. The
    /// token is bound to the filter.
    public func members(
        matching filter: MemberFilter, pageSize: Int, pageToken: String, scope: AccessScope = .everyone
    ) async throws -> (members: [Member], nextPageToken: String) {
        let filter = try filter.validated()
        let binding = filter.fingerprint
        let after = try PageToken.decode(pageToken, boundTo: binding)?.after ?? 0
        let (condition, arguments) = filter.condition(scope: scope)
        let indexed = filter.indexedConditions(scope: scope)
        // A forged token may carry any number: clamp rather than overflow.
        let windowEnd = after > Int64.max - segmentScanWindow ? Int64.max : after + segmentScanWindow
        let cap = Int(min(segmentScanWindow, 1_000_000)) * 5
        let fetched = try await database.writer.read { db in
            func fetch(_ range: String, _ rangeArguments: StatementArguments, limit: Int) throws -> [Member] {
                try Member.fetchAll(
                    db, sql: "SELECT m.* FROM member m WHERE \(range) AND \(condition) ORDER BY m.seq LIMIT ?",
                    arguments: rangeArguments + arguments + [limit])
            }
            // A common segment fills its page from the next members in order;
            // a rare one would make that read the whole table, so past a
            // window its members are found from an index instead.
            var fetched = try fetch("m.seq > ? AND m.seq <= ?", [after, windowEnd], limit: pageSize + 1)
            if fetched.count <= pageSize {
                let rest = pageSize + 1 - fetched.count
                if let driver = try MemberFilter.mostSelective(indexed, db, cap: cap) {
                    fetched += try fetch("m.seq > ? AND \(driver.clause)", [windowEnd] + driver.arguments, limit: rest)
                } else {
                    fetched += try fetch("m.seq > ?", [windowEnd], limit: rest)
                }
            }
            return fetched
        }
        let page = Page(fetched: fetched, pageSize: pageSize) { $0.seq ?? 0 }
        return (page.items, page.nextPageToken?.encoded(boundTo: binding) ?? "")
    }
}
