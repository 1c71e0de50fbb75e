import Foundation
import GRDB
import LaurelShared
import Synchronization

/// An API key as stored: its secret only as a SHA-256 hash.
public struct ApiKey: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "api_key"

    /// Creation order, for stable pagination.
    public var seq: Int64?
    public var id: String
    public var name: String
    public var role: Role
    public var partnerId: String
    public var rateLimitPerSecond: Int
    public var secretHash: Data
    public var createdAt: Instant
    public var revokedAt: Instant?

    public var principal: Principal {
        Principal(keyId: id, name: name, role: role, partnerId: partnerId, rateLimitPerSecond: rateLimitPerSecond)
    }
}

public struct CreateKeyRequest: Codable, Sendable, Equatable {
    public var name: String
    public var role: Role
    public var partnerId: String
    public var rateLimitPerSecond: Int
    public var requestId: String

    public init(name: String, role: Role, partnerId: String = "", rateLimitPerSecond: Int = 0, requestId: String) {
        self.name = name
        self.role = role
        self.partnerId = partnerId
        self.rateLimitPerSecond = rateLimitPerSecond
        self.requestId = requestId
    }
}

/// The keys every Laurel service accepts. The members service owns them;
/// the others ask it (AccessService.WhoAmI). Checked keys are kept in memory,
/// and since this is the only writer of the table, revocation takes effect
/// here at once.
public final class ApiKeys: KeyAuthenticator {
    public let database: MembersDatabase
    private let clock: WallClock
    private let cache = Mutex(KeyCache())

    /// `revocations` lets a check that read the table before a revocation
    /// committed see that it must not cache what it read.
    private struct KeyCache {
        var keys: [String: ApiKey] = [:]
        var revocations = 0
    }

    public init(database: MembersDatabase, clock: WallClock = .system) {
        self.database = database
        self.clock = clock
    }

    /// The key and its secret text, which is not stored and never shown again.
    public func create(_ request: CreateKeyRequest) async throws -> (key: ApiKey, secret: String) {
        let name = try Validate.text(request.name, field: "name", maxLength: 200, required: true)
        let requestId = try Validate.identifier(request.requestId, field: "request_id")
        switch request.role {
        case .partner:
            _ = try Validate.identifier(request.partnerId, field: "partner_id")
        case .operator, .service:
            guard request.partnerId.isEmpty else { throw InvalidArgument("partner_id", "is only for partner keys") }
        }
        guard (0...1_000_000).contains(request.rateLimitPerSecond) else {
            throw InvalidArgument("rate_limit_per_second", "must be 0...1000000")
        }
        let secret = ApiKeySecret.generate()
        let now = clock.now
        let key = try await database.writer.write { db in
            try IdempotencyKeys.run(db, scope: "api_key", key: requestId, field: "request_id", request: request, now: now) {
                var key = ApiKey(
                    id: secret.keyId, name: name, role: request.role, partnerId: request.partnerId,
                    rateLimitPerSecond: request.rateLimitPerSecond, secretHash: secret.hash, createdAt: now, revokedAt: nil)
                try key.insert(db)
                key.seq = db.lastInsertedRowID
                return key
            }
        }
        guard key.id == secret.keyId else { throw MembersError.apiKeySecretAlreadyIssued(requestId: requestId, keyId: key.id) }
        return (key, secret.text)
    }

    /// On first start, when there are no keys at all, creates an operator key
    /// and returns its secret (for the caller to show once); nil otherwise.
    public func bootstrapOperatorKey() async throws -> String? {
        let secret = ApiKeySecret.generate()
        let now = clock.now
        let created = try await database.writer.write { db -> Bool in
            guard try ApiKey.fetchCount(db) == 0 else { return false }
            try ApiKey(
                id: secret.keyId, name: "bootstrap operator", role: .operator, partnerId: "", rateLimitPerSecond: 0,
                secretHash: secret.hash, createdAt: now, revokedAt: nil
            ).insert(db)
            return true
        }
        return created ? secret.text : nil
    }

    public func list(pageSize: Int, after token: PageToken?, includeRevoked: Bool) async throws -> Page<ApiKey> {
        try await database.writer.read { db in
            var query = ApiKey.filter(Column("seq") > (token?.after ?? 0))
            if !includeRevoked { query = query.filter(Column("revoked_at") == nil) }
            let fetched = try query.order(Column("seq")).limit(pageSize + 1).fetchAll(db)
            return Page(fetched: fetched, pageSize: pageSize) { $0.seq ?? 0 }
        }
    }

    /// Revoking a revoked key returns it unchanged.
    public func revoke(keyId: String) async throws -> ApiKey {
        let keyId = try Validate.identifier(keyId, field: "key_id")
        let now = clock.now
        let key = try await database.writer.write { db in
            guard var key = try ApiKey.filter(Column("id") == keyId).fetchOne(db) else { throw MembersError.apiKeyNotFound(keyId) }
            if key.revokedAt == nil {
                key.revokedAt = now
                try key.update(db)
            }
            return key
        }
        cache.withLock {
            $0.keys[keyId] = nil
            $0.revocations += 1
        }
        return key
    }

    public func authenticate(_ presented: ApiKeySecret) async throws -> Principal {
        let key: ApiKey
        let (cached, revocations) = cache.withLock { ($0.keys[presented.keyId], $0.revocations) }
        if let cached {
            key = cached
        } else {
            guard let stored = try await database.writer.read({ db in
                try ApiKey.filter(Column("id") == presented.keyId).fetchOne(db)
            }) else { throw AccessError.invalidKey }
            key = stored
            if key.revokedAt == nil {
                cache.withLock { if $0.revocations == revocations { $0.keys[key.id] = key } }
            }
        }
        guard key.revokedAt == nil, presented.matches(hash: key.secretHash) else { throw AccessError.invalidKey }
        return key.principal
    }
}
