import Foundation
import GRDB
import LaurelShared
import MembersService
import Testing

/// ReversePurchase's arithmetic, replays and debt, on an in-memory database.
@Suite struct PurchaseReversalTests {
    let accounts: MemberAccounts

    init() throws {
        accounts = MemberAccounts(database: try .inMemory())
    }

    func member() async throws -> Member {
        try await accounts.enroll(EnrollRequest(externalId: uniqueKey("ext")))
    }

    func usd(_ minor: Int64) throws -> Money { Money(currency: try Currency("USD"), minorUnits: minor) }

    /// 2 × TEE at 25.00 and 1 × MUG at 50.00: 100.00 USD, 100 points.
    func basket(_ memberId: String, order: String) async throws {
        let earned = try await accounts.recordPurchase(PurchaseRequest(
            memberId: memberId, orderId: order, currencyCode: "USD", amountMinor: 10_000,
            lines: [
                PurchaseLine(sku: "TEE", category: "apparel", quantity: 2, unitPriceMinor: 2_500),
                PurchaseLine(sku: "MUG", category: "home", quantity: 1, unitPriceMinor: 5_000),
            ]))
        #expect(earned.pointsEarned == 100)
    }

    @Test func refundedLinesReverseTheirShareUpToTheWholePurchase() async throws {
        let member = try await member()
        try await basket(member.id, order: "o-1")

        let first = try await accounts.reversePurchase(ReversalRequest(orderId: "o-1", refundId: "r-1", lines: [RefundedLine(sku: "TEE", quantity: 1)]))
        #expect(first.pointsReversed == 25)
        #expect(first.balance.available == 75)
        #expect(first.refundedTotal == (try usd(2_500)))
        #expect(first.entries.map(\.kind) == [.reverse])

        // A replay changes nothing and answers the same.
        #expect(try await accounts.reversePurchase(ReversalRequest(orderId: "o-1", refundId: "r-1", lines: [RefundedLine(sku: "TEE", quantity: 1)])) == first)
        await expectError(IdempotencyKeyReused(field: "refund_id", key: "r-1")) {
            _ = try await accounts.reversePurchase(ReversalRequest(orderId: "o-1", refundId: "r-1", lines: [RefundedLine(sku: "MUG", quantity: 1)]))
        }

        let rest = try await accounts.reversePurchase(ReversalRequest(
            orderId: "o-1", refundId: "r-2", lines: [RefundedLine(sku: "TEE", quantity: 1), RefundedLine(sku: "MUG", quantity: 1)]))
        #expect(rest.pointsReversed == 75)
        #expect(rest.balance.available == 0)
        #expect(rest.balance.lifetimeEarned == 0)

        await expectError(MembersError.refundExceedsPurchase(orderId: "o-1", detail: "lines[0]: fewer than 1 unrefunded 'TEE'")) {
            _ = try await accounts.reversePurchase(ReversalRequest(orderId: "o-1", refundId: "r-3", lines: [RefundedLine(sku: "TEE", quantity: 1)]))
        }
        try await expectLedgerBalances(accounts.database)
    }

    @Test func partialAmountsRoundDownAndTheLastTakesTheRemainder() async throws {
        let member = try await member()
        _ = try await accounts.recordPurchase(PurchaseRequest(memberId: member.id, orderId: "o-2", currencyCode: "USD", amountMinor: 1_000))
        var reversed: [Points] = []
        for (index, amount) in [333, 333, 334].enumerated() {
            reversed.append(try await accounts.reversePurchase(ReversalRequest(orderId: "o-2", refundId: "r-\(index)", amount: try usd(Int64(amount)))).pointsReversed)
        }
        // ⌊10 × 3.33/10⌋ = 3, ⌊10 × 6.66/10⌋ = 6 (3 more), then all 10 (4 more).
        #expect(reversed == [3, 3, 4])
        #expect(try await accounts.balance(memberId: member.id).available == 0)
        await expectError(MembersError.refundExceedsPurchase(orderId: "o-2", detail: "1 minor units refunded, 0 not yet refunded")) {
            _ = try await accounts.reversePurchase(ReversalRequest(orderId: "o-2", refundId: "r-9", amount: try usd(1)))
        }
        try await expectLedgerBalances(accounts.database)
    }

