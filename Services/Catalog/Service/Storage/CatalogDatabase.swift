import Foundation
import GRDB
import LaurelShared

/// The catalog service's database: owns the connection and the schema.
public struct CatalogDatabase: Sendable {
    public let writer: any DatabaseWriter

    public init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    /// `<dataDirectory>/catalog.sqlite`.
    public static func open(in dataDirectory: String) throws -> CatalogDatabase {
        try CatalogDatabase(DatabaseBootstrap.open(name: "catalog", in: dataDirectory))
    }

    public static func inMemory() throws -> CatalogDatabase {
        try CatalogDatabase(DatabaseBootstrap.inMemory())
    }

    /// Append-only: a released migration is never edited, only followed.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: rewards and reservations") { db in
            try db.create(table: "reward") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("id", .text).notNull().unique()
                t.column("sku", .text).notNull().unique()
                t.column("name", .text).notNull()
                t.column("description", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("cost_points", .integer).notNull().check { $0 > 0 }
                t.column("unlimited_stock", .boolean).notNull()
                t.column("stock_available", .integer).notNull().check { $0 >= 0 }
                t.column("stock_reserved", .integer).notNull().check { $0 >= 0 }
                t.column("stock_committed", .integer).notNull().check { $0 >= 0 }
                t.column("valid_from", .integer)
                t.column("valid_until", .integer)
                t.column("active", .boolean).notNull()
                t.column("archived", .boolean).notNull()
                t.column("discount_percent", .integer).notNull()
                t.column("value_currency", .text)
                t.column("value_minor", .integer)
                t.column("product_sku", .text)
                t.column("created_at", .integer).notNull()
                t.column("updated_at", .integer).notNull()
            }
            try db.create(table: "reservation") { t in
                t.primaryKey("id", .text)
                t.column("reward_id", .text).notNull().references("reward", column: "id")
                t.column("quantity", .integer).notNull().check { $0 > 0 }
                t.column("status", .text).notNull()
                t.column("unit_cost_points", .integer).notNull()
                t.column("created_at", .integer).notNull()
                t.column("expires_at", .integer).notNull()
                t.column("settled_at", .integer)
            }
            try db.create(index: "reservation_by_status_expiry", on: "reservation", columns: ["status", "expires_at"])
            try IdempotencyKeys.migrate(db)
        }
        migrator.registerMigration("v2: per-member limits and minimum tiers") { db in
            try db.alter(table: "reward") { t in
                t.add(column: "per_member_limit", .integer).notNull().defaults(to: 0)
                t.add(column: "min_tier", .text)
            }
            try db.alter(table: "reservation") { t in
                t.add(column: "member_id", .text)
            }
            try db.create(index: "reservation_by_reward_member", on: "reservation", columns: ["reward_id", "member_id", "status"])
        }
        migrator.registerMigration("v3: statistics and erasure") { db in
            try db.create(index: "reservation_by_time", on: "reservation", columns: ["created_at"])
            try db.create(index: "reservation_by_member", on: "reservation", columns: ["member_id", "status"])
            try ErasureAudit.migrate(db)
        }
        return migrator
    }
}
