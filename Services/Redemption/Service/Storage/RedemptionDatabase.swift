import Foundation
import GRDB
import LaurelShared

/// The redemption service's database: owns the connection and the schema.
public struct RedemptionDatabase: Sendable {
    public let writer: any DatabaseWriter
    /// For the lookups made on the caller's thread.
    public let lookups: LookupConnections

    public init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        lookups = LookupConnections(writer)
        try Self.migrator.migrate(writer)
    }

    /// `<dataDirectory>/redemption.sqlite`.
    public static func open(in dataDirectory: String) throws -> RedemptionDatabase {
        try RedemptionDatabase(DatabaseBootstrap.open(name: "redemption", in: dataDirectory))
    }

    public static func inMemory() throws -> RedemptionDatabase {
        try RedemptionDatabase(DatabaseBootstrap.inMemory())
    }

    /// Append-only: a released migration is never edited, only followed.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: redemptions") { db in
            try db.create(table: "redemption") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("id", .text).notNull().unique()
                t.column("member_id", .text).notNull()
                t.column("reward_id", .text).notNull()
                t.column("quantity", .integer).notNull().check { $0 > 0 }
                t.column("idempotency_key", .text).notNull().unique()
                t.column("step", .text).notNull()
                t.column("attempt", .integer).notNull()
                t.column("points_spent", .integer).notNull()
                t.column("voucher_code", .text).unique()
                t.column("failure", .jsonText)
                t.column("cancel_reason", .text).notNull()
                t.column("created_at", .integer).notNull()
                t.column("updated_at", .integer).notNull()
            }
            try db.create(index: "redemption_by_member", on: "redemption", columns: ["member_id", "seq"])
            try db.create(index: "redemption_by_step", on: "redemption", columns: ["step"])
        }
        migrator.registerMigration("v2: minimum tiers and voucher use") { db in
            try db.alter(table: "redemption") { t in
                t.add(column: "min_tier", .text)
                t.add(column: "voucher_used_at", .integer)
                t.add(column: "voucher_store_id", .text)
                t.add(column: "voucher_terminal_id", .text)
            }
        }
        migrator.registerMigration("v3: partners") { db in
            try db.alter(table: "redemption") { t in
                t.add(column: "partner_id", .text).notNull().defaults(to: "")
            }
        }
        migrator.registerMigration("v4: statistics and erasure") { db in
            try db.create(index: "redemption_by_time", on: "redemption", columns: ["created_at"])
            try ErasureAudit.migrate(db)
        }
        return migrator
    }
}
