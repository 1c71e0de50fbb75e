import CatalogService
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LaurelShared
import Logging
import MembersService
import RedemptionService
import Testing

/// RedemptionService over real gRPC, calling real members and catalog
/// servers over gRPC, all on ephemeral ports in this process.
@Suite struct RedemptionServiceRPCTests {
    struct Clients {
        let members: MembersClient
        let catalog: CatalogClient
        let redemption: RedemptionClient
    }

    /// Starts members and catalog, then redemption pointing at them (or at
    /// `membersPort` instead, to simulate members being down).
    func withLaurel(membersPort: Int? = nil, _ body: (Clients) async throws -> Void) async throws {
        // Generous unless members is meant to be down: the whole suite runs in
        // one process on two cores, which under a parallel build can pause for
        // more than a second, and a peer call past its deadline fails the
        // redemption (PEER_UNAVAILABLE) on either transport.
        let peerTimeout: Duration = membersPort == nil ? .seconds(20) : .seconds(2)
        let accounts = MemberAccounts(database: try .inMemory())
        let catalog = RewardCatalog(database: try .inMemory())
        try await withServer([MemberServiceHandler(accounts: accounts)]) { membersClient, membersListening in
            try await withServer([CatalogServiceHandler(catalog: catalog)]) { catalogClient, catalogPort in
                try await withClient(port: membersPort ?? membersListening) { toMembers in
                    try await withClient(port: catalogPort) { toCatalog in
                        let redemptions = Redemptions(
                            database: try .inMemory(),
                            catalog: GRPCCatalogPeer(client: toCatalog, timeout: peerTimeout),
                            members: GRPCMembersPeer(client: toMembers, timeout: peerTimeout))
                        try await withServer([RedemptionServiceHandler(redemptions: redemptions)]) { redemptionClient, _ in
                            try await body(Clients(
                                members: .init(wrapping: membersClient), catalog: .init(wrapping: catalogClient),
                                redemption: .init(wrapping: redemptionClient)))
                        }
                    }
                }
            }
        }
    }

    func setUp(_ laurel: Clients, points: Int64, cost: Int64, stock: Int64) async throws -> (member: String, reward: String) {
        let member = try await laurel.members.enrollMember(.with { $0.externalID = uniqueKey("ext") }).member.memberID
        if points > 0 {
            _ = try await laurel.members.adjustPoints(.with { $0.memberID = member; $0.delta = points; $0.reason = "seed"; $0.requestID = uniqueKey() })
        }
        let reward = try await laurel.catalog.createReward(.with {
            $0.sku = uniqueKey("sku"); $0.name = "Cinema ticket"; $0.kind = .exclusiveAccess; $0.costPoints = cost; $0.stock = stock
        }).reward.rewardID
        return (member, reward)
    }

    @Test func redeemThenCancelMovesPointsAndStockBothWays() async throws {
        try await withLaurel { laurel in
            let (member, reward) = try await setUp(laurel, points: 1_000, cost: 400, stock: 3)
            let request = Laurel_V1_RedeemRequest.with { $0.memberID = member; $0.rewardID = reward; $0.quantity = 2; $0.idempotencyKey = "order-77" }
            let redemption = try await laurel.redemption.redeem(request).redemption
            #expect(redemption.status == .completed)
            #expect(redemption.pointsSpent == 800)
            #expect(redemption.voucherCode.count == 19)
            #expect(try await laurel.redemption.redeem(request).redemption == redemption)
            #expect(try await laurel.redemption.getRedemption(.with { $0.redemptionID = redemption.redemptionID }).redemption == redemption)
            #expect(try await laurel.redemption.listRedemptions(.with { $0.memberID = member }).redemptions == [redemption])

            #expect(try await laurel.members.getBalance(.with { $0.memberID = member }).balance.available == 200)
            let taken = try await laurel.catalog.getReward(.with { $0.rewardID = reward }).reward
            #expect((taken.stockAvailable, taken.stockCommitted) == (1, 2))

            let cancelled = try await laurel.redemption.cancelRedemption(.with { $0.redemptionID = redemption.redemptionID; $0.reason = "refund" }).redemption
            #expect(cancelled.status == .cancelled)
            #expect(try await laurel.members.getBalance(.with { $0.memberID = member }).balance.available == 1_000)
            #expect(try await laurel.catalog.getReward(.with { $0.rewardID = reward }).reward.stockAvailable == 3)
            try await expectLedgerBalances(members: laurel.members, memberId: member)

            await expectRPCError(.alreadyExists, reason: "IDEMPOTENCY_KEY_REUSED") {
                _ = try await laurel.redemption.redeem(.with { $0.memberID = member; $0.rewardID = reward; $0.quantity = 1; $0.idempotencyKey = "order-77" })
            }
        }
    }

