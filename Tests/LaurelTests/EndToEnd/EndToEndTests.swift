import Foundation
import GRPCCore
import LaurelShared
import Testing

/// The three built executables as separate processes, each with its own
/// SQLite database, driven over real gRPC the way a partner would.
@Suite(.serialized) struct EndToEndTests {
    /// On each server transport an operator may choose.
    @Test(arguments: TransportChoice.allCases)
    func enrolCreatePurchaseRedeemCancelAcrossThreeProcesses(transport: TransportChoice) async throws {
        let laurel = try await LaurelCluster.start(arguments: ["--transport", transport.rawValue])
        let key = laurel.operatorKey
        var stopped = false
        defer { if !stopped { Task { await laurel.stop() } } }
        let (members, catalog, redemption) = (laurel.members, laurel.catalog, laurel.redemption)

        for service in [members, catalog, redemption] {
            try await withClient(port: service.port) { client in
                // Health needs no key.
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                let status = try await health.check(.init()).status
                #expect(status == .serving, "\(service.name)")
            }
        }

        let (memberId, rewardId) = try await withClient(port: members.port, apiKey: key) { m in
            try await withClient(port: catalog.port, apiKey: key) { c in
                let memberService = MembersClient(wrapping: m)
                let member = try await memberService.enrollMember(.with {
                    $0.externalID = "pos-customer-1"
                    $0.email = "grace@example.com"
                    $0.displayName = "Grace"
                }).member
                let earned = try await memberService.recordPurchase(.with {
                    $0.memberID = member.memberID
                    $0.orderID = "till-7/receipt-1"
                    $0.amount = .with { $0.currencyCode = "GBP"; $0.minorUnits = 25_075 }
                    $0.lines = [.with { $0.sku = "TEA-TIN"; $0.category = "tea"; $0.quantity = 5; $0.unitPriceMinor = 5_015 }]
                })
                #expect(earned.pointsEarned == 250)
                let reward = try await CatalogClient(wrapping: c).createReward(.with {
                    $0.sku = "CAKE"
                    $0.name = "Free slice of cake"
                    $0.kind = .freeProduct
                    $0.productSku = "CAKE-SLICE"
                    $0.costPoints = 100
                    $0.stock = 3
                }).reward
                return (member.memberID, reward.rewardID)
            }
        }

        let redeemed = try await withClient(port: redemption.port, apiKey: key) { r in
            try await RedemptionClient(wrapping: r).redeem(.with {
                $0.memberID = memberId
                $0.rewardID = rewardId
                $0.quantity = 2
                $0.idempotencyKey = "basket-1"
            }).redemption
        }
        #expect(redeemed.status == .completed)
        #expect(redeemed.pointsSpent == 200)
        #expect(!redeemed.voucherCode.isEmpty)
        try await laurel.expectBalances(memberId: memberId, rewardId: rewardId, points: 50, stock: (1, 2))

        let cancelled = try await withClient(port: redemption.port, apiKey: key) { r in
            try await RedemptionClient(wrapping: r).cancelRedemption(.with { $0.redemptionID = redeemed.redemptionID; $0.reason = "returned" }).redemption
        }
        #expect(cancelled.status == .cancelled)
        try await laurel.expectBalances(memberId: memberId, rewardId: rewardId, points: 250, stock: (3, 0))
        let kinds = try await withClient(port: members.port, apiKey: key) { m in
            try await MembersClient(wrapping: m).listLedger(.with { $0.memberID = memberId }).entries.map(\.kind)
        }
        #expect(kinds == [.refund, .capture, .hold, .earn])

        // Every acknowledged write is on disk: a restarted members service has it all.
        try await laurel.restart("laurel-members")
        try await withClient(port: laurel.members.port, apiKey: key) { m in
            let balance = try await MembersClient(wrapping: m).getBalance(.with { $0.memberID = memberId }).balance
            #expect(balance.available == 250)
            try await expectLedgerBalances(members: MembersClient(wrapping: m), memberId: memberId)
        }

        stopped = true
        await laurel.stop()
    }

    @Test(arguments: TransportChoice.allCases)
    func gracefulShutdownEndsHealthWatchesAndExitsCleanly(transport: TransportChoice) async throws {
        let data = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let catalog = try await ServiceProcess.start("laurel-catalog", dataDirectory: data, arguments: ["--transport", transport.rawValue])

        let statuses = try await withClient(port: catalog.port) { client in
            try await Grpc_Health_V1_Health.Client(wrapping: client).watch(.with { $0.service = "laurel.v1.CatalogService" }) { response in
                var statuses: [ServingStatus] = []
                for try await message in response.messages {
                    statuses.append(message.status)
                    if statuses.count == 1 {
                        // SIGTERM while the watch is open: it must end, not hold shutdown up.
                        Task { await catalog.stop() }
                    }
                }
                return statuses
            }
        }
        #expect(statuses == [.serving, .notServing])
        let status = await catalog.stop()
        #expect(status == 0, "log:\n\(catalog.log)")
    }
}
