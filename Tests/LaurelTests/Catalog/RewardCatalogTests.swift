import CatalogService
import Foundation
import LaurelShared
import Testing

/// The catalog's domain logic on an in-memory database.
@Suite struct RewardCatalogTests {
    let clock = TestClock()
    let catalog: RewardCatalog

    init() throws {
        catalog = RewardCatalog(database: try .inMemory(), clock: clock.wallClock)
    }

    func coffee(stock: Int64 = 5, sku: String = uniqueKey("sku")) -> CreateRewardRequest {
        CreateRewardRequest(sku: sku, name: "Free coffee", kind: .freeProduct, costPoints: 100, stock: stock, productSku: "COFFEE")
    }

    @Test func rewardsAreCreatedActiveAndReplayedBySku() async throws {
        let request = coffee(sku: "COFFEE-1")
        let reward = try await catalog.create(request)
        #expect(reward.id.hasPrefix("rwd_"))
        #expect(reward.active)
        #expect(reward.stockAvailable == 5)
        #expect(try await catalog.create(request) == reward)
        var other = request
        other.costPoints = 200
        await expectError(CatalogError.rewardAlreadyExists(sku: "COFFEE-1", rewardId: reward.id)) {
            _ = try await catalog.create(other)
        }
        #expect(try await catalog.reward(.sku("COFFEE-1")) == reward)
    }

    @Test(arguments: [
        (CreateRewardRequest(sku: "a", name: "10% off", kind: .discountPercent, costPoints: 10, discountPercent: 0), "discount_percent"),
        (CreateRewardRequest(sku: "a", name: "10% off", kind: .discountPercent, costPoints: 10, discountPercent: 101), "discount_percent"),
        (CreateRewardRequest(sku: "a", name: "$5 off", kind: .discountAmount, costPoints: 10), "value.currency_code"),
        (CreateRewardRequest(sku: "a", name: "$5 off", kind: .discountAmount, costPoints: 10, valueCurrency: "USD", valueMinor: 0), "value.minor_units"),
        (CreateRewardRequest(sku: "a", name: "Gift", kind: .giftCard, costPoints: 10, valueCurrency: "USD", valueMinor: 500, productSku: "X"), "product_sku"),
        (CreateRewardRequest(sku: "a", name: "Coffee", kind: .freeProduct, costPoints: 10), "product_sku"),
        (CreateRewardRequest(sku: "a", name: "VIP", kind: .exclusiveAccess, costPoints: 10, discountPercent: 5), "discount_percent"),
        (CreateRewardRequest(sku: "a", name: "VIP", kind: .exclusiveAccess, costPoints: 0), "cost_points"),
        (CreateRewardRequest(sku: "a", name: "", kind: .exclusiveAccess, costPoints: 1), "name"),
        (CreateRewardRequest(sku: "a", name: "VIP", kind: .exclusiveAccess, costPoints: 1, stock: -1), "stock"),
        (CreateRewardRequest(sku: "a", name: "VIP", kind: .exclusiveAccess, costPoints: 1, stock: 3, unlimitedStock: true), "stock"),
        (CreateRewardRequest(sku: "a", name: "VIP", kind: .exclusiveAccess, costPoints: 1,
                             validFrom: Instant(millisecondsSince1970: 2_000), validUntil: Instant(millisecondsSince1970: 1_000)), "valid_until"),
    ])
    func eachKindCarriesExactlyItsValue(request: CreateRewardRequest, field: String) async throws {
        do {
            _ = try await catalog.create(request)
            Issue.record("accepted \(request)")
        } catch let error as InvalidArgument {
            #expect(error.field == field)
        }
        #expect(try await catalog.rewards(filter: RewardFilter(includeArchived: true), pageSize: 10, after: nil).items.isEmpty)
    }