    @Test func spentPointsBecomeDebtThatEarningRepaysFirst() async throws {
        let member = try await member()
        try await basket(member.id, order: "o-3")
        _ = try await accounts.adjust(AdjustRequest(memberId: member.id, delta: -80, reason: "spent at the till", requestId: "spend"))

        let refund = try await accounts.reversePurchase(ReversalRequest(orderId: "o-3", refundId: "r-all", amount: try usd(10_000)))
        #expect(refund.pointsReversed == 100)
        #expect(refund.balance.available == 0)
        #expect(refund.balance.debt == 80)
        #expect(refund.entries.first?.availableDelta == -20)
        #expect(refund.entries.first?.debtDelta == 80)

        let next = try await accounts.recordPurchase(PurchaseRequest(memberId: member.id, orderId: "o-4", currencyCode: "USD", amountMinor: 5_000))
        #expect(next.pointsEarned == 50)
        #expect(next.balance.available == 0)
        #expect(next.balance.debt == 30)
        #expect(next.entries.first?.debtDelta == -50)
        let after = try await accounts.recordPurchase(PurchaseRequest(memberId: member.id, orderId: "o-5", currencyCode: "USD", amountMinor: 5_000))
        #expect(after.balance.available == 20)
        #expect(after.balance.debt == 0)
        try await expectLedgerBalances(accounts.database)
    }

    @Test func badRefundsAreRefusedAndWriteNothing() async throws {
        let member = try await member()
        _ = try await accounts.recordPurchase(PurchaseRequest(memberId: member.id, orderId: "o-6", currencyCode: "USD", amountMinor: 1_000))
        await expectError(MembersError.purchaseNotFound("nope")) {
            _ = try await accounts.reversePurchase(ReversalRequest(orderId: "nope", refundId: "r", amount: try usd(1)))
        }
        await expectError(InvalidArgument("lines", "order o-6 was recorded without lines; refund an amount")) {
            _ = try await accounts.reversePurchase(ReversalRequest(orderId: "o-6", refundId: "r", lines: [RefundedLine(sku: "X", quantity: 1)]))
        }
        await expectError(InvalidArgument("lines", "give either the refunded lines or an amount, not both")) {
            _ = try await accounts.reversePurchase(ReversalRequest(orderId: "o-6", refundId: "r"))
        }
        await expectError(InvalidArgument("amount.currency_code", "the purchase was in USD")) {
            _ = try await accounts.reversePurchase(ReversalRequest(orderId: "o-6", refundId: "r", amount: Money(currency: try Currency("EUR"), minorUnits: 100)))
        }
        #expect(try await accounts.balance(memberId: member.id).available == 10)
        let refunds = try await accounts.database.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM purchase_refund") }
        #expect(refunds == 0)
    }

    @Test func everyChangeToWhatAMemberHasIsAStoredEvent() async throws {
        let member = try await member()
        try await basket(member.id, order: "o-7")
        _ = try await accounts.reversePurchase(ReversalRequest(orderId: "o-7", refundId: "r-7", lines: [RefundedLine(sku: "MUG", quantity: 1)]))
        _ = try await accounts.hold(HoldRequest(memberId: member.id, holdId: "h-7", points: 10, redemptionId: "rdm_7"))
        _ = try await accounts.capture(holdId: "h-7")
        _ = try await accounts.update(UpdateMemberRequest(memberId: member.id, tier: "GOLD"))
        let events = try await accounts.events(after: EventCursor(after: 0), memberId: member.id, scope: .everyone, limit: 100)
        #expect(events.map(\.kind) == [.enrolled, .pointsEarned, .pointsReversed, .pointsSpent, .redemptionCompleted, .tierChanged])
        #expect(events.map(\.points) == [0, 100, -50, -10, -10, 0])
        #expect(events[4].redemptionId == "rdm_7")
        #expect(events[5].tierFrom == "BASE" && events[5].tierTo == "GOLD")
        let later = try await accounts.events(after: EventCursor(after: events[2].id!), memberId: nil, scope: .everyone, limit: 100)
        #expect(later.map(\.kind) == [.pointsSpent, .redemptionCompleted, .tierChanged])
    }
}