    @Test func failuresCarryThePeersReasonAndTakeNothing() async throws {
        try await withLaurel { laurel in
            let (member, reward) = try await setUp(laurel, points: 100, cost: 400, stock: 1)
            await expectRPCError(.failedPrecondition, reason: "INSUFFICIENT_POINTS") {
                _ = try await laurel.redemption.redeem(.with { $0.memberID = member; $0.rewardID = reward; $0.quantity = 1; $0.idempotencyKey = uniqueKey() })
            }
            await expectRPCError(.failedPrecondition, reason: "OUT_OF_STOCK") {
                _ = try await laurel.redemption.redeem(.with { $0.memberID = member; $0.rewardID = reward; $0.quantity = 2; $0.idempotencyKey = uniqueKey() })
            }
            await expectRPCError(.notFound, reason: "REWARD_NOT_FOUND") {
                _ = try await laurel.redemption.redeem(.with { $0.memberID = member; $0.rewardID = "rwd_none"; $0.quantity = 1; $0.idempotencyKey = uniqueKey() })
            }
            await expectRPCError(.notFound, reason: "MEMBER_NOT_FOUND") {
                _ = try await laurel.redemption.redeem(.with { $0.memberID = "mbr_none"; $0.rewardID = reward; $0.quantity = 1; $0.idempotencyKey = uniqueKey() })
            }
            _ = try await laurel.catalog.updateReward(.with { $0.rewardID = reward; $0.active = false })
            await expectRPCError(.failedPrecondition, reason: "REWARD_NOT_AVAILABLE") {
                _ = try await laurel.redemption.redeem(.with { $0.memberID = member; $0.rewardID = reward; $0.quantity = 1; $0.idempotencyKey = uniqueKey() })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "idempotency_key") {
                _ = try await laurel.redemption.redeem(.with { $0.memberID = member; $0.rewardID = reward; $0.quantity = 1 })
            }
            await expectRPCError(.notFound, reason: "REDEMPTION_NOT_FOUND") {
                _ = try await laurel.redemption.getRedemption(.with { $0.redemptionID = "rdm_none" })
            }
            let stock = try await laurel.catalog.getReward(.with { $0.rewardID = reward }).reward
            #expect((stock.stockAvailable, stock.stockReserved, stock.stockCommitted) == (1, 0, 0))
            #expect(try await laurel.members.getBalance(.with { $0.memberID = member }).balance.available == 100)
            let failed = try await laurel.redemption.listRedemptions(.with { $0.memberID = member }).redemptions
            #expect(failed.count == 4)
            #expect(failed.allSatisfy { $0.status == .failed && !$0.failureReason.isEmpty && $0.voucherCode.isEmpty })
        }
    }

    @Test func anUnreachableMembersServiceIsUnavailableAndGivesTheStockBack() async throws {
        try await withLaurel(membersPort: try await closedPort()) { laurel in
            let (member, reward) = try await setUp(laurel, points: 1_000, cost: 100, stock: 2)
            await expectRPCError(.unavailable, reason: "PEER_UNAVAILABLE") {
                _ = try await laurel.redemption.redeem(.with { $0.memberID = member; $0.rewardID = reward; $0.quantity = 1; $0.idempotencyKey = uniqueKey() })
            }
            let stock = try await laurel.catalog.getReward(.with { $0.rewardID = reward }).reward
            #expect((stock.stockAvailable, stock.stockReserved) == (2, 0))
            #expect(try await laurel.members.getBalance(.with { $0.memberID = member }).balance.available == 1_000)
        }
    }

