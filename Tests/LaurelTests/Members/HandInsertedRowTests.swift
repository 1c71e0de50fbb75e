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
            let entryIds = try expectSameRows(db, "ledger_entry", entry, entry)
            let event = MemberEvent(
                memberId: member.id, partnerId: "p", kind: .pointsEarned, points: 11, tierFrom: "A", tierTo: "B", reference: "r",
                redemptionId: "rdm", occurredAt: at, rule: "tier:GOLD")
            let eventIds = try expectSameRows(db, "member_event", event, nil)
            // Entries and events are also encoded from their own column lists,
            // so GRDB's insert above shares them: their Codable reading,
            // mapped separately, is the independent check.
            var insertedEntry = entry
            insertedEntry.id = entryIds.byHand
            #expect(try LedgerEntry.fetchOne(db, key: entryIds.byHand) == insertedEntry)
            var insertedEvent = event
            insertedEvent.id = eventIds.byHand
            #expect(try MemberEvent.fetchOne(db, key: eventIds.byHand) == insertedEvent)
            try expectSameRows(
                db, "point_lot",
                PointLot(memberId: member.id, reference: "lot", earnedAt: at, expiresAt: later, points: 12, remaining: 10), nil)
            let purchase = PurchaseRecord(
                orderId: "o-hand", memberId: member.id, currencyCode: "USD", amountMinor: 2_599, pointsEarned: 25,
                ledgerEntryId: entryIds.byHand, occurredAt: at, recordedAt: later, refundedMinor: 13, pointsReversed: 14,
                programVersion: 15, cashbackMinor: 16, cashbackReversedMinor: 17)
            var other = purchase
            other.orderId = "o-generic"
            try expectSameRows(db, "purchase", purchase, other, keys: ["order_id"])
            let earning = PurchaseEarningRecord(orderId: "o-hand", lineNo: 3, rule: "sku:TEE", programVersion: 18, points: 19, reversed: 20)
            var otherEarning = earning
            otherEarning.orderId = "o-generic"
            try expectSameRows(db, "purchase_earning", earning, otherEarning, keys: ["order_id"])
        }
    }

    /// Holds, the lots they take from and the link between them are written
    /// and read by hand: the same rows as GRDB's Codable insert, read back as
    /// the records they were (a row written by Codable, read by hand, is the
    /// independent check of the reading).
    @Test func holdsAndLotsAreWrittenAndReadAsCodableWould() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: "hand-2"))
        let at = Instant(millisecondsSince1970: 1_800_000_000_123)
        try await accounts.database.writer.write { db in
            let hold = Hold(
                id: "h-hand", memberId: member.id, points: 21, status: .refunded, reason: "why", createdAt: at,
                expiresAt: Instant(millisecondsSince1970: 1_900_000_000_456), settledAt: Instant(millisecondsSince1970: 1_850_000_000_789),
                redemptionId: "rdm_1", currencyCode: "EUR")
            var twin = hold
            twin.id = "h-generic"
            try expectSameRows(db, "hold", hold, twin)
            #expect(try Hold.fetchOne(db, key: "h-generic") == twin)
            var open = twin
            open.id = "h-open"
            open.settledAt = nil
            try open.insert(db, onConflict: nil)
            #expect(try Hold.fetchOne(db, key: "h-open") == open)

            var lot = PointLot(memberId: member.id, reference: "lot", earnedAt: at, expiresAt: nil, points: 12, remaining: 10)
            for expiresAt in [nil, Instant(millisecondsSince1970: 1_900_000_000_999)] {
                lot.id = nil
                lot.expiresAt = expiresAt
                try lot.insert(db, onConflict: nil)
                let read = try #require(try PointLot.fetchOne(db, key: lot.id))
                #expect((read.id, read.memberId, read.reference, read.earnedAt) == (lot.id, lot.memberId, lot.reference, lot.earnedAt))
                #expect((read.expiresAt, read.points, read.remaining) == (lot.expiresAt, lot.points, lot.remaining))
            }
            let taken = HoldLot(holdId: "h-hand", lotId: lot.id!, points: 3)
            let twinTaken = HoldLot(holdId: "h-generic", lotId: lot.id!, points: 3)
            try expectSameRows(db, "hold_lot", taken, twinTaken, keys: ["hold_id"])
        }
    }

    /// An insert SQLite refuses throws its error, with the statement and
    /// SQLite's reason, and leaves nothing behind: the same statement then
    /// inserts the next row.
    @Test func aRefusedInsertThrowsAndTheStatementServesOn() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: "hand-5"))
        let at = Instant(millisecondsSince1970: 1_800_000_000_123)
        try await accounts.database.writer.write { db in
            let lots = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM point_lot")
            let overdrawn = PointLot(memberId: member.id, reference: "lot", earnedAt: at, expiresAt: nil, points: 1, remaining: -1)
            #expect {
                try overdrawn.insertRow(db)
            } throws: { error in
                let error = try #require(error as? DatabaseError)
                return error.extendedResultCode == .SQLITE_CONSTRAINT_CHECK && error.sql == PointLot.insertSQL
            }
            let orphan = PointLot(memberId: "mbr_none", reference: "lot", earnedAt: at, expiresAt: nil, points: 1, remaining: 1)
            #expect {
                try orphan.insertRow(db)
            } throws: { error in
                (error as? DatabaseError)?.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY
            }
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM point_lot") == lots)

            let lot = PointLot(memberId: member.id, reference: "after", earnedAt: at, expiresAt: nil, points: 2, remaining: 2)
            let id = try lot.insertRow(db)
            #expect(try String.fetchOne(db, sql: "SELECT reference FROM point_lot WHERE id = ?", arguments: [id]) == "after")
        }
    }

    /// A status no case has (a row from a newer version, or edited by hand)
    /// is an error naming the row, not a guess.
    @Test func anUnknownStatusIsAnErrorNamingTheRow() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: "hand-4"))
        try await accounts.database.writer.write { db in
            try db.execute(
                sql: "INSERT INTO hold (id, member_id, points, status, reason, created_at, expires_at) VALUES ('h-odd', ?, 5, 'PARKED', '', 0, 0)",
                arguments: [member.id])
            #expect {
                _ = try Hold.fetchOne(db, key: "h-odd")
            } throws: { error in
                "\(error)".contains("hold h-odd has an unknown status 'PARKED'")
            }
        }
    }

    /// Capturing a hold sets its status and settlement time only, and taking
    /// points from a lot only what remains of it: not the member, whose key
    /// they reference and whose index they are in.
    @Test func settlingAHoldAndTakingFromALotSetOnlyWhatChanged() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: "hand-3"))
        _ = try await accounts.adjust(AdjustRequest(memberId: member.id, delta: 50, reason: "welcome", requestId: "hand-3a"))
        let log = try await StatementLog(accounts.database.writer)
        _ = try await accounts.hold(HoldRequest(memberId: member.id, holdId: "hand-3h", points: 20, redemptionId: "rdm_3"))
        let captured = try await accounts.capture(holdId: "hand-3h")
        log.expectUpdates(of: "hold", atLeast: 1, notSetting: ["id", "member_id", "points", "reason", "created_at", "expires_at"], setting: ["status", "settled_at"])
        log.expectUpdates(of: "point_lot", atLeast: 1, notSetting: ["id", "member_id", "points", "expires_at"], setting: ["remaining"])
        #expect(captured.hold.status == .captured && captured.hold.settledAt != nil && captured.hold.redemptionId == "rdm_3")
        #expect(try await accounts.balance(memberId: member.id).available == 30)
        try await expectLedgerBalances(accounts.database)
    }
}
