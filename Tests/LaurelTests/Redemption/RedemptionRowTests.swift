import GRDB
import LaurelShared
@testable import RedemptionService
import Testing

/// The saga's steps update their redemption by hand, column by column
/// (`NarrowlyUpdated`): the same values as GRDB's Codable encoding, and only
/// what a step changed.
@Suite struct RedemptionRowTests {
    let laurel: LocalLaurel

    init() throws {
        laurel = try LocalLaurel()
    }

    @Test func updatesMaySetEveryColumnButTheKeys() async throws {
        let columns = try await laurel.redemptions.database.writer.read { db in try db.columns(in: "redemption").map(\.name) }
        #expect(Redemption.updatedColumns.sorted() == columns.filter { $0 != "seq" && $0 != "id" }.sorted())
    }

    @Test func updatedValuesAreGRDBsEncodingOfEveryColumn() throws {
        var redemption = Redemption(
            id: "rdm_row", memberId: "mem_1", rewardId: "rwd_1", quantity: 2, idempotencyKey: "k-row", step: .failed, attempt: 3,
            pointsSpent: 400, voucherCode: "ABCD-EFGH", cancelReason: "changed mind", createdAt: Instant(millisecondsSince1970: 1_000),
            updatedAt: Instant(millisecondsSince1970: 2_000), minTier: "GOLD", partnerId: "ptn_1")
        redemption.seq = 7
        redemption.failure = RedemptionFailure(
            code: 9, reason: "OUT_OF_STOCK", message: "none left", metadata: ["reward_id": "rwd_1", "available": "0"], retryable: false)
        redemption.voucherUsedAt = Instant(millisecondsSince1970: 3_000)
        redemption.voucherStoreId = "store-1"
        redemption.voucherTerminalId = "till-2"
        let encoded = try redemption.databaseDictionary
        #expect(try redemption.updatedValues() == Redemption.updatedColumns.map { encoded[$0] ?? .null })
        redemption.failure = nil
        redemption.voucherCode = nil
        let cleared = try redemption.databaseDictionary
        #expect(try redemption.updatedValues() == Redemption.updatedColumns.map { cleared[$0] ?? .null })
    }

    /// Inserts and reads are by hand too: the row GRDB's Codable insert
    /// writes, read back as the record it was, failure and all.
    @Test func redemptionsAreWrittenAndReadAsCodableWould() async throws {
        var redemption = Redemption(
            id: "rdm_hand", memberId: "mem_1", rewardId: "rwd_1", quantity: 2, idempotencyKey: "k-hand", step: .failed, attempt: 3,
            pointsSpent: 400, voucherCode: "ABCD-EFGH", cancelReason: "changed mind", createdAt: Instant(millisecondsSince1970: 1_000),
            updatedAt: Instant(millisecondsSince1970: 2_000), minTier: "GOLD", partnerId: "ptn_1")
        redemption.failure = RedemptionFailure(
            code: 9, reason: "OUT_OF_STOCK", message: "none left", metadata: ["reward_id": "rwd_1", "available": "0"], retryable: false)
        redemption.voucherUsedAt = Instant(millisecondsSince1970: 3_000)
        redemption.voucherStoreId = "store-1"
        redemption.voucherTerminalId = "till-2"
        var twin = redemption
        twin.id = "rdm_generic"
        twin.idempotencyKey = "k-generic"
        twin.voucherCode = "WXYZ-STUV"
        try await laurel.redemptions.database.writer.write { [redemption, twin] db in
            let ids = try expectSameRows(
                db, "redemption", redemption, twin, keys: ["seq", "id", "idempotency_key", "voucher_code"])
            var twin = twin
            twin.seq = ids.generic
            #expect(try Redemption.fetchOne(db, key: ids.generic) == twin)
            var open = twin
            open.seq = nil
            open.id = "rdm_open"
            open.idempotencyKey = "k-open"
            open.voucherCode = nil
            open.failure = nil
            open.minTier = nil
            open.voucherUsedAt = nil
            open.voucherStoreId = nil
            open.voucherTerminalId = nil
            try open.insert(db, onConflict: nil)
            open.seq = db.lastInsertedRowID
            #expect(try Redemption.fetchOne(db, key: open.seq) == open)
        }
    }

    @Test func aSagaStepSetsItsStepAndNeverAKey() async throws {
        let log = try await StatementLog(laurel.redemptions.database.writer)
        let member = try await laurel.member(points: 150)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        let done = try await laurel.redemptions.redeem(
            RedeemRequest(memberId: member.id, rewardId: reward.id, quantity: 1, idempotencyKey: "row-ok"))
        await #expect(throws: (any Error).self) {
            _ = try await laurel.redemptions.redeem(
                RedeemRequest(memberId: member.id, rewardId: reward.id, quantity: 1, idempotencyKey: "row-short"))
        }
        log.expectUpdates(
            of: "redemption", atLeast: 3,
            notSetting: ["id", "idempotency_key", "member_id", "reward_id", "quantity", "created_at", "partner_id"],
            setting: ["step"])
        let stored = try await laurel.redemptions.redemption(id: done.id)
        #expect(stored == done && stored.status == .completed && stored.voucherCode != nil && stored.pointsSpent == 100)
        let failed = try await laurel.redemptions.database.writer.read { db in
            try Redemption.filter(Column("idempotency_key") == "row-short").fetchOne(db)
        }
        #expect(failed?.status == .failed && failed?.failure?.reason == "INSUFFICIENT_POINTS")
    }

    /// A redemption that goes through is written twice: its row, then its
    /// completion with the cost and the voucher. The steps between are not
    /// written, since a saga stopped among them compensates as one stopped
    /// before them does (`RedemptionRulesTests`, `FaultInjectionTests`).
    @Test func aCompletedRedemptionIsWrittenTwice() async throws {
        let member = try await laurel.member(points: 150)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        let log = try await StatementLog(laurel.redemptions.database.writer)
        let done = try await laurel.redemptions.redeem(
            RedeemRequest(memberId: member.id, rewardId: reward.id, quantity: 1, idempotencyKey: "row-two"))
        #expect(log.statements(startingWith: "INSERT INTO redemption ").count == 1)
        let updates = log.updates(of: "redemption")
        #expect(updates.count == 1, "\(updates)")
        #expect(updates.first.map { $0.contains("\"points_spent\"=") && $0.contains("\"voucher_code\"=") } == true, "\(updates)")
        #expect(done.status == .completed && done.pointsSpent == 100)
    }
}
