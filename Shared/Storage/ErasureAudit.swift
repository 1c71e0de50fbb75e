import GRDB

/// The audit record of one erasure, kept by each service: who asked (the
/// API key), when and why. It holds no personal data. Its request id is the
/// erasure's idempotency key.
public struct ErasureAudit: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "erasure_audit"

    public var requestId: String
    public var memberId: String
    public var keyId: String
    public var reason: String
    public var erasedAt: Instant
    /// Rows this service anonymised, answered again on a repeated request.
    public var anonymised: Int64

    public init(requestId: String, memberId: String, keyId: String, reason: String, erasedAt: Instant, anonymised: Int64) {
        self.requestId = requestId
        self.memberId = memberId
        self.keyId = keyId
        self.reason = reason
        self.erasedAt = erasedAt
        self.anonymised = anonymised
    }

    /// The table, created by each service's migration.
    public static func migrate(_ db: Database) throws {
        try db.create(table: databaseTableName) { t in
            t.primaryKey("request_id", .text)
            t.column("member_id", .text).notNull()
            t.column("key_id", .text).notNull()
            t.column("reason", .text).notNull()
            t.column("erased_at", .integer).notNull()
            t.column("anonymised", .integer).notNull()
        }
        try db.create(index: "erasure_audit_by_member", on: databaseTableName, columns: ["member_id"])
    }

    /// The erasure already made under `requestId`, if any; the same key for
    /// another member is refused.
    public static func previous(_ db: Database, requestId: String, memberId: String) throws -> ErasureAudit? {
        guard let audit = try ErasureAudit.fetchOne(db, key: requestId) else { return nil }
        guard audit.memberId == memberId else { throw IdempotencyKeyReused(field: "request_id", key: requestId) }
        return audit
    }
}
