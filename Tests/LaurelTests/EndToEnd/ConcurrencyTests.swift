import Foundation
import GRPCCore
import LaurelShared
import Testing

/// Many clients at once against the three processes: stock and points are
/// never oversold, and the ledger still sums to the balance.
@Suite(.serialized) struct ConcurrencyTests {
    @Test func sixtyFourRedeemersForTenUnitsGetExactlyTen() async throws {
        try await LaurelCluster.withRunning { laurel in
            let members = laurel.members
            let reward = try await laurel.catalog.createReward(.with {
                $0.sku = "CONCERT"; $0.name = "Concert ticket"; $0.kind = .exclusiveAccess; $0.costPoints = 50; $0.stock = 10
            }).reward.rewardID
            var ids: [String] = []
            for i in 0..<64 {
                let id = try await members.enrollMember(.with { $0.externalID = "fan-\(i)" }).member.memberID
                _ = try await members.adjustPoints(.with { $0.memberID = id; $0.delta = 100; $0.reason = "seed"; $0.requestID = "seed-\(i)" })
                ids.append(id)
            }
            let outcomes = await redeemConcurrently(
                laurel.redemption,
                ids.map { id in .with { $0.memberID = id; $0.rewardID = reward; $0.quantity = 1; $0.idempotencyKey = "k-\(id)" } })
            #expect(outcomes == ["completed": 10, "OUT_OF_STOCK": 54])
            let stock = try await laurel.catalog.getReward(.with { $0.rewardID = reward }).reward
            #expect((stock.stockAvailable, stock.stockReserved, stock.stockCommitted) == (0, 0, 10))
            var spent = 0
            for id in ids {
                let balance = try await members.getBalance(.with { $0.memberID = id }).balance
                #expect(balance.held == 0)
                if balance.available == 50 { spent += 1 } else { #expect(balance.available == 100) }
                try await expectLedgerBalances(members: members, memberId: id)
            }
            #expect(spent == 10)
        }
    }

    @Test func oneMemberFiringTenRedemptionsSpendsOnlyWhatTheyHave() async throws {
        try await LaurelCluster.withRunning { laurel in
            let members = laurel.members
            let reward = try await laurel.catalog.createReward(.with {
                $0.sku = "MUG"; $0.name = "Mug"; $0.kind = .freeProduct; $0.productSku = "MUG"; $0.costPoints = 50; $0.unlimitedStock = true
            }).reward.rewardID
            let id = try await members.enrollMember(.with { $0.externalID = "greedy" }).member.memberID
            _ = try await members.adjustPoints(.with { $0.memberID = id; $0.delta = 100; $0.reason = "seed"; $0.requestID = "seed" })
            let outcomes = await redeemConcurrently(
                laurel.redemption,
                (0..<10).map { attempt in .with { $0.memberID = id; $0.rewardID = reward; $0.quantity = 1; $0.idempotencyKey = "try-\(attempt)" } })
            #expect(outcomes == ["completed": 2, "INSUFFICIENT_POINTS": 8])
            let balance = try await members.getBalance(.with { $0.memberID = id }).balance
            #expect((balance.available, balance.held) == (0, 0))
            try await expectLedgerBalances(members: members, memberId: id)
            let stock = try await laurel.catalog.getReward(.with { $0.rewardID = reward }).reward
            #expect((stock.stockReserved, stock.stockCommitted) == (0, 2))
        }
    }

    /// Sends every request at once; counts the outcomes by status or reason.
    func redeemConcurrently(_ redemption: RedemptionClient, _ requests: [Laurel_V1_RedeemRequest]) async -> [String: Int] {
        await withTaskGroup(of: String.self) { group in
            for request in requests {
                group.addTask {
                    do {
                        return "\(try await redemption.redeem(request).redemption.status)"
                    } catch let error as RPCError {
                        return error.laurelErrorInfo?.reason ?? "\(error.code)"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            return await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
        }
    }
}
