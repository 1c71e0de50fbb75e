import CatalogService
import Foundation
import GRDB
import GRPCCore
import LaurelShared
import MembersService
import RedemptionService
import Testing

/// Limits, tiers, vouchers and recovery of the redemption saga, on in-memory
/// databases with the real members and catalog domains as peers.
@Suite struct RedemptionRulesTests {
    let laurel: LocalLaurel

    init() throws {
        laurel = try LocalLaurel()
    }

    func redeem(_ member: Member, _ reward: Reward, quantity: Int64 = 1, key: String = uniqueKey()) async throws -> Redemption {
        try await laurel.redemptions.redeem(RedeemRequest(memberId: member.id, rewardId: reward.id, quantity: quantity, idempotencyKey: key))
    }

    func expectReason(_ reason: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(reason)")
        } catch let error as any LaurelError {
            #expect(error.reason == reason)
        } catch {
            Issue.record("expected \(reason), got \(error)")
        }
    }

    @Test func aPerMemberLimitCountsWhatTheMemberHoldsAndFreesOnCancel() async throws {
        let member = try await laurel.member(points: 1_000)
        let other = try await laurel.member(points: 1_000)
        let reward = try await laurel.reward(cost: 10, stock: 100, perMemberLimit: 2)
        let first = try await redeem(member, reward, quantity: 2)
        await expectReason("PER_MEMBER_LIMIT_REACHED") { _ = try await redeem(member, reward) }
        _ = try await redeem(other, reward, quantity: 2)
        _ = try await laurel.redemptions.cancel(id: first.id, reason: "")
        _ = try await redeem(member, reward)
        #expect(try await laurel.members.balance(memberId: member.id).available == 990)
        #expect(try await laurel.catalog.reward(.id(reward.id)).stockCommitted == 3)
    }

    @Test func aPerMemberLimitHoldsUnderConcurrency() async throws {
        let member = try await laurel.member(points: 10_000)
        let reward = try await laurel.reward(cost: 10, stock: 100, perMemberLimit: 3)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask { (try? await self.redeem(member, reward)) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 3)
        #expect(try await laurel.catalog.reward(.id(reward.id)).stockCommitted == 3)
    }

    @Test func aTierExclusiveRewardNeedsTheTier() async throws {
        let member = try await laurel.member(points: 500)
        let reward = try await laurel.reward(cost: 100, stock: 5, minTier: "GOLD")
        await expectReason("TIER_TOO_LOW") { _ = try await redeem(member, reward) }
        #expect(try await laurel.catalog.reward(.id(reward.id)).stockAvailable == 5)
        _ = try await laurel.members.update(UpdateMemberRequest(memberId: member.id, tier: "PLATINUM"))
        #expect(try await redeem(member, reward).status == .completed)
    }

    @Test func aVoucherIsUsedExactlyOnceAndAUsedOneCannotBeCancelled() async throws {
        let member = try await laurel.member(points: 500)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        let redemption = try await redeem(member, reward)
        let code = try #require(redemption.voucherCode)
        #expect(redemption.voucherStatus == .issued)

        let used = try await laurel.redemptions.useVoucher(code: code.lowercased(), storeId: "store-1", terminalId: "till-3")
        #expect(used.voucherStatus == .used)
        #expect(used.voucherStoreId == "store-1")
        #expect(try await laurel.redemptions.useVoucher(code: code, storeId: "store-1", terminalId: "till-3") == used)
        await expectReason("VOUCHER_ALREADY_USED") { _ = try await laurel.redemptions.useVoucher(code: code, storeId: "store-2", terminalId: "") }
        await expectReason("VOUCHER_ALREADY_USED") { _ = try await laurel.redemptions.cancel(id: redemption.id, reason: "") }
        #expect(try await laurel.members.balance(memberId: member.id).available == 400)

        let other = try await redeem(member, reward)
        _ = try await laurel.redemptions.cancel(id: other.id, reason: "")
        await expectReason("VOUCHER_VOID") { _ = try await laurel.redemptions.useVoucher(code: other.voucherCode!, storeId: "store-1", terminalId: "") }
        await expectReason("VOUCHER_NOT_FOUND") { _ = try await laurel.redemptions.useVoucher(code: "AAAA-BBBB-CCCC-DDDD", storeId: "s", terminalId: "") }
    }

    @Test func concurrentRedeemersNeverOversellOrOverspend() async throws {
        let reward = try await laurel.reward(cost: 10, stock: 10)
        var members: [Member] = []
        for _ in 0..<32 { members.append(try await laurel.member(points: 10)) }
        let completed = await withTaskGroup(of: Bool.self) { group in
            for member in members {
                group.addTask { (try? await self.redeem(member, reward)) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(completed == 10)
        #expect(try await laurel.stock(reward) == (0, 0, 10))
        try await expectLedgerBalances(laurel.members.database)
    }

    /// A crash after the points were held: recovery commits and captures.
    @Test func recoveryDrivesASagaWithHeldPointsForward() async throws {
        let member = try await laurel.member(points: 300)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        let stranded = try await strand(member: member, reward: reward, at: .pointsHeld)

        #expect(try await laurel.redemptions.resumeUnfinished() == 1)
        let recovered = try await laurel.redemptions.redemption(id: stranded.id)
        #expect(recovered.status == .completed)
        #expect(recovered.voucherCode != nil)
        #expect(try await laurel.members.balance(memberId: member.id) == Balance(memberId: member.id, available: 200, held: 0, lifetimeEarned: 300))
        #expect(try await laurel.catalog.reward(.id(reward.id)).stockCommitted == 1)
        // The client's retry gets the finished redemption.
        #expect(try await redeem(member, reward, key: stranded.idempotencyKey) == recovered)
    }

    /// A crash before the points were held: recovery gives the stock back, and
    /// the client's retry with the same key starts a fresh attempt.
    @Test func recoveryCompensatesASagaThatHadNotHeldItsPoints() async throws {
        let member = try await laurel.member(points: 300)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        let stranded = try await strand(member: member, reward: reward, at: .stockReserved)

        #expect(try await laurel.redemptions.resumeUnfinished() == 1)
        let recovered = try await laurel.redemptions.redemption(id: stranded.id)
        #expect(recovered.status == .failed)
        #expect(recovered.failure?.reason == "INTERRUPTED")
        #expect(try await laurel.catalog.reward(.id(reward.id)).stockAvailable == 5)
        #expect(try await laurel.members.balance(memberId: member.id).available == 300)

        let retried = try await redeem(member, reward, key: stranded.idempotencyKey)
        #expect(retried.id == stranded.id)
        #expect(retried.status == .completed)
        #expect(retried.attempt == 2)
        #expect(try await laurel.members.balance(memberId: member.id).available == 200)
    }

    /// A crash after the points were held but before completion leaves the
    /// row PENDING (the steps between are not written): recovery gives back
    /// both the points and the stock.
    @Test func recoveryCompensatesASagaStoppedAfterItsHold() async throws {
        let member = try await laurel.member(points: 300)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        let stranded = try await strand(member: member, reward: reward, at: .pending, holding: true)
        #expect(try await laurel.members.balance(memberId: member.id).held == 100)

        #expect(try await laurel.redemptions.resumeUnfinished() == 1)
        let recovered = try await laurel.redemptions.redemption(id: stranded.id)
        #expect(recovered.status == .failed && recovered.failure?.reason == "INTERRUPTED")
        #expect(try await laurel.members.balance(memberId: member.id) == Balance(memberId: member.id, available: 300, held: 0, lifetimeEarned: 300))
        #expect(try await laurel.stock(reward) == (5, 0, 0))
        try await expectLedgerBalances(laurel.members.database)
    }

    @Test func aHoldThatExpiredBeforeCaptureFailsTheSagaCleanly() async throws {
        let member = try await laurel.member(points: 300)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        let stranded = try await strand(member: member, reward: reward, at: .pointsHeld)
        laurel.clock.advance(seconds: 301)

        #expect(try await laurel.redemptions.resumeUnfinished() == 1)
        let recovered = try await laurel.redemptions.redemption(id: stranded.id)
        #expect(recovered.status == .failed)
        #expect(recovered.failure?.reason == "RESERVATION_EXPIRED")
        #expect(try await laurel.members.balance(memberId: member.id).available == 300)
        #expect(try await laurel.stock(reward) == (5, 0, 0))
        try await expectLedgerBalances(laurel.members.database)
    }

    /// Leaves a redemption as a crash at `step` would: its remote steps up to
    /// there done (the hold too if `holding`), its row recording that step.
    func strand(member: Member, reward: Reward, at step: SagaStep, holding: Bool = false) async throws -> Redemption {
        let now = laurel.clock.now
        let redemption = Redemption(
            id: Identifier.make(prefix: "rdm"), memberId: member.id, rewardId: reward.id, quantity: 1,
            idempotencyKey: uniqueKey(), step: step, attempt: 1, pointsSpent: 100, voucherCode: nil, failure: nil,
            cancelReason: "", createdAt: now, updatedAt: now)
        _ = try await laurel.catalog.reserve(ReserveRequest(
            rewardId: reward.id, quantity: 1, reservationId: redemption.reservationId, ttlSeconds: 300, memberId: member.id))
        if step == .pointsHeld || holding {
            _ = try await laurel.members.hold(HoldRequest(memberId: member.id, holdId: redemption.holdId, points: 100, ttlSeconds: 300))
        }
        return try await laurel.redemptions.database.writer.write { db in
            var inserted = redemption
            try inserted.insert(db)
            inserted.seq = db.lastInsertedRowID
            return inserted
        }
    }
}
