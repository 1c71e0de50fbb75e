import Foundation
import GRDB
import LaurelShared
import MembersService
import Testing

/// Cashback: tier-dependent store credit per currency, with its own ledger,
/// taken back by refunds and spent through holds, on an in-memory database.
@Suite struct StoreCreditTests {
    let clock = TestClock()
    let accounts: MemberAccounts

    init() throws {
        accounts = MemberAccounts(database: try .inMemory(), clock: clock.wallClock)
    }

    /// BASE gives nothing back, SILVER 1%, GOLD 2.5%, PLATINUM 5%; delivery earns nothing.
    func cashbackProgramme(_ accounts: MemberAccounts? = nil) async throws -> Program {
        try await (accounts ?? self.accounts).updateProgram(
            ProgramRules(
                earn: EarnRules(defaultPointsPerUnit: 1, excludedSkus: ["DELIVERY"]),
                tiers: TierRules(tiers: [
                    TierDefinition(code: "BASE"),
                    TierDefinition(code: "SILVER", cashbackBasisPoints: 100),
                    TierDefinition(code: "GOLD", cashbackBasisPoints: 250),
                    TierDefinition(code: "PLATINUM", cashbackBasisPoints: 500),
                ])),
            expectedVersion: 0, requestId: uniqueKey("program"))
    }

    func member(tier: String = "GOLD", scope: AccessScope = .everyone) async throws -> Member {
        let member = try await accounts.enroll(EnrollRequest(externalId: uniqueKey("ext")), scope: scope)
        return try await accounts.update(UpdateMemberRequest(memberId: member.id, tier: tier))
    }

    func usd(_ minor: Int64) throws -> Money { Money(currency: try Currency("USD"), minorUnits: minor) }

    func purchase(_ memberId: String, _ order: String, _ minor: Int64, currency: String = "USD") async throws -> PurchaseResult {
        try await accounts.recordPurchase(PurchaseRequest(memberId: memberId, orderId: order, currencyCode: currency, amountMinor: minor))
    }

    func wallets(_ memberId: String) async throws -> [CreditWallet] {
        try await accounts.balanceAndExpiry(memberId: memberId).2
    }

    func usdWallet(_ memberId: String, _ currency: String = "USD") async throws -> CreditWallet? {
        try await wallets(memberId).first { $0.currencyCode == currency }
    }

