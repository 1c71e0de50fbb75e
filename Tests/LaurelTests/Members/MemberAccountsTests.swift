import Foundation
import GRDB
import LaurelShared
import MembersService
import Testing

/// Members' domain logic on an in-memory database.
@Suite struct MemberAccountsTests {
    let clock = TestClock()
    let accounts: MemberAccounts

    init() throws {
        accounts = MemberAccounts(database: try .inMemory(), clock: clock.wallClock)
    }

    func memberCount() async throws -> Int {
        try await accounts.database.writer.read { try Member.fetchCount($0) }
    }

    func activeMember(points: Points = 0) async throws -> Member {
        let member = try await accounts.enroll(EnrollRequest(externalId: uniqueKey("ext")))
        if points > 0 {
            _ = try await accounts.adjust(AdjustRequest(memberId: member.id, delta: points, reason: "welcome", requestId: uniqueKey()))
        }
        return member
    }

    @Test func enrolmentCreatesAnActiveBaseMemberAndReplays() async throws {
        let request = EnrollRequest(
            externalId: "crm-1", email: "ada@example.com", displayName: "Ada", birthDate: "1990-02-28", attributes: ["store": "12"])
        let member = try await accounts.enroll(request)
        #expect(member.id.hasPrefix("mbr_"))
        #expect(member.status == .active)
        #expect(member.tier == "BASE")
        #expect(member.birthDate?.description == "1990-02-28")
        #expect(member.attributes == ["store": "12"])

        let again = try await accounts.enroll(request)
        #expect(again == member)
        #expect(try await memberCount() == 1)
        #expect(try await accounts.member(.externalId("crm-1")).id == member.id)
    }

