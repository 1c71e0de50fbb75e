@testable import CatalogService
import GRDB
import LaurelShared
import Testing

/// Reservations are written and read by hand (`Reservation+Row.swift`): the
/// rows GRDB's Codable insert writes, read back as the records they were,
/// and settling one sets only its status and settlement time.
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
            try HandInsertedRowTests.expectSameRows(db, "reservation", reservation, twin)
            #expect(try Reservation.fetchOne(db, key: "r-generic") == twin)
            var open = twin
            open.id = "r-open"
            open.settledAt = nil
            open.memberId = nil
            try open.insert(db, onConflict: nil)
            #expect(try Reservation.fetchOne(db, key: "r-open") == open)
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