    /// GetBalance reads a member without wallets in one statement and one
    /// with wallets in a transaction: both give the same points and expiry.
    @Test func aBalanceReadsTheSameWithAndWithoutStoreCredit() async throws {
        let accounts = MemberAccounts(database: try .inMemory(), clock: clock.wallClock, expiryPolicy: .days(20))
        _ = try await cashbackProgramme(accounts)
        let expiry = clock.now.adding(seconds: 20 * 86_400)
        for (tier, credit) in [("BASE", [] as [Int64]), ("GOLD", [150])] {
            let enrolled = try await accounts.enroll(EnrollRequest(externalId: uniqueKey("ext")))
            let member = try await accounts.update(UpdateMemberRequest(memberId: enrolled.id, tier: tier))
            _ = try await accounts.recordPurchase(
                PurchaseRequest(memberId: member.id, orderId: uniqueKey("o"), currencyCode: "USD", amountMinor: 6_000))
            let (balance, expiring, wallets) = try await accounts.balanceAndExpiry(memberId: member.id)
            #expect((balance.available, balance.held, balance.lifetimeEarned, balance.debt) == (60, 0, 60, 0), "\(tier)")
            #expect(expiring.within30Days == 60 && expiring.nextExpiry == expiry, "\(tier)")
            #expect(wallets.map(\.available) == credit, "\(tier)")
        }
        await #expect(throws: MembersError.memberNotFound("mbr_missing")) {
            _ = try await accounts.balanceAndExpiry(memberId: "mbr_missing")
        }
    }

    @Test func cashbackIsTheCurrentTiersShareOfEligibleSpendInAWalletPerCurrency() async throws {
        let program = try await cashbackProgramme()
        let base = try await member(tier: "BASE")
        let none = try await purchase(base.id, "o-base", 10_000)
        #expect(none.cashback == nil)
        #expect(none.pointsEarned == 100)
        #expect(try await wallets(base.id).isEmpty)

        let gold = try await member()
        // 2 × TEE at 25.00 and a 10.00 delivery fee: 50.00 earns, 2.5% of it is 1.25.
        let request = PurchaseRequest(
            memberId: gold.id, orderId: "o-gold", currencyCode: "USD", amountMinor: 6_000,
            lines: [
                PurchaseLine(sku: "TEE", category: "apparel", quantity: 2, unitPriceMinor: 2_500),
                PurchaseLine(sku: "DELIVERY", quantity: 1, unitPriceMinor: 1_000),
            ])
        let first = try await accounts.recordPurchase(request)
        #expect(first.cashback == (try usd(125)))
        #expect(first.pointsEarned == 50)
        #expect(first.balance.available == 50)
        // A replay neither credits again nor answers differently.
        #expect(try await accounts.recordPurchase(request) == first)

        // ⌊9.99 × 2.5%⌋ = 0.24; then a wallet in another currency.
        #expect(try await purchase(gold.id, "o-round", 999).cashback == (try usd(24)))
        #expect(try await purchase(gold.id, "o-eur", 2_000, currency: "EUR").cashback == Money(currency: try Currency("EUR"), minorUnits: 50))

        let wallets = try await wallets(gold.id)
        #expect(wallets.map(\.currencyCode) == ["EUR", "USD"])
        #expect(wallets.map(\.available) == [50, 149])
        #expect(wallets.map(\.lifetimeEarned) == [50, 149])

        let entries = try await accounts.creditLedger(memberId: gold.id, currencyCode: "USD", pageSize: 10, after: nil).items
        #expect(entries.map(\.kind) == [.cashback, .cashback])
        #expect(entries.map(\.reference) == ["o-round", "o-gold"])
        #expect(entries.map(\.availableDelta) == [24, 125])
        #expect(entries.allSatisfy { $0.rule == "cashback" && $0.programVersion == program.version && $0.currencyCode == "USD" })
        await expectError(InvalidArgument("currency_code", "must be an ISO 4217 code of three upper-case letters, got 'usd'")) {
            _ = try await accounts.creditLedger(memberId: gold.id, currencyCode: "usd", pageSize: 10, after: nil)
        }
        // The points ledger holds only points.
        let pointEntries = try await accounts.ledger(memberId: gold.id, pageSize: 50, after: nil).items
        #expect(pointEntries.allSatisfy { $0.rule != "cashback" })
        try await expectLedgerBalances(accounts.database)
    }

    @Test func refundsTakeBackTheirShareAndSpentCreditBecomesDebtThatCashbackRepays() async throws {
        _ = try await cashbackProgramme()
        let gold = try await member()
        #expect(try await purchase(gold.id, "o-1", 10_000).cashback == (try usd(250)))

        // ⌊250 × 33.33 / 100⌋ = 83.
        let partial = try await accounts.reversePurchase(ReversalRequest(orderId: "o-1", refundId: "r-1", amount: try usd(3_333)))
        #expect(partial.cashbackReversed == (try usd(83)))
        #expect(try await usdWallet(gold.id)?.available == 167)

        _ = try await accounts.hold(HoldRequest(memberId: gold.id, holdId: "spend", points: 0, credit: try usd(150)))
        _ = try await accounts.capture(holdId: "spend")
        #expect(try await usdWallet(gold.id)?.available == 17)

        // The rest of the purchase owes 167 more: 17 available, 150 become debt.
        let rest = try await accounts.reversePurchase(ReversalRequest(orderId: "o-1", refundId: "r-2", amount: try usd(6_667)))
        #expect(rest.cashbackReversed == (try usd(167)))
        var wallet = try #require(try await usdWallet(gold.id))
        #expect((wallet.available, wallet.held, wallet.debt, wallet.lifetimeEarned) == (0, 0, 150, 0))
        let reversal = try await accounts.creditLedger(memberId: gold.id, currencyCode: "USD", pageSize: 1, after: nil).items[0]
        #expect((reversal.kind, reversal.availableDelta, reversal.debtDelta, reversal.reference) == (CreditKind.reverse, -17, 150, "r-2"))

        // Cashback repays the debt before it is spendable.
        let next = try await purchase(gold.id, "o-2", 4_000)
        #expect(next.cashback == (try usd(100)))
        wallet = try #require(try await usdWallet(gold.id))
        #expect((wallet.available, wallet.debt) == (0, 50))
        _ = try await purchase(gold.id, "o-3", 4_000)
        wallet = try #require(try await usdWallet(gold.id))
        #expect((wallet.available, wallet.debt, wallet.lifetimeEarned) == (50, 0, 200))

        // A purchase that gave no cashback reverses none.
        let base = try await member(tier: "BASE")
        _ = try await purchase(base.id, "o-4", 1_000)
        #expect(try await accounts.reversePurchase(ReversalRequest(orderId: "o-4", refundId: "r-4", amount: try usd(1_000))).cashbackReversed == nil)
        try await expectLedgerBalances(accounts.database)
    }

    @Test func creditHoldsMoveTheWalletThroughCaptureReleaseRefundAndExpiryLeavingPointsAlone() async throws {
        _ = try await cashbackProgramme()
        let gold = try await member()
        _ = try await accounts.adjust(AdjustRequest(memberId: gold.id, delta: 500, reason: "welcome", requestId: uniqueKey()))
        _ = try await purchase(gold.id, "o-1", 20_000)  // 200 points, 5.00 USD of credit
        let points = try await accounts.balance(memberId: gold.id)
        let pointEntries = try await accounts.ledger(memberId: gold.id, pageSize: 50, after: nil).items

        let request = HoldRequest(memberId: gold.id, holdId: "h-1", points: 0, ttlSeconds: 60, reason: "basket", credit: try usd(300))
        let held = try await accounts.hold(request)
        #expect(held.hold.currencyCode == "USD")
        #expect(held.hold.points == 300)
        #expect(held.balance == points)
        var wallet = try #require(try await usdWallet(gold.id))
        #expect((wallet.available, wallet.held) == (200, 300))
        #expect(try await accounts.hold(request) == held)
        await expectError(IdempotencyKeyReused(field: "hold_id", key: "h-1")) {
            _ = try await accounts.hold(HoldRequest(memberId: gold.id, holdId: "h-1", points: 0, ttlSeconds: 60, reason: "basket", credit: try usd(301)))
        }

        #expect(try await accounts.capture(holdId: "h-1").hold.status == .captured)
        wallet = try #require(try await usdWallet(gold.id))
        #expect((wallet.available, wallet.held) == (200, 0))
        #expect(try await accounts.refund(holdId: "h-1").balance == points)
        #expect(try await usdWallet(gold.id)?.available == 500)

        _ = try await accounts.hold(HoldRequest(memberId: gold.id, holdId: "h-2", points: 0, credit: try usd(100)))
        #expect(try await accounts.release(holdId: "h-2").hold.status == .released)
        _ = try await accounts.hold(HoldRequest(memberId: gold.id, holdId: "h-3", points: 0, ttlSeconds: 30, credit: try usd(400)))
        #expect(try await usdWallet(gold.id)?.available == 100)
        clock.advance(seconds: 31)
        #expect(try await accounts.expireHolds() == 1)
        #expect(try await accounts.hold(id: "h-3").status == .expired)
        wallet = try #require(try await usdWallet(gold.id))
        #expect((wallet.available, wallet.held) == (500, 0))

        let kinds = try await accounts.creditLedger(memberId: gold.id, currencyCode: "USD", pageSize: 50, after: nil).items.map(\.kind)
        #expect(kinds == [.expireHold, .hold, .release, .hold, .refund, .capture, .hold, .cashback])
        // Points: no entry, lot or event came from the credit holds.
        #expect(try await accounts.balance(memberId: gold.id) == points)
        #expect(try await accounts.ledger(memberId: gold.id, pageSize: 50, after: nil).items == pointEntries)
        let events = try await accounts.events(after: EventCursor(after: 0), memberId: gold.id, scope: .everyone, limit: 100)
        #expect(!events.contains { $0.kind == .pointsSpent || $0.kind == .pointsRefunded || $0.kind == .redemptionCompleted })
        try await expectLedgerBalances(accounts.database)
    }

    @Test func creditHoldsAreRefusedWhenTheyCannotBeMet() async throws {
        _ = try await cashbackProgramme()
        let gold = try await member(scope: .partner("p-1"))
        _ = try await purchase(gold.id, "o-1", 10_000)  // 2.50 USD
        let eur = Money(currency: try Currency("EUR"), minorUnits: 1)

        await expectError(MembersError.insufficientCredit(memberId: gold.id, currency: "USD", available: 250, requested: 251)) {
            _ = try await accounts.hold(HoldRequest(memberId: gold.id, holdId: "h-1", points: 0, credit: try usd(251)))
        }
        await expectError(MembersError.insufficientCredit(memberId: gold.id, currency: "EUR", available: 0, requested: 1)) {
            _ = try await accounts.hold(HoldRequest(memberId: gold.id, holdId: "h-2", points: 0, credit: eur))
        }
        await expectError(InvalidArgument("points", "must be 0 when credit is set, got 5")) {
            _ = try await accounts.hold(HoldRequest(memberId: gold.id, holdId: "h-3", points: 5, credit: try usd(1)))
        }
        await expectError(InvalidArgument("credit.minor_units", "must be greater than zero, got 0")) {
            _ = try await accounts.hold(HoldRequest(memberId: gold.id, holdId: "h-4", points: 0, credit: try usd(0)))
        }
        await expectError(InvalidArgument("points", "must be greater than zero, got 0")) {
            _ = try await accounts.hold(HoldRequest(memberId: gold.id, holdId: "h-5", points: 0))
        }
        await expectError(MembersError.tierTooLow(memberId: gold.id, tier: "GOLD", minTier: "PLATINUM")) {
            _ = try await accounts.hold(HoldRequest(memberId: gold.id, holdId: "h-6", points: 0, minTier: "PLATINUM", credit: try usd(1)))
        }
        await expectError(AccessError.notInScope(what: "member", id: gold.id)) {
            _ = try await accounts.hold(HoldRequest(memberId: gold.id, holdId: "h-7", points: 0, partnerId: "p-2", credit: try usd(1)))
        }
        _ = try await accounts.hold(HoldRequest(memberId: gold.id, holdId: "h-8", points: 0, minTier: "SILVER", partnerId: "p-1", credit: try usd(250)))
        let wallet = try #require(try await usdWallet(gold.id))
        #expect((wallet.available, wallet.held) == (0, 250))
        #expect(try await wallets(gold.id).count == 1)
        try await expectLedgerBalances(accounts.database)
    }

    @Test func theIdempotencyFingerprintOfAPointsHoldIsUnchanged() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let points = String(decoding: try encoder.encode(HoldRequest(memberId: "m", holdId: "h", points: 5)), as: UTF8.self)
        #expect(points == #"{"holdId":"h","memberId":"m","minTier":"","points":5,"reason":"","ttlSeconds":0}"#)
        let credit = String(decoding: try encoder.encode(HoldRequest(memberId: "m", holdId: "h", points: 0, credit: try usd(5))), as: UTF8.self)
        #expect(credit.contains(#""credit":{"currency":{"code":"USD"},"minorUnits":5}"#))
    }
}

