@testable import CatalogService
import GRDB
import LaurelShared
import Testing

/// Reservations are written and read by hand (`Reservation+Row.swift`), and
/// the rewards they take from read by hand: the rows GRDB's Codable insert
/// writes, read back as the records they were; settling a reservation sets
/// only its status and settlement time.
@Suite struct ReservationRowTests {
    let catalog: RewardCatalog

    init() throws {
        catalog = RewardCatalog(database: try .inMemory())
    }

    @Test func reservationsAreWrittenAndReadAsCodableWould() async throws {
        let reward = try await catalog.create(CreateRewardRequest(sku: "ROW-1", name: "Tote", kind: .freeProduct, costPoints: 100, stock: 5, productSku: "TOTE"))
        try await catalog.database.writer.write { db in
            let reservation = Reservation(
                id: "r-hand", rewardId: reward.id, quantity: 3, status: .restocked, unitCostPoints: 700,
                createdAt: Instant(millisecondsSince1970: 1_800_000_000_123), expiresAt: Instant(millisecondsSince1970: 1_900_000_000_456),
                settledAt: Instant(millisecondsSince1970: 1_850_000_000_789), memberId: "mem_1")
            var twin = reservation
            twin.id = "r-generic"
            try expectSameRows(db, "reservation", reservation, twin)
            #expect(try Reservation.fetchOne(db, key: "r-generic") == twin)
            var open = twin
            open.id = "r-open"
            open.settledAt = nil
            open.memberId = nil
            try open.insert(db, onConflict: nil)
            #expect(try Reservation.fetchOne(db, key: "r-open") == open)
        }
    }

    /// Rewards are read by hand too: a row written by GRDB's Codable insert,
    /// with every optional column set and then with none, reads back as the
    /// reward it was.
    @Test func rewardsAreReadAsCodableWrote() async throws {
        let reward = Reward(
            seq: nil, id: "rwd_hand", sku: "ROW-3", name: "Voucher", description: "ten off", kind: .discountAmount, costPoints: 700,
            unlimitedStock: true, stockAvailable: 4, stockReserved: 3, stockCommitted: 2,
            validFrom: Instant(millisecondsSince1970: 1_800_000_000_123), validUntil: Instant(millisecondsSince1970: 1_900_000_000_456),
            active: false, archived: true, discountPercent: 15, valueCurrency: "EUR", valueMinor: 1_000, productSku: "SKU-9",
            createdAt: Instant(millisecondsSince1970: 1_700_000_000_001), updatedAt: Instant(millisecondsSince1970: 1_700_000_000_002),
            perMemberLimit: 5, minTier: "GOLD")
        var bare = reward
        bare.id = "rwd_bare"
        bare.sku = "ROW-4"
        bare.validFrom = nil
        bare.validUntil = nil
        bare.valueCurrency = nil
        bare.valueMinor = nil
        bare.productSku = nil
        bare.minTier = nil
        try await catalog.database.writer.write { [reward, bare] db in
            for var written in [reward, bare] {
                try written.insert(db, onConflict: nil)
                written.seq = db.lastInsertedRowID
                #expect(try Reward.fetchOne(db, key: written.seq) == written)
            }
        }
    }

    @Test func settlingAReservationSetsOnlyItsStatusAndTime() async throws {
        let reward = try await catalog.create(CreateRewardRequest(sku: "ROW-2", name: "Mug", kind: .freeProduct, costPoints: 100, stock: 5, productSku: "TOTE"))
        _ = try await catalog.reserve(ReserveRequest(rewardId: reward.id, quantity: 2, reservationId: "row-r1", memberId: "mem_2"))
        let log = try await StatementLog(catalog.database.writer)
        let committed = try await catalog.commit(reservationId: "row-r1")
        log.expectUpdates(
            of: "reservation", atLeast: 1,
            notSetting: ["id", "reward_id", "member_id", "quantity", "unit_cost_points", "created_at", "expires_at"],
            setting: ["status", "settled_at"])
        #expect(committed.status == .committed && committed.memberId == "mem_2" && committed.settledAt != nil)
        let stock = try await catalog.reward(.id(reward.id))
        #expect((stock.stockAvailable, stock.stockReserved, stock.stockCommitted) == (3, 0, 2))
    }
}