    @Test func enrollingAnExternalIdAgainWithOtherDetailsIsRefused() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: "crm-2", email: "a@example.com"))
        await expectError(MembersError.memberAlreadyExists(externalId: "crm-2", memberId: member.id)) {
            _ = try await accounts.enroll(EnrollRequest(externalId: "crm-2", email: "other@example.com"))
        }
        #expect(try await memberCount() == 1)
    }

    @Test(arguments: [
        (EnrollRequest(externalId: ""), "external_id"),
        (EnrollRequest(externalId: "has space"), "external_id"),
        (EnrollRequest(externalId: "x", email: "not-an-email"), "email"),
        (EnrollRequest(externalId: "x", birthDate: "1990-13-01"), "birth_date"),
        (EnrollRequest(externalId: "x", birthDate: "1990-02-30"), "birth_date"),
        (EnrollRequest(externalId: "x", birthDate: "2999-01-01"), "birth_date"),
        (EnrollRequest(externalId: "x", attributes: ["": "v"]), "attributes"),
    ])
    func badEnrolmentsNameTheFieldAndWriteNothing(request: EnrollRequest, field: String) async throws {
        do {
            _ = try await accounts.enroll(request)
            Issue.record("accepted \(request)")
        } catch let error as InvalidArgument {
            #expect(error.field == field)
        }
        #expect(try await memberCount() == 0)
    }

    @Test func purchasesEarnWholeCurrencyUnitsRoundedDown() async throws {
        let member = try await activeMember()
        let usd = try await accounts.recordPurchase(PurchaseRequest(memberId: member.id, orderId: "o1", currencyCode: "USD", amountMinor: 12_345))
        #expect(usd.pointsEarned == 123)
        let jpy = try await accounts.recordPurchase(PurchaseRequest(memberId: member.id, orderId: "o2", currencyCode: "JPY", amountMinor: 1_234))
        #expect(jpy.pointsEarned == 1_234)
        let bhd = try await accounts.recordPurchase(PurchaseRequest(memberId: member.id, orderId: "o3", currencyCode: "BHD", amountMinor: 1_999))
        #expect(bhd.pointsEarned == 1)
        let small = try await accounts.recordPurchase(PurchaseRequest(memberId: member.id, orderId: "o4", currencyCode: "USD", amountMinor: 99))
        #expect(small.pointsEarned == 0)
        #expect(small.entries.isEmpty)
        #expect(small.balance.available == 123 + 1_234 + 1)
        #expect(small.balance.lifetimeEarned == 123 + 1_234 + 1)
        try await expectLedgerBalances(accounts.database)
    }

    @Test func theBaseRateOfTheFirstProgrammeIsConfigurable() async throws {
        let generous = try MemberAccounts(database: .inMemory(), clock: clock.wallClock, program: .initial(pointsPerUnit: 10))
        let member = try await generous.enroll(EnrollRequest(externalId: "generous-1"))
        let result = try await generous.recordPurchase(PurchaseRequest(memberId: member.id, orderId: "o", currencyCode: "EUR", amountMinor: 1_050))
        // 10.50 EUR at 10 points per euro.
        #expect(result.pointsEarned == 105)
    }

    @Test func aRepeatedPurchaseReturnsTheFirstResultAndChangesNothing() async throws {
        let member = try await activeMember()
        let request = PurchaseRequest(
            memberId: member.id, orderId: "order-9", currencyCode: "USD", amountMinor: 5_000,
            lines: [PurchaseLine(sku: "SKU-1", category: "coffee", quantity: 2, unitPriceMinor: 2_500)])
        let first = try await accounts.recordPurchase(request)
        clock.advance(seconds: 60)
        let second = try await accounts.recordPurchase(request)
        #expect(second == first)
        #expect(try await accounts.balance(memberId: member.id).available == 50)

        var changed = request
        changed.amountMinor = 6_000
        await expectError(IdempotencyKeyReused(field: "order_id", key: "order-9")) {
            _ = try await accounts.recordPurchase(changed)
        }
        #expect(try await accounts.balance(memberId: member.id).available == 50)
        try await expectLedgerBalances(accounts.database)
    }

    @Test(arguments: [
        (PurchaseRequest(memberId: "m", orderId: "o", currencyCode: "usd", amountMinor: 100), "amount.currency_code"),
        (PurchaseRequest(memberId: "m", orderId: "o", currencyCode: "USD", amountMinor: 0), "amount.minor_units"),
        (PurchaseRequest(memberId: "m", orderId: "o", currencyCode: "USD", amountMinor: -5), "amount.minor_units"),
        (PurchaseRequest(memberId: "m", orderId: "", currencyCode: "USD", amountMinor: 100), "order_id"),
        (PurchaseRequest(memberId: "", orderId: "o", currencyCode: "USD", amountMinor: 100), "member_id"),
        (PurchaseRequest(memberId: "m", orderId: "o", currencyCode: "USD", amountMinor: 100,
                         lines: [PurchaseLine(sku: "A", quantity: 0, unitPriceMinor: 1)]), "lines[0].quantity"),
    ])
    func badPurchasesNameTheField(request: PurchaseRequest, field: String) async throws {
        do {
            _ = try await accounts.recordPurchase(request)
            Issue.record("accepted \(request)")
        } catch let error as InvalidArgument {
            #expect(error.field == field)
        }
    }

    @Test func suspendedMembersDoNotEarn() async throws {
        let member = try await activeMember()
        _ = try await accounts.update(UpdateMemberRequest(memberId: member.id, status: .suspended))
        await expectError(MembersError.memberNotActive(memberId: member.id, status: .suspended)) {
            _ = try await accounts.recordPurchase(PurchaseRequest(memberId: member.id, orderId: "o", currencyCode: "USD", amountMinor: 1_000))
        }
        #expect(try await accounts.balance(memberId: member.id).available == 0)
    }

    @Test func aDebitBeyondTheBalanceIsRefusedAndWritesNothing() async throws {
        let member = try await activeMember(points: 40)
        await expectError(MembersError.insufficientPoints(memberId: member.id, available: 40, requested: 50)) {
            _ = try await accounts.adjust(AdjustRequest(memberId: member.id, delta: -50, reason: "fix", requestId: "adj-1"))
        }
        #expect(try await accounts.balance(memberId: member.id).available == 40)
        #expect(try await accounts.ledger(memberId: member.id, pageSize: 50, after: nil).items.count == 1)
        let debit = try await accounts.adjust(AdjustRequest(memberId: member.id, delta: -40, reason: "fix", requestId: "adj-2"))
        #expect(debit.balance.available == 0)
        #expect(debit.balance.lifetimeEarned == 40)
        try await expectLedgerBalances(accounts.database)
    }

    @Test func holdsMovePointsAndSettleExactlyOnce() async throws {
        let member = try await activeMember(points: 100)
        let held = try await accounts.hold(HoldRequest(memberId: member.id, holdId: "h1", points: 60))
        #expect(held.balance.available == 40)
        #expect(held.balance.held == 60)
        #expect(try await accounts.hold(HoldRequest(memberId: member.id, holdId: "h1", points: 60)) == held)

        await expectError(MembersError.insufficientPoints(memberId: member.id, available: 40, requested: 50)) {
            _ = try await accounts.hold(HoldRequest(memberId: member.id, holdId: "h2", points: 50))
        }

        let captured = try await accounts.capture(holdId: "h1")
        #expect(captured.hold.status == .captured)
        #expect(captured.balance.available == 40)
        #expect(captured.balance.held == 0)
        #expect(try await accounts.capture(holdId: "h1").balance == captured.balance)
        await expectError(MembersError.holdNotHeld(holdId: "h1", status: .captured)) {
            _ = try await accounts.release(holdId: "h1")
        }

        let refunded = try await accounts.refund(holdId: "h1")
        #expect(refunded.hold.status == .refunded)
        #expect(refunded.balance.available == 100)
        #expect(try await accounts.refund(holdId: "h1").balance.available == 100)

        _ = try await accounts.hold(HoldRequest(memberId: member.id, holdId: "h3", points: 30))
        let released = try await accounts.release(holdId: "h3")
        #expect(released.balance.available == 100)
        #expect(released.balance.held == 0)
        await expectError(MembersError.holdNotCaptured(holdId: "h3", status: .released)) {
            _ = try await accounts.refund(holdId: "h3")
        }
        await expectError(MembersError.holdNotFound("nope")) { _ = try await accounts.capture(holdId: "nope") }
        try await expectLedgerBalances(accounts.database)
    }

    @Test func anExpiredHoldIsGivenBackAndCannotBeCaptured() async throws {
        let member = try await activeMember(points: 100)
        _ = try await accounts.hold(HoldRequest(memberId: member.id, holdId: "late", points: 70, ttlSeconds: 30))
        _ = try await accounts.hold(HoldRequest(memberId: member.id, holdId: "swept", points: 20, ttlSeconds: 30))
        clock.advance(seconds: 31)

        await expectError(MembersError.holdExpired("late")) { _ = try await accounts.capture(holdId: "late") }
        #expect(try await accounts.hold(id: "late").status == .expired)
        #expect(try await accounts.expireHolds() == 1)
        #expect(try await accounts.hold(id: "swept").status == .expired)
        let balance = try await accounts.balance(memberId: member.id)
        #expect(balance.available == 100)
        #expect(balance.held == 0)
        #expect(try await accounts.expireHolds() == 0)
        try await expectLedgerBalances(accounts.database)
    }

    @Test func membersPageInEnrolmentOrder() async throws {
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try await activeMember().id) }
        let first = try await accounts.members(matching: MemberFilter(), pageSize: 2, pageToken: "")
        let second = try await accounts.members(matching: MemberFilter(), pageSize: 2, pageToken: first.nextPageToken)
        let third = try await accounts.members(matching: MemberFilter(), pageSize: 2, pageToken: second.nextPageToken)
        #expect((first.members + second.members + third.members).map(\.id) == ids)
        #expect(third.nextPageToken == "")
    }

    @Test func updatesChangeOnlyWhatIsSet() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: "u1", email: "a@example.com", displayName: "A", attributes: ["a": "1", "b": "2"]))
        clock.advance(seconds: 5)
        let updated = try await accounts.update(UpdateMemberRequest(
            memberId: member.id, displayName: "Ada", birthDate: "1980-01-01", setAttributes: ["c": "3"], removeAttributes: ["a"]))
        #expect(updated.email == "a@example.com")
        #expect(updated.displayName == "Ada")
        #expect(updated.birthDate?.description == "1980-01-01")
        #expect(updated.attributes == ["b": "2", "c": "3"])
        #expect(updated.updatedAt > member.updatedAt)
        let cleared = try await accounts.update(UpdateMemberRequest(memberId: member.id, birthDate: ""))
        #expect(cleared.birthDate == nil)
    }
}
