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
            add("json_extract(m.attributes, ?) = ?", [Self.jsonPath(key), value])
        }
        if let lastPurchaseFrom { add("m.last_purchase_at >= ?", [lastPurchaseFrom]) }
        if let lastPurchaseBefore { add("m.last_purchase_at < ?", [lastPurchaseBefore]) }
        // A member who never bought in the currency has spent 0 in it.
        let spend = "COALESCE((SELECT s.spend_minor FROM member_spend s WHERE s.member_id = m.id AND s.currency_code = ?), 0)"
        if let low = minLifetimeSpendMinor { add("\(spend) >= ?", [spendCurrency, low]) }
        if let high = maxLifetimeSpendMinor { add("\(spend) <= ?", [spendCurrency, high]) }
        return (clauses.joined(separator: " AND "), arguments)
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    /// `$."key"`, with the key's quotes and backslashes escaped.
    private static func jsonPath(_ key: String) -> String {
        "$.\"" + key.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

extension MemberAccounts {
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
        let fetched = try await database.writer.read { db in
            try Member.fetchAll(
                db, sql: "SELECT m.* FROM member m WHERE m.seq > ? AND \(condition) ORDER BY m.seq LIMIT ?",
                arguments: [after] + arguments + [pageSize + 1])
        }
        let page = Page(fetched: fetched, pageSize: pageSize) { $0.seq ?? 0 }
        return (page.items, page.nextPageToken?.encoded(boundTo: binding) ?? "")
    }
}
