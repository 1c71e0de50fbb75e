import GRDB
import LaurelShared
import MembersService
import Testing

/// The member row is mapped by hand; it must cover every column and read
/// what the Codable mapping wrote before it.
@Suite struct MemberRowTests {
    let accounts: MemberAccounts

    init() throws {
        accounts = MemberAccounts(database: try .inMemory())
    }

    @Test func everyFieldSurvivesAWriteAndARead() async throws {
        let enrolled = try await accounts.enroll(EnrollRequest(
            externalId: "row-1", email: "row@example.com", displayName: "Zoë \"Row\" O'Neil", birthDate: "1990-03-04",
            attributes: ["city": "Zürich", "quote": "\"{}\"", "a": "first"]))
        var member = enrolled
        member.status = .suspended
        member.tier = "GOLD"
        member.available = 12
        member.held = 3
        member.lifetimeEarned = 40
        member.debt = 5
        member.partnerId = "partner-1"
        member.referralCode = "CODE1"
        member.referredBy = "mbr_other"
        member.tierFloor = "SILVER"
        member.previousTier = "SILVER"
        member.tierReviewAt = Instant(millisecondsSince1970: 1_900_000_000_000)
        member.birthdayBonusYear = 2025
        member.lastPurchaseAt = Instant(millisecondsSince1970: 1_800_000_000_123)
        member.erasedAt = Instant(millisecondsSince1970: 1_800_000_000_456)
        let changed = member
        let read = try await accounts.database.writer.write { db in
            try changed.update(db)
            return try Member.fetchOne(db, key: ["id": changed.id])
        }
        #expect(read == changed)
        #expect(read?.seq == enrolled.seq)
        #expect(read?.birthMonth == 3)
    }

    @Test func writesEveryColumnOfTheTable() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: "row-2", attributes: ["b": "2", "a": "1"]))
        let columns = try await accounts.database.writer.read { db in try db.columns(in: "member").map(\.name) }
        let written = try member.databaseDictionary
        #expect(Set(written.keys) == Set(columns))
        // As GRDB's Codable mapping stored dictionaries: JSON with sorted keys.
        #expect(written["attributes"] == "{\"a\":\"1\",\"b\":\"2\"}".databaseValue)
        #expect(written["status"] == "ACTIVE".databaseValue)
    }

    /// Ledger entries and events are written by hand and read through
    /// Codable: what is written must be every column and read back the same.
    @Test func ledgerEntriesAndEventsWriteEveryColumnAndReadBack() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: "row-4"))
        _ = try await accounts.adjust(AdjustRequest(memberId: member.id, delta: 25, reason: "goodwill", requestId: "row-4-adjust"))
        let entries = try await accounts.ledger(memberId: member.id, pageSize: 10, after: nil).items
        let events = try await accounts.events(after: EventCursor(after: 0), memberId: member.id, scope: .everyone, limit: 10)
        let entry = try #require(entries.first { $0.kind == .adjust })
        let event = try #require(events.first { $0.kind == .pointsAdjusted })
        let (ledgerColumns, eventColumns) = try await accounts.database.writer.read { db in
            (try db.columns(in: "ledger_entry").map(\.name), try db.columns(in: "member_event").map(\.name))
        }
        #expect(Set(try entry.databaseDictionary.keys) == Set(ledgerColumns))
        #expect(Set(try event.databaseDictionary.keys) == Set(eventColumns))
        #expect(entry.availableDelta == 25 && entry.availableAfter == 25 && entry.reason == "goodwill")
        #expect(event.points == 25 && event.memberId == member.id)
    }

    @Test func readsRowsWrittenByTheCodableMapping() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: "row-3"))
        let read = try await accounts.database.writer.write { db in
            // Spacing and key order as any JSON writer may leave them.
            try db.execute(sql: "UPDATE member SET attributes = ? WHERE id = ?", arguments: ["{ \"z\" : \"26\", \"a\": \"1\" }", member.id])
            return try Member.fetchOne(db, key: ["id": member.id])
        }
        #expect(read?.attributes == ["a": "1", "z": "26"])
        #expect(try await accounts.member(.id(member.id)).attributes == ["a": "1", "z": "26"])
    }

    @Test func updatesSetEveryColumnButTheKeys() async throws {
        let columns = try await accounts.database.writer.read { db in try db.columns(in: "member").map(\.name) }
        #expect(Member.updatedColumns.sorted() == columns.filter { $0 != "seq" && $0 != "id" }.sorted())
    }

    /// SQLite checks every foreign key that references `member.id` whenever
    /// an UPDATE sets it, by walking the member's rows in ten tables: no
    /// change of points, holds or profile may set it.
    @Test func noWriteSetsTheMembersKey() async throws {
        let log = try await StatementLog(accounts.database.writer)
        let member = try await accounts.enroll(EnrollRequest(externalId: "keys-1"))
        _ = try await accounts.adjust(AdjustRequest(memberId: member.id, delta: 50, reason: "welcome", requestId: "keys-a1"))
        _ = try await accounts.recordPurchase(
            PurchaseRequest(memberId: member.id, orderId: "keys-o1", currencyCode: "USD", amountMinor: 5_000))
        _ = try await accounts.hold(HoldRequest(memberId: member.id, holdId: "keys-h1", points: 10))
        _ = try await accounts.capture(holdId: "keys-h1")
        _ = try await accounts.hold(HoldRequest(memberId: member.id, holdId: "keys-h2", points: 10))
        _ = try await accounts.release(holdId: "keys-h2")
        _ = try await accounts.update(UpdateMemberRequest(memberId: member.id, tier: "GOLD"))
        log.expectUpdates(of: "member", atLeast: 6, notSetting: ["id"])
        #expect(try await accounts.balance(memberId: member.id).available > 50)
    }

    /// SQLite rewrites every index holding a column an UPDATE sets, so a
    /// points change sets only what it changed: not the profile, the tier
    /// or the enrolment time, each of them indexed.
    @Test func aPointsChangeSetsOnlyTheColumnsItChanged() async throws {
        let member = try await accounts.enroll(
            EnrollRequest(externalId: "narrow-1", email: "n@example.com", displayName: "N", attributes: ["city": "Oslo"]))
        let log = try await StatementLog(accounts.database.writer)
        let purchase = try await accounts.recordPurchase(
            PurchaseRequest(memberId: member.id, orderId: "narrow-o1", currencyCode: "USD", amountMinor: 10_000))
        _ = try await accounts.hold(HoldRequest(memberId: member.id, holdId: "narrow-h1", points: 5))
        log.expectUpdates(
            of: "member", atLeast: 2,
            notSetting: ["email", "display_name", "attributes", "tier", "status", "enrolled_at", "external_id", "id"],
            setting: ["available"])
        let stored = try await accounts.member(.id(member.id))
        #expect(stored.available == purchase.pointsEarned - 5 && stored.held == 5 && stored.attributes == ["city": "Oslo"] && stored.email == "n@example.com")
        #expect(stored.lastPurchaseAt != nil)
    }

    /// Erasure counts the member's open holds in the write transaction: from
    /// the index, not by reading every hold.
    @Test func aMembersHoldsAreFoundFromAnIndex() async throws {
        let plan = try await accounts.database.writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM hold WHERE member_id = ? AND status = 'HELD'", arguments: ["m"])
                .map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("USING INDEX hold_by_member") }, "\(plan)")
    }
}
