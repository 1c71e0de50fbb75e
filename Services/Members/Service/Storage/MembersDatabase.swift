import Foundation
import GRDB
import LaurelShared

/// The members service's database: owns the connection and the schema.
public struct MembersDatabase: Sendable {
    public let writer: any DatabaseWriter
    /// For the lookups made on the caller's thread.
    public let lookups: LookupConnections

    public init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        lookups = LookupConnections(writer)
        try Self.migrator.migrate(writer)
    }

    /// `<dataDirectory>/members.sqlite`.
    public static func open(in dataDirectory: String) throws -> MembersDatabase {
        try MembersDatabase(DatabaseBootstrap.open(name: "members", in: dataDirectory))
    }

    public static func inMemory() throws -> MembersDatabase {
        try MembersDatabase(DatabaseBootstrap.inMemory())
    }

    /// Append-only: a released migration is never edited, only followed.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: members, ledger, holds, purchases") { db in
            try db.create(table: "member") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("id", .text).notNull().unique()
                t.column("external_id", .text).notNull().unique()
                t.column("email", .text).notNull()
                t.column("display_name", .text).notNull()
                t.column("birth_date", .text)
                t.column("attributes", .jsonText).notNull()
                t.column("status", .text).notNull()
                t.column("tier", .text).notNull()
                t.column("available", .integer).notNull().check { $0 >= 0 }
                t.column("held", .integer).notNull().check { $0 >= 0 }
                t.column("lifetime_earned", .integer).notNull()
                t.column("enrolled_at", .integer).notNull()
                t.column("updated_at", .integer).notNull()
            }
            try db.create(table: "ledger_entry") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("member_id", .text).notNull().references("member", column: "id")
                t.column("kind", .text).notNull()
                t.column("available_delta", .integer).notNull()
                t.column("held_delta", .integer).notNull()
                t.column("available_after", .integer).notNull()
                t.column("held_after", .integer).notNull()
                t.column("reference", .text).notNull()
                t.column("reason", .text).notNull()
                t.column("created_at", .integer).notNull()
            }
            try db.create(index: "ledger_entry_by_member", on: "ledger_entry", columns: ["member_id", "id"])
            try db.create(table: "hold") { t in
                t.primaryKey("id", .text)
                t.column("member_id", .text).notNull().references("member", column: "id")
                t.column("points", .integer).notNull().check { $0 > 0 }
                t.column("status", .text).notNull()
                t.column("reason", .text).notNull()
                t.column("created_at", .integer).notNull()
                t.column("expires_at", .integer).notNull()
                t.column("settled_at", .integer)
            }
            try db.create(index: "hold_by_status_expiry", on: "hold", columns: ["status", "expires_at"])
            try db.create(table: "purchase") { t in
                t.primaryKey("order_id", .text)
                t.column("member_id", .text).notNull().references("member", column: "id")
                t.column("currency_code", .text).notNull()
                t.column("amount_minor", .integer).notNull()
                t.column("points_earned", .integer).notNull()
                t.column("ledger_entry_id", .integer).references("ledger_entry", column: "id")
                t.column("occurred_at", .integer).notNull()
                t.column("recorded_at", .integer).notNull()
            }
            try db.create(index: "purchase_by_member", on: "purchase", columns: ["member_id", "occurred_at"])
            try db.create(table: "purchase_line") { t in
                t.column("order_id", .text).notNull().references("purchase", column: "order_id")
                t.column("line_no", .integer).notNull()
                t.column("sku", .text).notNull()
                t.column("category", .text).notNull()
                t.column("quantity", .integer).notNull()
                t.column("unit_price_minor", .integer).notNull()
                t.primaryKey(["order_id", "line_no"])
            }
            try IdempotencyKeys.migrate(db)
        }
        migrator.registerMigration("v2: partners, API keys, member events, debt and purchase reversals") { db in
            try db.alter(table: "member") { t in
                t.add(column: "partner_id", .text).notNull().defaults(to: "")
                t.add(column: "debt", .integer).notNull().defaults(to: 0).check { $0 >= 0 }
            }
            try db.create(index: "member_by_partner", on: "member", columns: ["partner_id", "seq"])
            try db.alter(table: "ledger_entry") { t in
                t.add(column: "debt_delta", .integer).notNull().defaults(to: 0)
                t.add(column: "debt_after", .integer).notNull().defaults(to: 0)
            }
            try db.alter(table: "hold") { t in
                t.add(column: "redemption_id", .text).notNull().defaults(to: "")
            }
            try db.alter(table: "purchase") { t in
                t.add(column: "refunded_minor", .integer).notNull().defaults(to: 0)
                t.add(column: "points_reversed", .integer).notNull().defaults(to: 0)
            }
            try db.alter(table: "purchase_line") { t in
                t.add(column: "refunded_quantity", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "purchase_refund") { t in
                t.primaryKey("refund_id", .text)
                t.column("order_id", .text).notNull().references("purchase", column: "order_id")
                t.column("amount_minor", .integer).notNull()
                t.column("points_reversed", .integer).notNull()
                t.column("created_at", .integer).notNull()
            }
            try db.create(table: "api_key") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("id", .text).notNull().unique()
                t.column("name", .text).notNull()
                t.column("role", .text).notNull()
                t.column("partner_id", .text).notNull()
                t.column("rate_limit_per_second", .integer).notNull()
                t.column("secret_hash", .blob).notNull()
                t.column("created_at", .integer).notNull()
                t.column("revoked_at", .integer)
            }
            try db.create(table: "member_event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("member_id", .text).notNull()
                t.column("partner_id", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("points", .integer).notNull()
                t.column("tier_from", .text).notNull()
                t.column("tier_to", .text).notNull()
                t.column("reference", .text).notNull()
                t.column("redemption_id", .text).notNull()
                t.column("occurred_at", .integer).notNull()
            }
            try db.create(index: "member_event_by_member", on: "member_event", columns: ["member_id", "id"])
            try db.create(index: "member_event_by_partner", on: "member_event", columns: ["partner_id", "id"])
        }
        migrator.registerMigration("v3: point lots and expiry") { db in
            try db.create(table: "point_lot") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("member_id", .text).notNull().references("member", column: "id")
                t.column("reference", .text).notNull()
                t.column("earned_at", .integer).notNull()
                t.column("expires_at", .integer)
                t.column("points", .integer).notNull()
                t.column("remaining", .integer).notNull().check { $0 >= 0 }
            }
            try db.create(index: "point_lot_by_member", on: "point_lot", columns: ["member_id", "remaining", "id"])
            try db.create(index: "point_lot_by_expiry", on: "point_lot", columns: ["expires_at"])
            try db.create(table: "hold_lot") { t in
                t.column("hold_id", .text).notNull()
                t.column("lot_id", .integer).notNull().references("point_lot", column: "id")
                t.column("points", .integer).notNull()
            }
            try db.create(index: "hold_lot_by_hold", on: "hold_lot", columns: ["hold_id"])
            // Points earned before expiry existed never expire.
            try db.execute(sql: """
                INSERT INTO point_lot (member_id, reference, earned_at, expires_at, points, remaining)
                SELECT id, 'before-expiry', updated_at, NULL, available, available FROM member WHERE available > 0
                """)
        }
        migrator.registerMigration("v4: programme versions, campaigns, tiers, referrals, store credit, earnings by rule") { db in
            try db.create(table: "program") { t in
                t.primaryKey("version", .integer)
                t.column("rules", .jsonText).notNull()
                t.column("created_at", .integer).notNull()
            }
            try db.create(table: "campaign") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("id", .text).notNull().unique()
                t.column("name", .text).notNull()
                t.column("starts_at", .integer).notNull()
                t.column("ends_at", .integer).notNull()
                t.column("multiplier_percent", .integer).notNull()
                t.column("bonus_points", .integer).notNull()
                t.column("target", .jsonText).notNull()
                t.column("ended_at", .integer)
                t.column("created_at", .integer).notNull()
            }
            try db.create(index: "campaign_by_end", on: "campaign", columns: ["ends_at"])
            try db.alter(table: "member") { t in
                t.add(column: "referral_code", .text)
                t.add(column: "referred_by", .text).notNull().defaults(to: "")
                t.add(column: "tier_floor", .text).notNull().defaults(to: "")
                t.add(column: "previous_tier", .text).notNull().defaults(to: "")
                t.add(column: "tier_review_at", .integer)
                t.add(column: "birth_month", .integer)
                t.add(column: "birthday_bonus_year", .integer).notNull().defaults(to: 0)
            }
            try db.execute(sql: """
                UPDATE member SET referral_code = lower(hex(randomblob(5))),
                    birth_month = CAST(substr(birth_date, 6, 2) AS INTEGER) WHERE birth_date IS NOT NULL;
                UPDATE member SET referral_code = lower(hex(randomblob(5))) WHERE referral_code IS NULL;
                """)
            try db.create(index: "member_by_referral_code", on: "member", columns: ["referral_code"], unique: true)
            try db.create(index: "member_by_tier_review", on: "member", columns: ["tier_review_at"])
            try db.create(index: "member_by_birthday", on: "member", columns: ["birth_month", "birthday_bonus_year"])
            try db.alter(table: "ledger_entry") { t in
                t.add(column: "rule", .text).notNull().defaults(to: "")
                t.add(column: "program_version", .integer).notNull().defaults(to: 0)
            }
            try db.alter(table: "member_event") { t in
                t.add(column: "rule", .text).notNull().defaults(to: "")
            }
            try db.alter(table: "purchase") { t in
                t.add(column: "program_version", .integer).notNull().defaults(to: 0)
                t.add(column: "cashback_minor", .integer).notNull().defaults(to: 0)
                t.add(column: "cashback_reversed_minor", .integer).notNull().defaults(to: 0)
            }
            // What each line earned by each rule, so a refund of a line takes
            // back exactly its points; line_no -1 is the purchase as a whole.
            try db.create(table: "purchase_earning") { t in
                t.column("order_id", .text).notNull().references("purchase", column: "order_id")
                t.column("line_no", .integer).notNull()
                t.column("rule", .text).notNull()
                t.column("program_version", .integer).notNull()
                t.column("points", .integer).notNull()
                t.column("reversed", .integer).notNull()
                t.primaryKey(["order_id", "line_no", "rule"])
            }
            // Purchases from before: their points were all base-rate points of
            // the whole purchase.
            try db.execute(sql: """
                INSERT INTO purchase_earning (order_id, line_no, rule, program_version, points, reversed)
                SELECT order_id, -1, 'base', 0, points_earned, points_reversed FROM purchase WHERE points_earned > 0
                """)
            try db.create(table: "referral") { t in
                t.primaryKey("referee_id", .text).references("member", column: "id")
                t.column("referrer_id", .text).notNull().references("member", column: "id")
                t.column("created_at", .integer).notNull()
                t.column("rewarded_at", .integer)
                t.column("order_id", .text)
            }
            try db.create(index: "referral_by_referrer", on: "referral", columns: ["referrer_id"])
            try db.create(table: "credit_wallet") { t in
                t.column("member_id", .text).notNull().references("member", column: "id")
                t.column("currency_code", .text).notNull()
                t.column("available", .integer).notNull().check { $0 >= 0 }
                t.column("held", .integer).notNull().check { $0 >= 0 }
                t.column("debt", .integer).notNull().check { $0 >= 0 }
                t.column("lifetime_earned", .integer).notNull()
                t.primaryKey(["member_id", "currency_code"])
            }
            try db.create(table: "credit_entry") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("member_id", .text).notNull().references("member", column: "id")
                t.column("currency_code", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("available_delta", .integer).notNull()
                t.column("held_delta", .integer).notNull()
                t.column("available_after", .integer).notNull()
                t.column("held_after", .integer).notNull()
                t.column("debt_delta", .integer).notNull()
                t.column("debt_after", .integer).notNull()
                t.column("reference", .text).notNull()
                t.column("reason", .text).notNull()
                t.column("rule", .text).notNull()
                t.column("program_version", .integer).notNull()
                t.column("created_at", .integer).notNull()
            }
            try db.create(index: "credit_entry_by_wallet", on: "credit_entry", columns: ["member_id", "currency_code", "id"])
            // A hold with a currency holds store credit, `points` minor units of it.
            try db.alter(table: "hold") { t in
                t.add(column: "currency_code", .text).notNull().defaults(to: "")
            }
        }
        migrator.registerMigration("v5: segments, statistics and erasure") { db in
            try db.alter(table: "member") { t in
                t.add(column: "last_purchase_at", .integer)
                t.add(column: "erased_at", .integer)
            }
            try db.execute(sql: "UPDATE member SET last_purchase_at = (SELECT MAX(occurred_at) FROM purchase WHERE member_id = member.id)")
            // Lifetime spend per currency, net of refunds, kept by purchases
            // and refunds so a spend segment reads one row per member.
            try db.create(table: "member_spend") { t in
                t.column("member_id", .text).notNull().references("member", column: "id")
                t.column("currency_code", .text).notNull()
                t.column("spend_minor", .integer).notNull()
                t.primaryKey(["member_id", "currency_code"])
            }
            try db.execute(sql: """
                INSERT INTO member_spend (member_id, currency_code, spend_minor)
                SELECT member_id, currency_code, SUM(amount_minor - refunded_minor) FROM purchase GROUP BY member_id, currency_code
                """)
            try db.create(index: "member_spend_by_amount", on: "member_spend", columns: ["currency_code", "spend_minor"])
            try db.create(index: "member_by_tier", on: "member", columns: ["tier", "seq"])
            try db.create(index: "member_by_status", on: "member", columns: ["status", "seq"])
            try db.create(index: "member_by_enrolment", on: "member", columns: ["enrolled_at"])
            try db.create(index: "member_by_last_purchase", on: "member", columns: ["last_purchase_at"])
            try db.create(index: "member_by_available", on: "member", columns: ["available"])
            try db.create(index: "ledger_entry_by_time", on: "ledger_entry", columns: ["created_at"])
            try db.create(index: "purchase_by_time", on: "purchase", columns: ["occurred_at"])
            try ErasureAudit.migrate(db)
            // Attributes are JSON in the member row; this copy is what lets an
            // attribute segment be found from an index.
            try db.create(table: "member_attribute") { t in
                t.column("member_seq", .integer).notNull().references("member", column: "seq")
                t.column("key", .text).notNull()
                t.column("value", .text).notNull()
                t.primaryKey(["member_seq", "key"])
            }
            try db.create(index: "member_attribute_by_value", on: "member_attribute", columns: ["key", "value", "member_seq"])
            try db.execute(sql: """
                INSERT INTO member_attribute (member_seq, key, value)
                SELECT m.seq, a.key, a.value FROM member m, json_each(m.attributes) a
                """)
        }
        // Erasure counts a member's open holds inside the one write
        // transaction: without this index, by reading every hold ever made.
        migrator.registerMigration("v6: holds found by member") { db in
            try db.create(index: "hold_by_member", on: "hold", columns: ["member_id"])
        }
        // The rows every purchase appends were each also a write of
        // sqlite_sequence, on the one writer that bounds RecordPurchase
        // (docs/performance.md). No row of these tables is ever deleted, so
        // ids come out the same without it.
        migrator.registerMigration("v7: ledger, event and lot ids without AUTOINCREMENT") { db in
            for table in ["ledger_entry", "member_event", "point_lot"] { try db.dropAutoincrement(from: table) }
        }
        return migrator
    }
}