    @Test func limitsTiersAndVouchersOverGRPC() async throws {
        try await withLaurel { laurel in
            let member = try await laurel.members.enrollMember(.with { $0.externalID = uniqueKey("ext") }).member.memberID
            _ = try await laurel.members.adjustPoints(.with { $0.memberID = member; $0.delta = 1_000; $0.reason = "seed"; $0.requestID = uniqueKey() })
            let limited = try await laurel.catalog.createReward(.with {
                $0.sku = uniqueKey("sku"); $0.name = "Lounge pass"; $0.kind = .exclusiveAccess; $0.costPoints = 100; $0.stock = 10
                $0.perMemberLimit = 1; $0.minTier = "GOLD"
            }).reward
            #expect(limited.perMemberLimit == 1)
            #expect(limited.minTier == "GOLD")
            let redeem = { (key: String) in
                try await laurel.redemption.redeem(.with { $0.memberID = member; $0.rewardID = limited.rewardID; $0.quantity = 1; $0.idempotencyKey = key }).redemption
            }
            await expectRPCError(.failedPrecondition, reason: "TIER_TOO_LOW") { _ = try await redeem("tier-1") }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "tier") {
                _ = try await laurel.members.updateMember(.with { $0.memberID = member; $0.tier = "DIAMOND" })
            }
            let promoted = try await laurel.members.updateMember(.with { $0.memberID = member; $0.tier = "GOLD" }).member
            #expect(promoted.tier == "GOLD")

            let redemption = try await redeem("tier-2")
            #expect(redemption.status == .completed)
            #expect(redemption.voucherStatus == .issued)
            await expectRPCError(.failedPrecondition, reason: "PER_MEMBER_LIMIT_REACHED") { _ = try await redeem("tier-3") }

            let used = try await laurel.redemption.redeemVoucher(.with {
                $0.voucherCode = redemption.voucherCode; $0.storeID = "store-9"; $0.terminalID = "till-1"
            }).redemption
            #expect(used.voucherStatus == .used)
            #expect(used.voucherStoreID == "store-9")
            #expect(used.hasVoucherUsedAt)
            let again = try await laurel.redemption.redeemVoucher(.with {
                $0.voucherCode = redemption.voucherCode; $0.storeID = "store-9"; $0.terminalID = "till-1"
            }).redemption
            #expect(again == used)
            await expectRPCError(.failedPrecondition, reason: "VOUCHER_ALREADY_USED") {
                _ = try await laurel.redemption.redeemVoucher(.with { $0.voucherCode = redemption.voucherCode; $0.storeID = "store-2" })
            }
            await expectRPCError(.failedPrecondition, reason: "VOUCHER_ALREADY_USED") {
                _ = try await laurel.redemption.cancelRedemption(.with { $0.redemptionID = redemption.redemptionID })
            }
            await expectRPCError(.notFound, reason: "VOUCHER_NOT_FOUND") {
                _ = try await laurel.redemption.redeemVoucher(.with { $0.voucherCode = "ZZZZ-ZZZZ-ZZZZ-ZZZZ"; $0.storeID = "store-2" })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "store_id") {
                _ = try await laurel.redemption.redeemVoucher(.with { $0.voucherCode = redemption.voucherCode })
            }
            #expect(try await laurel.members.getBalance(.with { $0.memberID = member }).balance.available == 900)
            try await expectLedgerBalances(members: laurel.members, memberId: member)
        }
    }

    /// Redemption remembers a reward's terms to hold points while the stock
    /// is being reserved; a price changed at the catalog still applies to the
    /// very next redemption, and whatever was held on the old one is given back.
    @Test func aNewPriceAtTheCatalogAppliesToTheNextRedemption() async throws {
        try await withLaurel { laurel in
            let (member, reward) = try await setUp(laurel, points: 1_000, cost: 100, stock: 5)
            func redeem() async throws -> Laurel_V1_Redemption {
                try await laurel.redemption.redeem(.with { $0.memberID = member; $0.rewardID = reward; $0.quantity = 1; $0.idempotencyKey = uniqueKey() }).redemption
            }
            #expect(try await redeem().pointsSpent == 100)
            _ = try await laurel.catalog.updateReward(.with { $0.rewardID = reward; $0.costPoints = 250 })
            let repriced = try await redeem()
            #expect(repriced.status == .completed)
            #expect(repriced.pointsSpent == 250)
            _ = try await laurel.catalog.updateReward(.with { $0.rewardID = reward; $0.costPoints = 50 })
            #expect(try await redeem().pointsSpent == 50)

            let balance = try await laurel.members.getBalance(.with { $0.memberID = member }).balance
            #expect((balance.available, balance.held) == (600, 0))
            let stock = try await laurel.catalog.getReward(.with { $0.rewardID = reward }).reward
            #expect((stock.stockAvailable, stock.stockReserved, stock.stockCommitted) == (2, 0, 3))
            try await expectLedgerBalances(members: laurel.members, memberId: member)
        }
    }

    @Test func concurrentRequestsWithOneKeyMakeOneRedemption() async throws {
        try await withLaurel { laurel in
            let (member, reward) = try await setUp(laurel, points: 1_000, cost: 100, stock: 10)
            let request = Laurel_V1_RedeemRequest.with { $0.memberID = member; $0.rewardID = reward; $0.quantity = 1; $0.idempotencyKey = "tap-tap-tap" }
            let redemption = laurel.redemption
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 { group.addTask { try await redemption.redeem(request).redemption.redemptionID } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            #expect(try await laurel.members.getBalance(.with { $0.memberID = member }).balance.available == 900)
            #expect(try await laurel.catalog.getReward(.with { $0.rewardID = reward }).reward.stockCommitted == 1)
        }
    }
}
