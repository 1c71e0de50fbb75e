import GRDB
import LaurelShared
@testable import MembersService
import Testing

/// Migration v7 rebuilds the ledger, event and lot tables without
/// AUTOINCREMENT: a database written before it keeps its rows, columns,
/// constraints and indexes, and ids go on from where they were.
@Suite struct LedgerIdsMigrationTests {
    static let rebuilt = ["ledger_entry", "member_event", "point_lot"]
    static let before = "v6: holds found by member"

    /// A member with entries, events, lots and a hold on one of them,
    /// written by the records' own inserts on the schema before v7.
    func writeHistory(_ db: Database) throws -> Member {
        let at = Instant(millisecondsSince1970: 1_800_000_000_000)
        var member = Member(
            id: "mbr_old", externalId: "old-1", email: "", displayName: "", birthDate: nil, attributes: [:], status: .active,
            tier: "BASE", available: 30, held: 5, lifetimeEarned: 35, enrolledAt: at, updatedAt: at, partnerId: "",
            referralCode: "OLDCODE001", birthMonth: nil)
        try member.insert(db)
        member.seq = db.lastInsertedRowID
        for (points, after) in [(10, 10), (25, 35)] as [(Points, Points)] {
            try LedgerEntry(
                memberId: member.id, kind: .earn, availableDelta: points, heldDelta: 0, availableAfter: after, heldAfter: 0,
                reference: "o-\(points)", reason: "purchase", createdAt: at, debtDelta: 0, debtAfter: 0, rule: "base", programVersion: 1
            ).insertRow(db)
            try MemberEvent(
                memberId: member.id, partnerId: "", kind: .pointsEarned, points: points, tierFrom: "", tierTo: "", reference: "o-\(points)",
                redemptionId: "", occurredAt: at, rule: "base"
            ).insertRow(db)
            try PointLot(memberId: member.id, reference: "o-\(points)", earnedAt: at, expiresAt: nil, points: points, remaining: points)
                .insertRow(db)
        }
        try Hold(
            id: "h-old", memberId: member.id, points: 5, status: .held, reason: "", createdAt: at, expiresAt: at.adding(seconds: 60),
            settledAt: nil, redemptionId: "", currencyCode: ""
        ).insert(db)
        try HoldLot(holdId: "h-old", lotId: 2, points: 5).insert(db)
        try LedgerEntry(
            memberId: member.id, kind: .hold, availableDelta: -5, heldDelta: 5, availableAfter: 30, heldAfter: 5,
            reference: "h-old", reason: "hold", createdAt: at, debtDelta: 0, debtAfter: 0, rule: "hold", programVersion: 1
        ).insertRow(db)
        return member
    }

    /// Everything about a table that the rebuild must keep: its columns,
    /// indexes with their columns, foreign keys and rows.
    func shape(_ db: Database, _ table: String) throws -> [String] {
        var shape = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").map { "column \($0)" }
        shape += try Row.fetchAll(db, sql: "PRAGMA index_list(\(table))").map { index in
            let name: String = index["name"]
            let columns = try Row.fetchAll(db, sql: "PRAGMA index_info(\(name))").map { $0["name"] as String? ?? "" }
            return "index \(name) unique \(index["unique"] as Int) \(columns)"
        }.sorted()
        shape += try Row.fetchAll(db, sql: "PRAGMA foreign_key_list(\(table))").map { "foreign key \($0)" }
        shape += try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid").map { "row \($0)" }
        return shape
    }

    @Test func tablesWrittenBeforeKeepTheirRowsAndShape() throws {
        let queue = try DatabaseBootstrap.inMemory()
        try MembersDatabase.migrator.migrate(queue, upTo: Self.before)
        let (member, before) = try queue.write { db in
            (try writeHistory(db), try (Self.rebuilt + ["hold_lot"]).map { try shape(db, $0) })
        }
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sqlite_sequence WHERE name IN ('ledger_entry', 'member_event', 'point_lot')") } == 3)

        try MembersDatabase.migrator.migrate(queue)

        try queue.write { db in
            let after = try (Self.rebuilt + ["hold_lot"]).map { try shape(db, $0) }
            #expect(after == before)
            for table in Self.rebuilt {
                let definition = try #require(try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = ?", arguments: [table]))
                #expect(!definition.contains("AUTOINCREMENT"), "\(definition)")
                #expect(definition.hasPrefix("CREATE TABLE \"\(table)\""))
            }
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_sequence WHERE name IN ('ledger_entry', 'member_event', 'point_lot')") == 0)
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)

            // Ids go on from the largest.
            let next = try LedgerEntry(
                memberId: member.id, kind: .adjust, availableDelta: 1, heldDelta: 0, availableAfter: 31, heldAfter: 5,
                reference: "r", reason: "after", createdAt: member.enrolledAt, debtDelta: 0, debtAfter: 0, rule: "adjustment", programVersion: 0
            ).insertRow(db)
            #expect(next == 4)

            // The constraints still hold: a lot of no member, a hold on no lot,
            // a lot with less than nothing left.
            #expect(throws: DatabaseError.self) {
                try PointLot(memberId: "mbr_none", reference: "x", earnedAt: member.enrolledAt, expiresAt: nil, points: 1, remaining: 1).insertRow(db)
            }
            #expect(throws: DatabaseError.self) { try HoldLot(holdId: "h-old", lotId: 99, points: 1).insert(db) }
            #expect(throws: DatabaseError.self) {
                try PointLot(memberId: member.id, reference: "x", earnedAt: member.enrolledAt, expiresAt: nil, points: 1, remaining: -1).insertRow(db)
            }
        }
    }

    /// After the rebuild the service carries on: a purchase appends an entry,
    /// a lot and an event after the old ones, and the ledger still sums to
    /// the balance.
    @Test func theServiceCarriesOnAfterIt() async throws {
        let queue = try DatabaseBootstrap.inMemory()
        try MembersDatabase.migrator.migrate(queue, upTo: Self.before)
        let member = try await queue.write { try writeHistory($0) }
        let accounts = MemberAccounts(database: try MembersDatabase(queue))

        let purchase = try await accounts.recordPurchase(
            PurchaseRequest(memberId: member.id, orderId: "o-new", currencyCode: "USD", amountMinor: 1_000))
        #expect(purchase.pointsEarned > 0)
        #expect(purchase.entries.map(\.id) == [4])
        let (lots, events, sum) = try await queue.read { db in
            (
                try Int64.fetchAll(db, sql: "SELECT id FROM point_lot ORDER BY id"),
                try Int64.fetchAll(db, sql: "SELECT id FROM member_event ORDER BY id"),
                try Int64.fetchOne(db, sql: "SELECT SUM(available_delta) FROM ledger_entry WHERE member_id = ?", arguments: [member.id])
            )
        }
        #expect(lots == [1, 2, 3])
        #expect(events.count > 2 && events.prefix(2) == [1, 2])
        #expect(sum == purchase.balance.available)
    }
}