    @Test func stockMovesBetweenAvailableReservedAndCommitted() async throws {
        let reward = try await catalog.create(coffee(stock: 5))
        let reserved = try await catalog.reserve(ReserveRequest(rewardId: reward.id, quantity: 2, reservationId: "r1"))
        #expect(reserved.reservation.unitCostPoints == 100)
        #expect((reserved.reward.stockAvailable, reserved.reward.stockReserved) == (3, 2))
        #expect(try await catalog.reserve(ReserveRequest(rewardId: reward.id, quantity: 2, reservationId: "r1")) == reserved)

        #expect(try await catalog.commit(reservationId: "r1").status == .committed)
        #expect(try await catalog.commit(reservationId: "r1").status == .committed)
        var now = try await catalog.reward(.id(reward.id))
        #expect((now.stockAvailable, now.stockReserved, now.stockCommitted) == (3, 0, 2))

        #expect(try await catalog.restock(reservationId: "r1").status == .restocked)
        #expect(try await catalog.restock(reservationId: "r1").status == .restocked)
        now = try await catalog.reward(.id(reward.id))
        #expect((now.stockAvailable, now.stockReserved, now.stockCommitted) == (5, 0, 0))

        _ = try await catalog.reserve(ReserveRequest(rewardId: reward.id, quantity: 5, reservationId: "r2"))
        await expectError(CatalogError.outOfStock(rewardId: reward.id, available: 0, requested: 1)) {
            _ = try await catalog.reserve(ReserveRequest(rewardId: reward.id, quantity: 1, reservationId: "r3"))
        }
        #expect(try await catalog.release(reservationId: "r2").status == .released)
        #expect(try await catalog.release(reservationId: "r2").status == .released)
        await expectError(CatalogError.reservationNotReserved(reservationId: "r2", status: .released)) {
            _ = try await catalog.commit(reservationId: "r2")
        }
        #expect(try await catalog.reward(.id(reward.id)).stockAvailable == 5)
    }

    @Test func unlimitedStockNeverRunsOut() async throws {
        let reward = try await catalog.create(CreateRewardRequest(sku: "vip", name: "Lounge", kind: .exclusiveAccess, costPoints: 10, unlimitedStock: true))
        _ = try await catalog.reserve(ReserveRequest(rewardId: reward.id, quantity: 1_000, reservationId: "big"))
        _ = try await catalog.commit(reservationId: "big")
        let now = try await catalog.reward(.id(reward.id))
        #expect(now.stockCommitted == 1_000)
        await expectError(CatalogError.unlimitedStock(reward.id)) {
            _ = try await catalog.update(UpdateRewardRequest(rewardId: reward.id, stockDelta: 5, requestId: "u"))
        }
    }

    @Test func onlyActiveInWindowUnarchivedRewardsCanBeReserved() async throws {
        let inactive = try await catalog.create(CreateRewardRequest(sku: "off", name: "Off", kind: .exclusiveAccess, costPoints: 1, stock: 1, active: false))
        let future = try await catalog.create(CreateRewardRequest(
            sku: "soon", name: "Soon", kind: .exclusiveAccess, costPoints: 1, stock: 1, validFrom: clock.now.adding(seconds: 60)))
        let past = try await catalog.create(CreateRewardRequest(
            sku: "gone", name: "Gone", kind: .exclusiveAccess, costPoints: 1, stock: 1, validUntil: clock.now.adding(seconds: -1)))
        let archived = try await catalog.archive(rewardId: try await catalog.create(coffee()).id)

        for (reward, why) in [(inactive, RewardUnavailability.inactive), (future, .notYetValid), (past, .expired), (archived, .archived)] {
            await expectError(CatalogError.rewardNotAvailable(rewardId: reward.id, why: why)) {
                _ = try await catalog.reserve(ReserveRequest(rewardId: reward.id, quantity: 1, reservationId: uniqueKey()))
            }
        }
        clock.advance(seconds: 61)
        _ = try await catalog.reserve(ReserveRequest(rewardId: future.id, quantity: 1, reservationId: "now-valid"))

        let listed = try await catalog.rewards(filter: RewardFilter(redeemableOnly: true), pageSize: 50, after: nil).items.map(\.id)
        #expect(listed.isEmpty, "future is out of stock now, the rest unavailable: \(listed)")
        await expectError(CatalogError.rewardArchived(archived.id)) {
            _ = try await catalog.update(UpdateRewardRequest(rewardId: archived.id, name: "New"))
        }
    }

