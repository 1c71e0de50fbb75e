import CatalogService
import Foundation
import GRPCCore
import LaurelShared
import SwiftProtobuf
import Testing

/// CatalogService over real gRPC on an ephemeral port.
@Suite struct CatalogServiceRPCTests {
    let catalog: RewardCatalog

    init() throws {
        catalog = RewardCatalog(database: try .inMemory())
    }

    func withCatalog(_ body: (CatalogClient) async throws -> Void) async throws {
        try await withServer([CatalogServiceHandler(catalog: catalog)]) { client, _ in
            try await body(Laurel_V1_CatalogService.Client(wrapping: client))
        }
    }

    @Test func createReadUpdateListAndArchive() async throws {
        try await withCatalog { rewards in
            let created = try await rewards.createReward(.with {
                $0.sku = "GIFT-25"
                $0.name = "$25 gift card"
                $0.kind = .giftCard
                $0.costPoints = 2_500
                $0.stock = 10
                $0.value = .with { $0.currencyCode = "USD"; $0.minorUnits = 2_500 }
                $0.validUntil = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(86_400))
            }).reward
            #expect(created.active)
            #expect(created.value.minorUnits == 2_500)
            #expect(created.hasValidUntil)
            #expect(!created.hasValidFrom)
            #expect(try await rewards.getReward(.with { $0.sku = "GIFT-25" }).reward == created)

            let updated = try await rewards.updateReward(.with {
                $0.rewardID = created.rewardID
                $0.costPoints = 2_000
                $0.stockDelta = 5
                $0.requestID = "restock-1"
                $0.removeValidUntil = true
            }).reward
            #expect(updated.costPoints == 2_000)
            #expect(updated.stockAvailable == 15)
            #expect(!updated.hasValidUntil)

            _ = try await rewards.createReward(.with {
                $0.sku = "TEN-OFF"; $0.name = "10% off"; $0.kind = .discountPercent; $0.costPoints = 500
                $0.discountPercent = 10; $0.unlimitedStock = true
            })
            _ = try await rewards.createReward(.with {
                $0.sku = "SOLD-OUT"; $0.name = "Mug"; $0.kind = .freeProduct; $0.costPoints = 900; $0.productSku = "MUG"
            })
            let redeemable = try await rewards.listRewards(.with { $0.redeemableOnly = true }).rewards.map(\.sku)
            #expect(redeemable == ["GIFT-25", "TEN-OFF"])

            let archived = try await rewards.archiveReward(.with { $0.rewardID = created.rewardID }).reward
            #expect(archived.archived)
            #expect(!archived.active)
            #expect(try await rewards.listRewards(.init()).rewards.map(\.sku) == ["TEN-OFF", "SOLD-OUT"])
            #expect(try await rewards.listRewards(.with { $0.includeArchived = true }).rewards.count == 3)
        }
    }

    @Test func reservationsHoldStockUntilCommittedReleasedOrRestocked() async throws {
        try await withCatalog { rewards in
            let reward = try await rewards.createReward(.with {
                $0.sku = "MUG"; $0.name = "Mug"; $0.kind = .freeProduct; $0.productSku = "MUG-1"; $0.costPoints = 300; $0.stock = 3
            }).reward
            let reserved = try await rewards.reserveStock(.with {
                $0.rewardID = reward.rewardID; $0.quantity = 2; $0.reservationID = "rsv-1"; $0.ttlSeconds = 120
            })
            #expect(reserved.reservation.status == .reserved)
            #expect(reserved.reservation.unitCostPoints == 300)
            #expect((reserved.reward.stockAvailable, reserved.reward.stockReserved) == (1, 2))

            await expectRPCError(.failedPrecondition, reason: "OUT_OF_STOCK") {
                _ = try await rewards.reserveStock(.with { $0.rewardID = reward.rewardID; $0.quantity = 2; $0.reservationID = "rsv-2" })
            }
            #expect(try await rewards.commitReservation(.with { $0.reservationID = "rsv-1" }).reservation.status == .committed)
            await expectRPCError(.failedPrecondition, reason: "RESERVATION_NOT_RESERVED") {
                _ = try await rewards.releaseReservation(.with { $0.reservationID = "rsv-1" })
            }
            #expect(try await rewards.restockReservation(.with { $0.reservationID = "rsv-1" }).reservation.status == .restocked)
            #expect(try await rewards.getReservation(.with { $0.reservationID = "rsv-1" }).reservation.status == .restocked)
            let stock = try await rewards.getReward(.with { $0.rewardID = reward.rewardID }).reward
            #expect((stock.stockAvailable, stock.stockReserved, stock.stockCommitted) == (3, 0, 0))
        }
    }

    /// Each item of a batch ends as its own call would, in the order of the
    /// items: items that run together compete for the same stock, one item
    /// at a time, and a refused item takes nothing.
    @Test func aBatchOfReservationsAndCommitsEndsEachItemAsItsOwnCallWould() async throws {
        try await withCatalog { rewards in
            let reward = try await rewards.createReward(.with {
                $0.sku = "CUP"; $0.name = "Cup"; $0.kind = .freeProduct; $0.productSku = "CUP-1"; $0.costPoints = 250; $0.stock = 3
            }).reward
            let outcomes = try await rewards.reserveStockBatch(.with {
                $0.items = (1...4).map { n in .with { $0.rewardID = reward.rewardID; $0.quantity = 1; $0.reservationID = "b-rsv-\(n)" } }
                    + [.with { $0.rewardID = "rwd_none"; $0.quantity = 1; $0.reservationID = "b-rsv-none" }]
            }).outcomes
            #expect(outcomes.count == 5)
            guard outcomes.count == 5 else { return }
            // Three units: three of the four got one, the fourth was refused.
            let reserved = outcomes.prefix(4).filter { $0.reserved.reservation.status == .reserved }
            #expect(reserved.count == 3 && reserved.allSatisfy { $0.reserved.reservation.unitCostPoints == 250 })
            #expect(outcomes.prefix(4).filter { $0.error.reason == "OUT_OF_STOCK" }.count == 1)
            #expect(outcomes[4].error.code == Int32(RPCError.Code.notFound.rawValue) && outcomes[4].error.reason == "REWARD_NOT_FOUND")

            let ids = reserved.map(\.reserved.reservation.reservationID)
            let commits = try await rewards.commitReservationBatch(.with {
                $0.items = ids.map { id in .with { $0.reservationID = id } } + [.with { $0.reservationID = "b-rsv-none" }]
            }).outcomes
            #expect(commits.count == 4)
            #expect(commits.prefix(3).allSatisfy { $0.committed.reservation.status == .committed })
            #expect(commits.last?.error.reason == "RESERVATION_NOT_FOUND")
            let stock = try await rewards.getReward(.with { $0.rewardID = reward.rewardID }).reward
            #expect((stock.stockAvailable, stock.stockReserved, stock.stockCommitted) == (0, 0, 3))
        }
    }

    @Test func badInputGetsAClearStatusAndWritesNothing() async throws {
        try await withCatalog { rewards in
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "kind") {
                _ = try await rewards.createReward(.with { $0.sku = "A"; $0.name = "A"; $0.costPoints = 1 })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "kind") {
                _ = try await rewards.createReward(.with { $0.sku = "A"; $0.name = "A"; $0.costPoints = 1; $0.kind = .UNRECOGNIZED(99) })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "cost_points") {
                _ = try await rewards.createReward(.with { $0.sku = "A"; $0.name = "A"; $0.kind = .exclusiveAccess; $0.costPoints = -5 })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "valid_from") {
                _ = try await rewards.createReward(.with {
                    $0.sku = "A"; $0.name = "A"; $0.kind = .exclusiveAccess; $0.costPoints = 5
                    $0.validFrom = .with { $0.seconds = 400_000_000_000 }
                })
            }
            await expectRPCError(.notFound, reason: "REWARD_NOT_FOUND") {
                _ = try await rewards.reserveStock(.with { $0.rewardID = "rwd_none"; $0.quantity = 1; $0.reservationID = "r" })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "quantity") {
                _ = try await rewards.reserveStock(.with { $0.rewardID = "rwd_none"; $0.quantity = 0; $0.reservationID = "r" })
            }
            let reward = try await rewards.createReward(.with { $0.sku = "A"; $0.name = "A"; $0.kind = .exclusiveAccess; $0.costPoints = 5; $0.stock = 1 }).reward
            await expectRPCError(.alreadyExists, reason: "REWARD_ALREADY_EXISTS") {
                _ = try await rewards.createReward(.with { $0.sku = "A"; $0.name = "B"; $0.kind = .exclusiveAccess; $0.costPoints = 5 })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "request_id") {
                _ = try await rewards.updateReward(.with { $0.rewardID = reward.rewardID; $0.stockDelta = 3 })
            }
            _ = try await rewards.updateReward(.with { $0.rewardID = reward.rewardID; $0.active = false })
            await expectRPCError(.failedPrecondition, reason: "REWARD_NOT_AVAILABLE") {
                _ = try await rewards.reserveStock(.with { $0.rewardID = reward.rewardID; $0.quantity = 1; $0.reservationID = "r" })
            }
            let after = try await rewards.getReward(.with { $0.rewardID = reward.rewardID }).reward
            #expect((after.stockAvailable, after.stockReserved) == (1, 0))
            #expect(try await rewards.listRewards(.with { $0.includeArchived = true }).rewards.count == 1)
        }
    }
}
