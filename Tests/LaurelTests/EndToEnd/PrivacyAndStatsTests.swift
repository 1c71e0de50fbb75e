import Foundation
import GRDB
import GRPCCore
import LaurelShared
import Testing

typealias PrivacyClient = Laurel_V1_PrivacyService.Client<Transport>

/// PrivacyService export and erasure across the three processes, and the
/// catalog's and redemption's statistics against a hand-computed fixture.
@Suite(.serialized) struct PrivacyAndStatsTests {
    func withPrivacy<T: Sendable>(_ laurel: LaurelCluster, apiKey: String? = nil, _ body: (PrivacyClient) async throws -> T) async throws -> T {
        try await withClient(port: laurel.redemption.port, apiKey: apiKey ?? laurel.operatorKey) { client in
            try await body(PrivacyClient(wrapping: client))
        }
    }

    func reward(_ laurel: LaurelCluster.Clients, _ sku: String, cost: Int64, stock: Int64, active: Bool = true) async throws -> String {
        try await laurel.catalog.createReward(.with {
            $0.sku = sku
            $0.name = "Reward \(sku)"
            $0.kind = .exclusiveAccess
            $0.costPoints = cost
            $0.stock = stock
            $0.active = active
        }).reward.rewardID
    }

    func redeem(_ laurel: LaurelCluster.Clients, _ memberId: String, _ rewardId: String, _ quantity: Int64) async throws -> Laurel_V1_Redemption {
        try await laurel.redemption.redeem(.with {
            $0.memberID = memberId
            $0.rewardID = rewardId
            $0.quantity = quantity
            $0.idempotencyKey = uniqueKey("redeem")
        }).redemption
    }