/// Store credit through MemberService and ProgramService over real gRPC.
@Suite struct StoreCreditRPCTests {
    let accounts: MemberAccounts

    init() throws {
        accounts = MemberAccounts(database: try .inMemory())
    }

    func withServices(_ body: (MembersClient, Laurel_V1_ProgramService.Client<Transport>) async throws -> Void) async throws {
        try await withServer([MemberServiceHandler(accounts: accounts), ProgramServiceHandler(accounts: accounts)]) { client, _ in
            try await body(Laurel_V1_MemberService.Client(wrapping: client), Laurel_V1_ProgramService.Client(wrapping: client))
        }
    }

    func usd(_ minor: Int64) -> Laurel_V1_Money { .with { $0.currencyCode = "USD"; $0.minorUnits = minor } }

    func credit(_ members: MembersClient, _ memberId: String) async throws -> [Laurel_V1_StoreCredit] {
        try await members.getBalance(.with { $0.memberID = memberId }).storeCredit
    }

    func wallet(_ currency: String, _ available: Int64, held: Int64 = 0, debt: Int64 = 0) -> Laurel_V1_StoreCredit {
        .with {
            $0.currencyCode = currency
            $0.availableMinor = available
            $0.heldMinor = held
            $0.debtMinor = debt
        }
    }

