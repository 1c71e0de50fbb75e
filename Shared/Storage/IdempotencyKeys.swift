import Foundation
import GRDB

/// The first result of every mutating call, by its client-supplied key, so a
/// repeat returns exactly that result and changes nothing.
///
/// `run` stores the result in the same transaction as the change it
/// describes: a key is recorded if and only if the change was committed.
public enum IdempotencyKeys {
    /// Appended to a service's own migrator.
    public static func migrate(_ db: Database) throws {
        try db.create(table: "idempotency_key") { t in
            t.column("scope", .text).notNull()
            t.column("key", .text).notNull()
            t.column("fingerprint", .blob).notNull()
            t.column("result", .blob).notNull()
            t.column("created_at", .integer).notNull()
            t.primaryKey(["scope", "key"])
        }
    }

    /// A request as it is compared with a repeat: its canonical JSON encoding.
    /// Made before the write by the hottest calls, so that the one writer
    /// thread of a service spends no time on it.
    public struct Fingerprint: Sendable {
        let data: Data

        public init(_ request: some Encodable) throws {
            data = try encoder.encode(request)
        }
    }

    /// Replays the stored result of `key` in `scope`, or runs `body` and stores
    /// its result. The request is compared as its canonical JSON encoding: the
    /// same key with a different request throws `conflict()`, by default
    /// `IdempotencyKeyReused`.
    public static func run<Request: Encodable, Result: Codable>(
        _ db: Database,
        scope: String,
        key: String,
        field: String,
        request: Request,
        now: Instant,
        conflict: (() throws -> any Error)? = nil,
        body: () throws -> Result
    ) throws -> Result {
        try run(
            db, scope: scope, key: key, field: field, fingerprint: Fingerprint(request), now: now, conflict: conflict, body: body)
    }

    /// As `run(_:scope:key:field:request:…)`, with the request's fingerprint made beforehand.
    public static func run<Result: Codable>(
        _ db: Database,
        scope: String,
        key: String,
        field: String,
        fingerprint: Fingerprint,
        now: Instant,
        conflict: (() throws -> any Error)? = nil,
        body: () throws -> Result
    ) throws -> Result {
        let fingerprint = fingerprint.data
        // Cached statements: every mutating call of every service comes here.
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT fingerprint, result FROM idempotency_key WHERE scope = ? AND key = ?"),
            arguments: [scope, key]
        ) {
            guard (row["fingerprint"] as Data) == fingerprint else {
                throw try conflict?() ?? IdempotencyKeyReused(field: field, key: key)
            }
            return try decode(Result.self, from: row["result"] as Data)
        }
        let result = try body()
        try db.cachedStatement(
            sql: "INSERT INTO idempotency_key (scope, key, fingerprint, result, created_at) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [scope, key, fingerprint, try encode(result), now])
        return result
    }

    /// A result as it is stored: in its compact form if it has one, else JSON.
    static func encode<Result: Encodable>(_ result: Result) throws -> Data {
        if let compact = result as? any CompactlyStored {
            return Data(CompactForm.encode(compact))
        }
        return try encoder.encode(result)
    }

    /// A stored result in either form: one stored as JSON before its type had
    /// a compact form still replays.
    static func decode<Result: Decodable>(_: Result.Type, from data: Data) throws -> Result {
        if let compact = Result.self as? any CompactlyStored.Type,
            let value = try CompactForm.decode(compact, from: Array(data)) {
            return value as! Result
        }
        return try decoder.decode(Result.self, from: data)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()
}