    @Test func exportGathersEverythingAndErasureRemovesThePersonWhileKeepingTheAmounts() async throws {
        try await LaurelCluster.withCluster { laurel in
            let (memberId, voucher) = try await laurel.withClients { laurel in
                let member = try await laurel.members.enrollMember(.with {
                    $0.externalID = "crm-4711"
                    $0.email = "ada@example.com"
                    $0.displayName = "Ada Lovelace"
                    $0.birthDate = "1990-12-10"
                    $0.attributes = ["city": "London"]
                }).member
                _ = try await laurel.members.recordPurchase(.with {
                    $0.memberID = member.memberID
                    $0.orderID = "order-1"
                    $0.amount = .with {
                        $0.currencyCode = "USD"
                        $0.minorUnits = 30_000
                    }
                    $0.lines = [.with {
                        $0.sku = "TEA"
                        $0.quantity = 3
                        $0.unitPriceMinor = 10_000
                    }]
                })
                let cake = try await reward(laurel, "CAKE", cost: 100, stock: 5)
                let redemption = try await redeem(laurel, member.memberID, cake, 1)
                #expect(redemption.status == .completed)
                return (member.memberID, redemption.voucherCode)
            }

            let export = try await withPrivacy(laurel) { try await $0.exportMember(.with { $0.memberID = memberId }).export }
            #expect(export.memberID == memberId)
            #expect(export.members.member.email == "ada@example.com")
            #expect(export.members.member.displayName == "Ada Lovelace")
            #expect(export.members.member.attributes == ["city": "London"])
            #expect(export.members.balance.available == 200)
            #expect(export.members.ledger.map(\.kind) == [.earn, .hold, .capture])
            #expect(export.members.purchases.map(\.orderID) == ["order-1"])
            #expect(export.members.purchases.first?.lines.map(\.sku) == ["TEA"])
            #expect(export.members.holds.count == 1)
            #expect(!export.members.events.isEmpty)
            #expect(export.reservations.count == 1)
            #expect(export.redemptions.map(\.voucherCode) == [voucher])
            #expect(!export.members.hasErasedAt)

            // Erasure waits for what is in flight: here, held points.
            try await laurel.withClients { laurel in
                _ = try await laurel.members.holdPoints(.with {
                    $0.memberID = memberId
                    $0.holdID = "pending-hold"
                    $0.points = 10
                })
            }
            try await withPrivacy(laurel) { privacy in
                await expectRPCError(.failedPrecondition, reason: "ERASURE_BLOCKED") {
                    _ = try await privacy.eraseMember(.with {
                        $0.memberID = memberId
                        $0.requestID = "gdpr-1"
                        $0.reason = "GDPR art. 17, ticket 1"
                    })
                }
            }
            try await laurel.withClients { laurel in
                _ = try await laurel.members.releaseHold(.with { $0.holdID = "pending-hold" })
                // Refused: nothing was erased.
                #expect(try await laurel.members.getMember(.with { $0.externalID = "crm-4711" }).member.memberID == memberId)
            }

            // Only operators may ask.
            let partner = try await laurel.createKey(.partner, partnerId: "shop")
            try await withPrivacy(laurel, apiKey: partner) { privacy in
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") {
                    _ = try await privacy.exportMember(.with { $0.memberID = memberId })
                }
            }

            let erased = try await withPrivacy(laurel) { privacy in
                try await privacy.eraseMember(.with {
                    $0.memberID = memberId
                    $0.requestID = "gdpr-1"
                    $0.reason = "GDPR art. 17, ticket 1"
                })
            }
            #expect(erased.memberID == memberId)
            #expect(erased.redemptionsAnonymised == 1)
            #expect(erased.reservationsAnonymised == 1)
            // Repeating the request gives the same answer.
            let again = try await withPrivacy(laurel) { privacy in
                try await privacy.eraseMember(.with {
                    $0.memberID = memberId
                    $0.requestID = "gdpr-1"
                    $0.reason = "GDPR art. 17, ticket 1"
                })
            }
            #expect(again == erased)

            try await laurel.withClients { laurel in
                await expectRPCError(.notFound, reason: "MEMBER_NOT_FOUND") {
                    _ = try await laurel.members.getMember(.with { $0.externalID = "crm-4711" })
                }
                let tombstone = try await laurel.members.getMember(.with { $0.memberID = memberId }).member
                #expect(tombstone.email == "")
                #expect(tombstone.displayName == "")
                #expect(tombstone.birthDate == "")
                #expect(tombstone.attributes.isEmpty)
                #expect(tombstone.externalID == "erased:\(memberId)")
                #expect(tombstone.status == .closed)
                // The amounts stay: balance and ledger as before.
                #expect(try await laurel.members.getBalance(.with { $0.memberID = memberId }).balance.available == 200)
                try await expectLedgerBalances(members: laurel.members, memberId: memberId)
                // Segments never show an erased member.
                #expect(try await laurel.members.listMembers(.init()).members.map(\.memberID).contains(memberId) == false)
                // The external id is free again.
                let returning = try await laurel.members.enrollMember(.with { $0.externalID = "crm-4711" }).member
                #expect(returning.memberID != memberId)
                // The voucher is gone with the link to the member.
                await expectRPCError(.notFound, reason: "VOUCHER_NOT_FOUND") {
                    _ = try await laurel.redemption.redeemVoucher(.with {
                        $0.voucherCode = voucher
                        $0.storeID = "s1"
                        $0.terminalID = "t1"
                    })
                }
                // Statistics still count the redemption.
                let stats = try await laurel.redemption.getRedemptionStats(.init()).stats
                #expect(stats.redemptionsByStatus == ["COMPLETED": 1])
                #expect(stats.pointsSpent == 100)
            }

            let after = try await withPrivacy(laurel) { try await $0.exportMember(.with { $0.memberID = memberId }).export }
            #expect(after.members.hasErasedAt)
            #expect(after.members.erasedAt == erased.erasedAt)
            #expect(after.members.member.email == "")
            #expect(after.members.member.attributes.isEmpty)
            #expect(after.reservations.isEmpty)
            #expect(after.redemptions.isEmpty)
            #expect(after.members.ledger.count == 5)

            // Each service audited its part under the request id, without personal data.
            for (service, file) in [("laurel-members", "members.sqlite"), ("laurel-catalog", "catalog.sqlite"), ("laurel-redemption", "redemption.sqlite")] {
                let path = laurel.data.appendingPathComponent(service).appendingPathComponent(file).path
                let rows = try sqliteRows(path, "SELECT request_id, member_id, reason FROM erasure_audit")
                #expect(rows.count == 1, "\(service)")
                #expect(rows.first?.first == "gdpr-1", "\(service)")
                #expect(rows.first?[1] == memberId, "\(service)")
            }
        }
    }

    @Test func catalogAndRedemptionStatsMatchAHandComputedFixture() async throws {
        try await LaurelCluster.withCluster { laurel in
            try await laurel.withClients { laurel in
                let cake = try await reward(laurel, "CAKE", cost: 100, stock: 5)
                let mug = try await reward(laurel, "MUG", cost: 50, stock: 2)
                _ = try await reward(laurel, "OLD", cost: 10, stock: 1, active: false)
                var ids: [String] = []
                for (name, points) in [("rich", Int64(1_000)), ("poor", 100)] {
                    let id = try await laurel.members.enrollMember(.with { $0.externalID = name }).member.memberID
                    _ = try await laurel.members.adjustPoints(.with {
                        $0.memberID = id
                        $0.delta = points
                        $0.reason = "fixture"
                        $0.requestID = "fixture-\(name)"
                    })
                    ids.append(id)
                }
                // rich: 2 cakes (completed, voucher used), 1 mug (cancelled:
                // restocked); poor: 2 cakes refused for want of points.
                let cakes = try await redeem(laurel, ids[0], cake, 2)
                let mugs = try await redeem(laurel, ids[0], mug, 1)
                await expectRPCError(.failedPrecondition, reason: "INSUFFICIENT_POINTS") { _ = try await redeem(laurel, ids[1], cake, 2) }
                #expect([cakes.status, mugs.status] == [.completed, .completed])
                _ = try await laurel.redemption.cancelRedemption(.with {
                    $0.redemptionID = mugs.redemptionID
                    $0.reason = "changed mind"
                })
                _ = try await laurel.redemption.redeemVoucher(.with {
                    $0.voucherCode = cakes.voucherCode
                    $0.storeID = "s1"
                    $0.terminalID = "t1"
                })

                let catalog = try await laurel.catalog.getCatalogStats(.init()).stats
                #expect(catalog.rewardsTotal == 3)
                #expect(catalog.rewardsActive == 2)
                #expect(catalog.stockAvailable == 3 + 2 + 1)
                #expect(catalog.stockReserved == 0)
                #expect(catalog.unitsCommitted == 2)
                #expect(catalog.unitsReleased == 2 + 1)
                #expect(catalog.topRewards.map { [$0.rewardID, $0.name, "\($0.units)", "\($0.points)"] } == [[cake, "Reward CAKE", "2", "200"]])

                let redemption = try await laurel.redemption.getRedemptionStats(.init()).stats
                #expect(redemption.redemptionsTotal == 3)
                #expect(redemption.redemptionsByStatus == ["COMPLETED": 1, "CANCELLED": 1, "FAILED": 1])
                #expect(redemption.pointsSpent == 200)
                #expect(redemption.membersRedeeming == 1)
                #expect(redemption.vouchersUsed == 1)
                #expect(redemption.topRewards.map { [$0.rewardID, "\($0.redemptions)", "\($0.units)", "\($0.points)"] } == [[cake, "1", "2", "200"]])

                // A range before anything happened is empty; bad ranges are refused.
                let empty = try await laurel.redemption.getRedemptionStats(.with { $0.to = .init(seconds: 1_000_000_000) }).stats
                #expect(empty.redemptionsTotal == 0)
                await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "top") {
                    _ = try await laurel.catalog.getCatalogStats(.with { $0.top = 101 })
                }
                await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "from") {
                    _ = try await laurel.redemption.getRedemptionStats(.with {
                        $0.from = .init(seconds: 2_000_000_000)
                        $0.to = .init(seconds: 1_000_000_000)
                    })
                }
            }
            // Statistics are for operators.
            let partner = try await laurel.createKey(.partner, partnerId: "shop")
            try await laurel.withClients(apiKey: partner) { shop in
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") { _ = try await shop.catalog.getCatalogStats(.init()) }
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") { _ = try await shop.redemption.getRedemptionStats(.init()) }
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") { _ = try await shop.program.getProgramStats(.init()) }
            }
        }
    }
}

/// Rows of a query on a service's database file, as text, read with GRDB.
func sqliteRows(_ path: String, _ sql: String) throws -> [[String]] {
    try DatabaseQueue(path: path, configuration: DatabaseBootstrap.configuration()).read { db in
        try Row.fetchAll(db, sql: sql).map { row in row.databaseValues.map { String.fromDatabaseValue($0) ?? $0.description } }
    }
}