    @Test func expiredReservationsReturnTheirStock() async throws {
        let reward = try await catalog.create(coffee(stock: 3))
        _ = try await catalog.reserve(ReserveRequest(rewardId: reward.id, quantity: 2, reservationId: "late", ttlSeconds: 10))
        _ = try await catalog.reserve(ReserveRequest(rewardId: reward.id, quantity: 1, reservationId: "swept", ttlSeconds: 10))
        clock.advance(seconds: 10)
        await expectError(CatalogError.reservationExpired("late")) { _ = try await catalog.commit(reservationId: "late") }
        #expect(try await catalog.expireReservations() == 1)
        let now = try await catalog.reward(.id(reward.id))
        #expect((now.stockAvailable, now.stockReserved) == (3, 0))
    }

    @Test func stockChangesAreIdempotentOnTheirRequestId() async throws {
        let reward = try await catalog.create(coffee(stock: 5))
        let request = UpdateRewardRequest(rewardId: reward.id, stockDelta: 10, requestId: "restock-1")
        _ = try await catalog.update(request)
        _ = try await catalog.update(request)
        #expect(try await catalog.reward(.id(reward.id)).stockAvailable == 15)
        do {
            _ = try await catalog.update(UpdateRewardRequest(rewardId: reward.id, stockDelta: 10))
            Issue.record("a stock change without request_id was accepted")
        } catch let error as InvalidArgument {
            #expect(error.field == "request_id")
        }
        await expectError(CatalogError.outOfStock(rewardId: reward.id, available: 15, requested: 16)) {
            _ = try await catalog.update(UpdateRewardRequest(rewardId: reward.id, stockDelta: -16, requestId: "too-many"))
        }
    }
    @Test func updatesSetEveryColumnButTheKeys() async throws {
        let columns = try await catalog.database.writer.read { db in try db.columns(in: "reward").map(\.name) }
        #expect(Reward.updatedColumns.sorted() == columns.filter { $0 != "seq" && $0 != "id" }.sorted())
    }

    /// A reward is updated by hand, column by column, as GRDB's Codable
    /// encoding would write it, and a reservation sets only the stock it moves.
    @Test func rewardUpdatesAreGRDBsEncodingAndSetOnlyWhatChanged() async throws {
        let reward = try await catalog.create(CreateRewardRequest(
            sku: "NARROW-1", name: "Tote", kind: .giftCard, costPoints: 700, stock: 5, validUntil: Instant(millisecondsSince1970: 4_000_000_000_000),
            valueCurrency: "EUR", valueMinor: 1_500, perMemberLimit: 2, minTier: "GOLD"))
        let encoded = try reward.databaseDictionary
        #expect(try reward.updatedValues() == Reward.updatedColumns.map { encoded[$0] ?? .null })
        let log = try await StatementLog(catalog.database.writer)
        _ = try await catalog.reserve(ReserveRequest(rewardId: reward.id, quantity: 1, reservationId: "narrow-r1", memberId: "mem_1"))
        #expect(log.updates(of: "reward").count == 1)
        log.expectUpdates(
            of: "reward", atLeast: 1,
            notSetting: ["sku", "name", "kind", "cost_points", "valid_until", "active", "value_minor", "min_tier", "id"],
            setting: ["stock_available", "stock_reserved"])
        let after = try await catalog.reward(.id(reward.id))
        #expect((after.stockAvailable, after.stockReserved, after.minTier, after.valueMinor) == (4, 1, "GOLD", 1_500))
    }

    /// `reservation.reward_id` references `reward.id`: an UPDATE that set it
    /// would walk every reservation of the reward.
    @Test func noStockChangeSetsTheRewardsKey() async throws {
        let log = try await StatementLog(catalog.database.writer)
        let reward = try await catalog.create(coffee(stock: 5))
        _ = try await catalog.reserve(ReserveRequest(rewardId: reward.id, quantity: 1, reservationId: "keys-r1"))
        _ = try await catalog.commit(reservationId: "keys-r1")
        _ = try await catalog.reserve(ReserveRequest(rewardId: reward.id, quantity: 1, reservationId: "keys-r2"))
        _ = try await catalog.release(reservationId: "keys-r2")
        _ = try await catalog.update(UpdateRewardRequest(rewardId: reward.id, name: "Free espresso"))
        log.expectUpdates(of: "reward", atLeast: 5, notSetting: ["id"])
        let after = try await catalog.reward(.id(reward.id))
        #expect((after.name, after.stockAvailable, after.stockCommitted) == ("Free espresso", 4, 1))
    }
}
