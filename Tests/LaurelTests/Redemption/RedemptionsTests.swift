import CatalogService
import Foundation
import GRPCCore
import LaurelShared
import MembersService
import RedemptionService
import Synchronization
import Testing

/// The redemption saga on in-memory databases, with the real members and
/// catalog domains as its peers.
@Suite struct RedemptionsTests {
    let laurel: LocalLaurel

    init() throws {
        laurel = try LocalLaurel()
    }

    func redeem(_ member: Member, _ reward: Reward, quantity: Int64 = 1, key: String = uniqueKey()) async throws -> Redemption {
        try await laurel.redemptions.redeem(RedeemRequest(memberId: member.id, rewardId: reward.id, quantity: quantity, idempotencyKey: key))
    }

    func expectFailure(_ reason: String, code: RPCError.Code, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(reason)")
        } catch let error as RedemptionError {
            #expect(error.reason == reason)
            #expect(error.code == code)
        } catch {
            Issue.record("expected \(reason), got \(error)")
        }
    }

    @Test func aRedemptionSpendsPointsTakesStockAndIssuesAVoucher() async throws {
        let member = try await laurel.member(points: 250)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        let redemption = try await redeem(member, reward, quantity: 2)
        #expect(redemption.status == .completed)
        #expect(redemption.pointsSpent == 200)
        let code = try #require(redemption.voucherCode)
        #expect(code.wholeMatch(of: /[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}/) != nil)
        #expect(try await laurel.members.balance(memberId: member.id).available == 50)
        #expect(try await laurel.stock(reward) == (3, 0, 2))
        try await expectLedgerBalances(laurel.members.database)
    }

    @Test func tooFewPointsGivesTheStockBack() async throws {
        let member = try await laurel.member(points: 50)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        await expectFailure("INSUFFICIENT_POINTS", code: .failedPrecondition) { _ = try await redeem(member, reward) }
        #expect(try await laurel.catalog.reward(.id(reward.id)).stockAvailable == 5)
        #expect(try await laurel.members.balance(memberId: member.id).available == 50)
    }

    @Test func outOfStockTakesNoPoints() async throws {
        let member = try await laurel.member(points: 500)
        let reward = try await laurel.reward(cost: 100, stock: 1)
        await expectFailure("OUT_OF_STOCK", code: .failedPrecondition) { _ = try await redeem(member, reward, quantity: 2) }
        #expect(try await laurel.members.balance(memberId: member.id) .available == 500)
    }

    @Test func anUnknownMemberIsNotFoundAndTheStockIsReturned() async throws {
        let reward = try await laurel.reward(cost: 100, stock: 5)
        await expectFailure("MEMBER_NOT_FOUND", code: .notFound) {
            _ = try await laurel.redemptions.redeem(RedeemRequest(memberId: "mbr_nobody", rewardId: reward.id, quantity: 1, idempotencyKey: "k"))
        }
        #expect(try await laurel.catalog.reward(.id(reward.id)).stockAvailable == 5)
    }

    @Test func anUnavailableRewardIsRefused() async throws {
        let member = try await laurel.member(points: 500)
        let reward = try await laurel.catalog.archive(rewardId: try await laurel.reward(cost: 100, stock: 5).id)
        await expectFailure("REWARD_NOT_AVAILABLE", code: .failedPrecondition) { _ = try await redeem(member, reward) }
    }

    @Test func theSameKeyReturnsTheSameRedemptionAndAnotherBodyIsRefused() async throws {
        let member = try await laurel.member(points: 500)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        let first = try await redeem(member, reward, key: "once")
        let again = try await redeem(member, reward, key: "once")
        #expect(again == first)
        #expect(try await laurel.members.balance(memberId: member.id).available == 400)
        await expectError(IdempotencyKeyReused(field: "idempotency_key", key: "once")) {
            _ = try await redeem(member, reward, quantity: 2, key: "once")
        }
        // A refusal is remembered too: the same key gets the same answer.
        let poor = try await laurel.member(points: 0)
        await expectFailure("INSUFFICIENT_POINTS", code: .failedPrecondition) { _ = try await redeem(poor, reward, key: "poor") }
        _ = try await laurel.members.adjust(AdjustRequest(memberId: poor.id, delta: 1_000, reason: "t", requestId: "t"))
        await expectFailure("INSUFFICIENT_POINTS", code: .failedPrecondition) { _ = try await redeem(poor, reward, key: "poor") }
    }

    @Test func cancellingRefundsThePointsAndRestocks() async throws {
        let member = try await laurel.member(points: 300)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        let redemption = try await redeem(member, reward, quantity: 3)
        let cancelled = try await laurel.redemptions.cancel(id: redemption.id, reason: "changed mind")
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.cancelReason == "changed mind")
        #expect(try await laurel.redemptions.cancel(id: redemption.id, reason: "again") == cancelled)
        #expect(try await laurel.members.balance(memberId: member.id).available == 300)
        #expect(try await laurel.catalog.reward(.id(reward.id)).stockAvailable == 5)
        let refund = try await laurel.members.ledger(memberId: member.id, pageSize: 1, after: nil).items.first
        #expect(refund?.kind == .refund)
        #expect(refund?.reference == redemption.id)
        try await expectLedgerBalances(laurel.members.database)

        let poor = try await laurel.member(points: 0)
        let failedKey = uniqueKey()
        await expectFailure("INSUFFICIENT_POINTS", code: .failedPrecondition) { _ = try await redeem(poor, reward, key: failedKey) }
        let failed = try #require(try await laurel.redemptions.redemptions(memberId: poor.id, pageSize: 10, after: nil).items.first)
        await expectError(RedemptionError.notCompleted(redemptionId: failed.id, status: .failed)) {
            _ = try await laurel.redemptions.cancel(id: failed.id, reason: "")
        }
    }

    @Test func aPeerOutageGivesEverythingBackAndTheSameKeyCanRetry() async throws {
        let member = try await laurel.member(points: 100)
        let reward = try await laurel.reward(cost: 100, stock: 1)
        laurel.membersOutage.isDown = true
        await expectFailure("PEER_UNAVAILABLE", code: .unavailable) { _ = try await redeem(member, reward, key: "retry-me") }
        // Members is down, so only the stock could be given back for now.
        #expect(try await laurel.catalog.reward(.id(reward.id)).stockAvailable == 1)

        laurel.membersOutage.isDown = false
        let redemption = try await redeem(member, reward, key: "retry-me")
        #expect(redemption.status == .completed)
        #expect(redemption.attempt == 2)
        #expect(try await laurel.members.balance(memberId: member.id).available == 0)
        #expect(try await laurel.catalog.reward(.id(reward.id)).stockCommitted == 1)
    }

    @Test func anUnfinishedCompensationIsFinishedByRecovery() async throws {
        let member = try await laurel.member(points: 100)
        let reward = try await laurel.reward(cost: 100, stock: 1)
        laurel.catalogOutage.isDown = true
        await expectFailure("PEER_UNAVAILABLE", code: .unavailable) { _ = try await redeem(member, reward, key: "stuck") }
        let stuck = try #require(try await laurel.redemptions.redemptions(memberId: member.id, pageSize: 1, after: nil).items.first)
        #expect(stuck.status == .pending)

        laurel.catalogOutage.isDown = false
        #expect(try await laurel.redemptions.resumeUnfinished() == 1)
        #expect(try await laurel.redemptions.redemption(id: stuck.id).status == .failed)
        #expect(try await laurel.catalog.reward(.id(reward.id)).stockAvailable == 1)
        #expect(try await laurel.members.balance(memberId: member.id).available == 100)
    }

    /// Commit and capture go out together; when one is refused after the
    /// other succeeded, compensation undoes the one that happened.
    @Test(arguments: [true, false])
    func aStepRefusedWhileTheOtherSucceededIsUndone(captureRefused: Bool) async throws {
        let member = try await laurel.member(points: 100)
        let reward = try await laurel.reward(cost: 100, stock: 1)
        let firstDone = Latch()
        // The first step succeeds; then the clock passes both TTLs, so the
        // second is refused as expired.
        let clock = laurel.clock
        laurel.hooks.hooks.withLock {
            if captureRefused {
                $0.afterCommit = { await firstDone.open() }
                $0.beforeCapture = { await firstDone.wait(); clock.advance(seconds: 301) }
            } else {
                $0.afterCapture = { await firstDone.open() }
                $0.beforeCommit = { await firstDone.wait(); clock.advance(seconds: 301) }
            }
        }
        await expectFailure(captureRefused ? "HOLD_EXPIRED" : "RESERVATION_EXPIRED", code: .failedPrecondition) {
            _ = try await redeem(member, reward)
        }
        #expect(try await laurel.members.balance(memberId: member.id).available == 100)
        #expect(try await laurel.stock(reward) == (1, 0, 0))
        try await expectLedgerBalances(laurel.members.database)
    }

    /// The ledger kinds of a member's entries, oldest first.
    func ledgerKinds(_ member: Member) async throws -> [LedgerKind] {
        try await laurel.members.ledger(memberId: member.id, pageSize: 100, after: nil).items.reversed().map(\.kind)
    }

    /// Once a reward has been reserved, the next redemption of it holds the
    /// points while its stock is being reserved, not after.
    @Test func theNextRedemptionOfARewardHoldsItsPointsWhileTheStockIsReserved() async throws {
        let member = try await laurel.member(points: 300)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        #expect(try await redeem(member, reward).status == .completed)

        let reserveMayGo = Latch()
        laurel.hooks.hooks.withLock { $0.beforeReserve = { await reserveMayGo.wait() } }
        let second = Task { try await redeem(member, reward) }
        var held: Points = 0
        for _ in 0..<500 where held == 0 {
            held = try await laurel.members.balance(memberId: member.id).held
            if held == 0 { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(held == 100, "the hold waited for the reservation")
        await reserveMayGo.open()

        let redemption = try await second.value
        #expect(redemption.status == .completed)
        #expect(redemption.pointsSpent == 100)
        #expect(redemption.attempt == 1)
        let balance = try await laurel.members.balance(memberId: member.id)
        #expect((balance.available, balance.held) == (100, 0))
        #expect(try await laurel.stock(reward) == (3, 0, 2))
        try await expectLedgerBalances(laurel.members.database)
    }

    /// The catalog's answer prices a redemption, not the terms remembered
    /// from the last one: a new cost gives back what was held on the old one
    /// and the same request completes on the new one.
    @Test func aRewardsNewCostAppliesToTheNextRedemptionAtOnce() async throws {
        let member = try await laurel.member(points: 1_000)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        #expect(try await redeem(member, reward).pointsSpent == 100)
        _ = try await laurel.catalog.update(UpdateRewardRequest(rewardId: reward.id, costPoints: 150))

        let redemption = try await redeem(member, reward)
        #expect(redemption.status == .completed)
        #expect(redemption.pointsSpent == 150)
        #expect(redemption.attempt == 2)
        let balance = try await laurel.members.balance(memberId: member.id)
        #expect((balance.available, balance.held) == (750, 0))
        #expect(try await laurel.stock(reward) == (3, 0, 2))
        // First redemption; then the hold on the old cost, its release, and the new one.
        #expect(try await ledgerKinds(member) == [.adjust, .hold, .capture, .hold, .release, .hold, .capture])
        try await expectLedgerBalances(laurel.members.database)
        // And the next one goes at the new cost straight away.
        #expect(try await redeem(member, reward).attempt == 1)
        #expect(try await laurel.members.balance(memberId: member.id).available == 600)
    }

    /// A reward repriced under every attempt of one request: the request
    /// ends ABORTED with nothing taken, counted once as a failure, and the
    /// same key completes once the price holds still.
    @Test func aRewardRepricedUnderEveryAttemptAbortsTheRequest() async throws {
        let member = try await laurel.member(points: 1_000)
        let reward = try await laurel.reward(cost: 100, stock: 5)
        #expect(try await redeem(member, reward).pointsSpent == 100)
        let catalog = laurel.catalog
        let price = Mutex<Points>(100)
        laurel.hooks.hooks.withLock {
            $0.beforeReserve = {
                let next = price.withLock { $0 += 10; return $0 }
                _ = try? await catalog.update(UpdateRewardRequest(rewardId: reward.id, costPoints: next))
            }
        }
        await expectFailure("REWARD_TERMS_CHANGED", code: .aborted) { _ = try await redeem(member, reward, key: "moving") }
        let balance = try await laurel.members.balance(memberId: member.id)
        #expect((balance.available, balance.held) == (900, 0))
        let failed = Scrape.samples(in: String(decoding: laurel.metrics.exposition(), as: UTF8.self))
        #expect(failed[#"laurel_redemptions_total{status="FAILED"}"#] == 1)

        laurel.hooks.hooks.withLock { $0.beforeReserve = nil }
        let redemption = try await redeem(member, reward, key: "moving")
        #expect(redemption.status == .completed)
        #expect(redemption.attempt == 3)
        #expect(redemption.pointsSpent == 120)
        #expect(try await laurel.members.balance(memberId: member.id).available == 780)
        try await expectLedgerBalances(laurel.members.database)
    }

    /// Out of stock after a redemption that went through: points held in the
    /// meantime are released, and the next attempt asks the catalog first.
    @Test func aRewardThatRanOutReleasesThePointsHeldMeanwhileOnce() async throws {
        let reward = try await laurel.reward(cost: 100, stock: 1)
        #expect(try await redeem(try await laurel.member(points: 100), reward).status == .completed)

        let member = try await laurel.member(points: 500)
        await expectFailure("OUT_OF_STOCK", code: .failedPrecondition) { _ = try await redeem(member, reward) }
        #expect(try await ledgerKinds(member) == [.adjust, .hold, .release])
        await expectFailure("OUT_OF_STOCK", code: .failedPrecondition) { _ = try await redeem(member, reward) }
        #expect(try await ledgerKinds(member) == [.adjust, .hold, .release])
        let balance = try await laurel.members.balance(memberId: member.id)
        #expect((balance.available, balance.held) == (500, 0))
        try await expectLedgerBalances(laurel.members.database)
    }

    /// Refused by both peers at once: nothing was taken, and the catalog's
    /// refusal is the answer, as when the steps go one after the other.
    @Test func refusedByBothPeersTheCatalogsReasonIsTheAnswer() async throws {
        let reward = try await laurel.reward(cost: 100, stock: 1)
        #expect(try await redeem(try await laurel.member(points: 100), reward).status == .completed)

        let poor = try await laurel.member(points: 10)
        await expectFailure("OUT_OF_STOCK", code: .failedPrecondition) { _ = try await redeem(poor, reward) }
        #expect(try await ledgerKinds(poor) == [.adjust])
        let failed = try #require(try await laurel.redemptions.redemptions(memberId: poor.id, pageSize: 1, after: nil).items.first)
        #expect(failed.status == .failed)
        #expect(failed.failure?.reason == "OUT_OF_STOCK")
    }

    /// Too few points, found while the stock was being reserved: the
    /// reservation is given back.
    @Test func tooFewPointsFoundAlongsideTheReservationGivesTheStockBack() async throws {
        let reward = try await laurel.reward(cost: 100, stock: 5)
        #expect(try await redeem(try await laurel.member(points: 100), reward).status == .completed)

        let poor = try await laurel.member(points: 50)
        await expectFailure("INSUFFICIENT_POINTS", code: .failedPrecondition) { _ = try await redeem(poor, reward) }
        #expect(try await laurel.stock(reward) == (4, 0, 1))
        #expect(try await laurel.members.balance(memberId: poor.id).available == 50)
    }

    @Test func redemptionsListNewestFirst() async throws {
        let member = try await laurel.member(points: 1_000)
        let reward = try await laurel.reward(cost: 10, stock: 10)
        var ids: [String] = []
        for _ in 0..<3 { ids.append(try await redeem(member, reward).id) }
        let first = try await laurel.redemptions.redemptions(memberId: member.id, pageSize: 2, after: nil)
        let second = try await laurel.redemptions.redemptions(memberId: member.id, pageSize: 2, after: first.nextPageToken)
        #expect((first.items + second.items).map(\.id) == ids.reversed())
        #expect(second.nextPageToken == nil)
    }
}
