import GRDB
import LaurelShared
@testable import MembersService
import Testing

/// The records a purchase appends are inserted by hand-written statements
/// (`HandInserted`): each must write the row GRDB's generic insert writes,
/// and read back as the record it was.
@Suite struct HandInsertedRowTests {
    let accounts: MemberAccounts

    init() throws {
        accounts = MemberAccounts(database: try .inMemory())
    }

    @Test func handWrittenInsertsWriteTheRowsGRDBWould() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: "hand-1"))
        let at = Instant(millisecondsSince1970: 1_800_000_000_123)
        let later = Instant(millisecondsSince1970: 1_900_000_000_456)
        try await accounts.database.writer.write { db in
            // Every value distinct, so a column written in another's place shows.
            let entry = LedgerEntry(
                memberId: member.id, kind: .earn, availableDelta: 7, heldDelta: -2, availableAfter: 9, heldAfter: 3, reference: "ref",
                reason: "why", createdAt: at, debtDelta: 4, debtAfter: 5, rule: "base", programVersion: 6)
            let entryIds = try Self.expectSameRows(db, "ledger_entry", entry, entry)
            let event = MemberEvent(
                memberId: member.id, partnerId: "p", kind: .pointsEarned, points: 11, tierFrom: "A", tierTo: "B", reference: "r",
                redemptionId: "rdm", occurredAt: at, rule: "tier:GOLD")
            let eventIds = try Self.expectSameRows(db, "member_event", event, nil)
            // Entries and events are also encoded from their own column lists,
            // so GRDB's insert above shares them: their Codable reading,
            // mapped separately, is the independent check.
            var insertedEntry = entry
            insertedEntry.id = entryIds.byHand
            #expect(try LedgerEntry.fetchOne(db, key: entryIds.byHand) == insertedEntry)
            var insertedEvent = event
            insertedEvent.id = eventIds.byHand
            #expect(try MemberEvent.fetchOne(db, key: eventIds.byHand) == insertedEvent)
            try Self.expectSameRows(
                db, "point_lot",
                PointLot(memberId: member.id, reference: "lot", earnedAt: at, expiresAt: later, points: 12, remaining: 10), nil)
            let purchase = PurchaseRecord(
                orderId: "o-hand", memberId: member.id, currencyCode: "USD", amountMinor: 2_599, pointsEarned: 25,
                ledgerEntryId: entryIds.byHand, occurredAt: at, recordedAt: later, refundedMinor: 13, pointsReversed: 14,
                programVersion: 15, cashbackMinor: 16, cashbackReversedMinor: 17)
            var other = purchase
            other.orderId = "o-generic"
            try Self.expectSameRows(db, "purchase", purchase, other, key: "order_id")
            let earning = PurchaseEarningRecord(orderId: "o-hand", lineNo: 3, rule: "sku:TEE", programVersion: 18, points: 19, reversed: 20)
            var otherEarning = earning
            otherEarning.orderId = "o-generic"
            try Self.expectSameRows(db, "purchase_earning", earning, otherEarning, key: "order_id")
        }
    }

    /// Inserts `record` by hand and `twin` (or `record` again) through GRDB,
    /// then compares the two rows but for `key`.
    @discardableResult
    static func expectSameRows<Record: HandInserted & MutablePersistableRecord>(
        _ db: Database, _ table: String, _ record: Record, _ twin: Record?, key: String = "id"
    ) throws -> (byHand: Int64, generic: Int64) {
        // In this generic function `insert(db)` would be GRDB's, not the
        // record's own: call the hand-written statement by name.
        let handRow = try record.insertRow(db)
        var generic = twin ?? record
        try generic.insert(db, onConflict: nil)
        let genericRow = db.lastInsertedRowID
        let rows = try [handRow, genericRow].map { rowid in
            try #require(try Row.fetchOne(db, sql: "SELECT * FROM \(table) WHERE rowid = ?", arguments: [rowid]))
        }
        #expect(handRow != genericRow)
        for column in rows[0].columnNames where column != key {
            #expect(rows[0][column] as DatabaseValue == rows[1][column] as DatabaseValue, "\(table).\(column)")
        }
        #expect(rows[0].columnNames.count == Array(try db.columns(in: table)).count)
        return (handRow, genericRow)
    }
}
