import CatalogService
import Foundation
import LaurelShared
import MembersService
import RedemptionService
import Testing

/// `laurel_redemptions_total{status}` and the points counters as a saga runs,
/// on in-memory databases sharing one set of metrics.
@Suite struct RedemptionMetricsTests {
    let laurel: LocalLaurel

    init() throws {
        laurel = try LocalLaurel()
    }

    var samples: [String: Double] { laurel.metrics.samples }

    func redemptions(_ status: String) -> Double? { samples[#"laurel_redemptions_total{status="\#(status)"}"#] }

    func redeem(_ member: Member, _ rewardId: String, key: String = uniqueKey()) async throws -> Redemption {
        try await laurel.redemptions.redeem(RedeemRequest(memberId: member.id, rewardId: rewardId, quantity: 1, idempotencyKey: key))
    }

    @Test func endsOfTheSagaAreCountedByStatus() async throws {
        let member = try await laurel.member(points: 250)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        #expect((redemptions("COMPLETED"), redemptions("FAILED"), redemptions("CANCELLED")) == (0, 0, 0))

        let first = try await redeem(member, reward.id, key: "first")
        _ = try await redeem(member, reward.id, key: "first")
        _ = try await redeem(member, reward.id)
        // 50 points left: refused, and the reserved stock given back.
        await #expect(throws: RedemptionError.self) { _ = try await redeem(member, reward.id) }
        #expect(redemptions("COMPLETED") == 2)
        #expect(redemptions("FAILED") == 1)
        #expect(redemptions("CANCELLED") == 0)

        _ = try await laurel.redemptions.cancel(id: first.id, reason: "changed mind")
        _ = try await laurel.redemptions.cancel(id: first.id, reason: "changed mind")
        #expect(redemptions("CANCELLED") == 1)
        #expect(redemptions("COMPLETED") == 2)

        #expect(samples["laurel_points_issued_total"] == 250)
        #expect(samples["laurel_points_redeemed_total"] == 200)
        #expect(samples["laurel_points_refunded_total"] == 100)
    }

    /// A redemption started on a reward's old terms and redone on its new
    /// ones is one completed redemption, not a failure as well.
    @Test func aRedemptionRedoneOnARewardsNewTermsCountsOnce() async throws {
        let member = try await laurel.member(points: 1_000)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        _ = try await redeem(member, reward.id)
        _ = try await laurel.catalog.update(UpdateRewardRequest(rewardId: reward.id, costPoints: 150))
        #expect(try await redeem(member, reward.id).attempt == 2)
        #expect(redemptions("COMPLETED") == 2)
        #expect(redemptions("FAILED") == 0)
        #expect(samples["laurel_points_redeemed_total"] == 250)
    }
}