    @Test func cashbackIsEarnedReversedHeldAndSpentThroughTheAPI() async throws {
        try await withServices { members, program in
            // GOLD gives back 2%.
            _ = try await program.updateProgram(.with {
                $0.requestID = "cashback"
                $0.program = .with {
                    $0.earn = .with { $0.defaultPointsPerUnit = 1 }
                    $0.tiers = .with {
                        $0.tiers = [.with { $0.code = "BASE" }, .with { $0.code = "GOLD"; $0.cashbackBasisPoints = 200 }]
                    }
                }
            })
            let id = try await members.enrollMember(.with { $0.externalID = uniqueKey("ext") }).member.memberID
            _ = try await members.updateMember(.with { $0.memberID = id; $0.tier = "GOLD" })

            func purchase(_ order: String, _ minor: Int64) async throws -> Laurel_V1_RecordPurchaseResponse {
                try await members.recordPurchase(.with { $0.memberID = id; $0.orderID = order; $0.amount = usd(minor) })
            }
            func hold(_ holdId: String, _ minor: Int64) async throws -> Laurel_V1_HoldPointsResponse {
                try await members.holdPoints(.with { $0.memberID = id; $0.holdID = holdId; $0.credit = usd(minor) })
            }

            let bought = try await purchase("o-1", 5_000)
            #expect(bought.pointsEarned == 50)
            #expect(bought.cashback == usd(100))
            #expect(try await credit(members, id) == [wallet("USD", 100)])

            let refund = try await members.reversePurchase(.with { $0.orderID = "o-1"; $0.refundID = "r-1"; $0.amount = usd(2_500) })
            #expect(refund.cashbackReversed == usd(50))
            #expect(refund.pointsReversed == 25)
            #expect(try await credit(members, id) == [wallet("USD", 50)])

            let held = try await hold("h-1", 30)
            #expect(held.hold.credit == usd(30))
            #expect(held.hold.points == 0)
            #expect(held.balance.available == 25)
            #expect(try await credit(members, id) == [wallet("USD", 20, held: 30)])
            let captured = try await members.captureHold(.with { $0.holdID = "h-1" })
            #expect(captured.hold.status == .captured)
            #expect((captured.balance.available, captured.balance.held) == (25, 0))
            #expect(try await credit(members, id) == [wallet("USD", 20)])

            _ = try await hold("h-2", 10)
            #expect(try await members.releaseHold(.with { $0.holdID = "h-2" }).hold.status == .released)
            #expect(try await members.refundHold(.with { $0.holdID = "h-1" }).hold.credit == usd(30))
            #expect(try await credit(members, id) == [wallet("USD", 50)])

            await expectRPCError(.failedPrecondition, reason: "INSUFFICIENT_CREDIT") { _ = try await hold("h-3", 51) }
            await expectRPCError(.failedPrecondition, reason: "INSUFFICIENT_CREDIT") {
                _ = try await members.holdPoints(.with {
                    $0.memberID = id; $0.holdID = "h-4"; $0.credit = .with { $0.currencyCode = "EUR"; $0.minorUnits = 1 }
                })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "points") {
                _ = try await members.holdPoints(.with { $0.memberID = id; $0.holdID = "h-5"; $0.points = 1; $0.credit = usd(1) })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "credit.currency_code") {
                _ = try await members.holdPoints(.with { $0.memberID = id; $0.holdID = "h-6"; $0.credit = .with { $0.minorUnits = 1 } })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "currency_code") {
                _ = try await members.listLedger(.with { $0.memberID = id; $0.currencyCode = "usd" })
            }

            let ledger = try await members.listLedger(.with { $0.memberID = id; $0.currencyCode = "USD" }).entries
            #expect(ledger.map(\.kind) == [.refund, .release, .hold, .capture, .hold, .reverse, .earn])
            #expect(ledger.allSatisfy { $0.currencyCode == "USD" && $0.memberID == id })
            #expect(ledger.last?.rule == "cashback")
            #expect(ledger.last?.reference == "o-1")
            #expect(ledger.reduce(0) { $0 + $1.availableDelta } == 50)
            // The points ledger has only the purchase and its refund.
            let points = try await members.listLedger(.with { $0.memberID = id }).entries
            #expect(points.map(\.kind) == [.reverse, .earn])
            #expect(points.allSatisfy { $0.currencyCode.isEmpty })

            // Spend it all, then refund the rest of the purchase: the 50 taken
            // back become debt, which the next cashback repays first.
            _ = try await hold("h-7", 50)
            _ = try await members.captureHold(.with { $0.holdID = "h-7" })
            let rest = try await members.reversePurchase(.with { $0.orderID = "o-1"; $0.refundID = "r-2"; $0.amount = usd(2_500) })
            #expect(rest.cashbackReversed == usd(50))
            #expect(try await credit(members, id) == [wallet("USD", 0, debt: 50)])
            let next = try await purchase("o-2", 5_000)
            #expect(next.cashback == usd(100))
            #expect(try await credit(members, id) == [wallet("USD", 50)])
            let repaid = try await members.listLedger(.with { $0.memberID = id; $0.currencyCode = "USD"; $0.pageSize = 1 }).entries[0]
            #expect((repaid.kind, repaid.availableDelta, repaid.debtDelta, repaid.debtAfter) == (Laurel_V1_LedgerEntryKind.earn, 50, -50, 0))

            let balance = try await members.getBalance(.with { $0.memberID = id }).balance
            #expect((balance.available, balance.held, balance.debt) == (50, 0, 0))
            try await expectLedgerBalances(members: members, memberId: id)
        }
        try await expectLedgerBalances(accounts.database)
    }
}
