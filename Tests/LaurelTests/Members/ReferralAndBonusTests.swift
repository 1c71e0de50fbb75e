import Foundation
import GRPCCore
import LaurelShared
import MembersService
import SwiftProtobuf
import Testing

/// Referrals, the enrolment bonus and the birthday bonus, over real gRPC.
@Suite struct ReferralAndBonusTests {
    let harness: ProgramHarness
    var clock: TestClock { harness.clock }
    var accounts: MemberAccounts { harness.accounts }

    init() throws {
        harness = try ProgramHarness()
    }

    func withProgram(_ body: (MembersClient, ProgramClient) async throws -> Void) async throws {
        try await harness.serve(body)
    }

    func setBonuses(_ program: ProgramClient, enrolment: Int64 = 0, birthday: Int64 = 0, referrer: Int64 = 0, referee: Int64 = 0) async throws {
        var next = try await program.getProgram(.init()).program
        next.bonuses = .with {
            $0.enrolmentPoints = enrolment
            $0.birthdayPoints = birthday
        }
        next.referrals = .with {
            $0.referrerPoints = referrer
            $0.refereePoints = referee
        }
        _ = try await program.updateProgram(.with {
            $0.program = next
            $0.requestID = uniqueKey("program")
        })
    }

    func enroll(_ members: MembersClient, code: String = "", email: String = "", birthDate: String = "") async throws -> Laurel_V1_Member {
        try await members.enrollMember(.with {
            $0.externalID = uniqueKey("ext")
            $0.referralCode = code
            $0.email = email
            $0.birthDate = birthDate
        }).member
    }

    @discardableResult
    func purchase(_ members: MembersClient, _ memberId: String, minor: Int64, orderId: String = uniqueKey("order")) async throws
        -> Laurel_V1_RecordPurchaseResponse
    {
        try await members.recordPurchase(.with {
            $0.memberID = memberId
            $0.orderID = orderId
            $0.amount = .with {
                $0.currencyCode = "USD"
                $0.minorUnits = minor
            }
        })
    }

    func bonuses(_ members: MembersClient, _ memberId: String) async throws -> [String: Int64] {
        let entries = try await members.listLedger(.with {
            $0.memberID = memberId
            $0.pageSize = 100
        }).entries
        return Dictionary(entries.filter { $0.kind == .bonus }.map { ($0.rule, $0.availableDelta - $0.debtDelta) }, uniquingKeysWith: +)
    }

    func available(_ members: MembersClient, _ memberId: String) async throws -> Int64 {
        try await members.getBalance(.with { $0.memberID = memberId }).balance.available
    }

    @Test func enrolmentBonusIsABonusEntryOfTheProgrammeVersion() async throws {
        try await withProgram { members, program in
            let before = try await enroll(members)
            #expect(try await bonuses(members, before.memberID).isEmpty)
            try await setBonuses(program, enrolment: 150)
            let member = try await enroll(members)
            let entries = try await members.listLedger(.with { $0.memberID = member.memberID }).entries
            #expect(entries.count == 1)
            #expect(entries.first?.kind == .bonus)
            #expect(entries.first?.rule == "enrolment")
            #expect(entries.first?.programVersion == 2)
            #expect(entries.first?.availableDelta == 150)
            #expect(try await available(members, member.memberID) == 150)
            #expect(!member.referralCode.isEmpty)
            try await expectLedgerBalances(members: members, memberId: member.memberID)
        }
    }

    @Test func bothAreRewardedOnceOnTheRefereesFirstPurchaseThatEarns() async throws {
        try await withProgram { members, program in
            try await setBonuses(program, referrer: 500, referee: 200)
            let referrer = try await enroll(members)
            // Codes are typed by people: case does not matter.
            let referee = try await enroll(members, code: referrer.referralCode.lowercased())
            #expect(referee.referredBy == referrer.memberID)
            #expect(try await members.getMember(.with { $0.memberID = referee.memberID }).member.referredBy == referrer.memberID)

            // Below one currency unit: no points, so no reward yet.
            let nothing = try await purchase(members, referee.memberID, minor: 50)
            #expect(nothing.pointsEarned == 0)
            #expect(try await available(members, referrer.memberID) == 0)

            let firstOrder = uniqueKey("order")
            let first = try await purchase(members, referee.memberID, minor: 1_000, orderId: firstOrder)
            #expect(first.pointsEarned == 10)
            #expect(first.balance.available == 210)
            #expect(try await bonuses(members, referee.memberID) == ["referral:referee": 200])
            #expect(try await bonuses(members, referrer.memberID) == ["referral:referrer": 500])

            // The reward never repeats, and refunding the purchase leaves it.
            try await purchase(members, referee.memberID, minor: 1_000)
            _ = try await members.reversePurchase(.with {
                $0.orderID = firstOrder
                $0.refundID = uniqueKey("refund")
                $0.amount = .with {
                    $0.currencyCode = "USD"
                    $0.minorUnits = 1_000
                }
            })
            #expect(try await bonuses(members, referee.memberID) == ["referral:referee": 200])
            #expect(try await available(members, referee.memberID) == 210)
            #expect(try await available(members, referrer.memberID) == 500)

            // A referrer may refer many.
            let second = try await enroll(members, code: referrer.referralCode)
            try await purchase(members, second.memberID, minor: 100)
            #expect(try await available(members, referrer.memberID) == 1_000)
            for id in [referrer.memberID, referee.memberID, second.memberID] {
                try await expectLedgerBalances(members: members, memberId: id)
            }
        }
    }

    @Test func refusalsCarryTheirReasons() async throws {
        try await withProgram { members, program in
            try await setBonuses(program, referrer: 500, referee: 200)
            let alice = try await enroll(members, email: "alice@example.com")
            await expectRPCError(.notFound, reason: "REFERRAL_CODE_NOT_FOUND") {
                _ = try await enroll(members, code: "NOSUCHCODE")
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "referral_code") {
                _ = try await enroll(members, code: "not a code!")
            }
            // The same person under another account.
            await expectRPCError(.failedPrecondition, reason: "SELF_REFERRAL") {
                _ = try await enroll(members, code: alice.referralCode, email: "ALICE@example.com")
            }
            await expectRPCError(.failedPrecondition, reason: "SELF_REFERRAL") {
                _ = try await members.updateMember(.with {
                    $0.memberID = alice.memberID
                    $0.referralCode = alice.referralCode
                })
            }

            // alice → bob → carol; carol may not refer alice.
            let bob = try await enroll(members, code: alice.referralCode)
            let carol = try await enroll(members, code: bob.referralCode)
            await expectRPCError(.failedPrecondition, reason: "REFERRAL_LOOP") {
                _ = try await members.updateMember(.with {
                    $0.memberID = alice.memberID
                    $0.referralCode = carol.referralCode
                })
            }
            await expectRPCError(.failedPrecondition, reason: "ALREADY_REFERRED") {
                _ = try await members.updateMember(.with {
                    $0.memberID = carol.memberID
                    $0.referralCode = alice.referralCode
                })
            }
            // Setting the same referrer again changes nothing.
            let same = try await members.updateMember(.with {
                $0.memberID = carol.memberID
                $0.referralCode = bob.referralCode
            }).member
            #expect(same.referredBy == bob.memberID)

            // Too late once a purchase has earned points.
            let dave = try await enroll(members)
            try await purchase(members, dave.memberID, minor: 1_000)
            await expectRPCError(.failedPrecondition, reason: "REFERRAL_TOO_LATE") {
                _ = try await members.updateMember(.with {
                    $0.memberID = dave.memberID
                    $0.referralCode = alice.referralCode
                })
            }

            // A late link before any earning purchase still counts.
            let erin = try await enroll(members)
            let linked = try await members.updateMember(.with {
                $0.memberID = erin.memberID
                $0.referralCode = dave.referralCode
            }).member
            #expect(linked.referredBy == dave.memberID)
            try await purchase(members, erin.memberID, minor: 300)
            #expect(try await bonuses(members, dave.memberID) == ["referral:referrer": 500])

            // Refusals wrote nothing.
            #expect(try await members.getMember(.with { $0.memberID = alice.memberID }).member.referredBy == "")
            #expect(try await members.getMember(.with { $0.memberID = dave.memberID }).member.referredBy == "")
        }
    }

    @Test func aPartnerFindsOnlyTheCodesOfItsOwnMembers() async throws {
        let mine = try await accounts.enroll(EnrollRequest(externalId: "p1-a"), scope: .partner("p1"))
        let theirs = try await accounts.enroll(EnrollRequest(externalId: "p2-a"), scope: .partner("p2"))
        let referee = try await accounts.enroll(EnrollRequest(externalId: "p1-b", referralCode: mine.referralCode ?? ""), scope: .partner("p1"))
        #expect(referee.referredBy == mine.id)
        await #expect(throws: MembersError.referralCodeNotFound(theirs.referralCode ?? "")) {
            _ = try await accounts.enroll(EnrollRequest(externalId: "p1-c", referralCode: theirs.referralCode ?? ""), scope: .partner("p1"))
        }
        // The refused enrolment wrote nothing.
        await #expect(throws: MembersError.self) { _ = try await accounts.member(.externalId("p1-c")) }
    }

    @Test func birthdayBonusIsGrantedInTheBirthdayMonthOncePerYear() async throws {
        try await withProgram { members, program in
            try await setBonuses(program, birthday: 300)
            // The clock is in March 2026.
            let march = try await enroll(members, birthDate: "1990-03-17")
            let april = try await enroll(members, birthDate: "1985-04-02")
            let none = try await enroll(members)
            let suspended = try await enroll(members, birthDate: "2000-03-01")
            _ = try await members.updateMember(.with {
                $0.memberID = suspended.memberID
                $0.status = .suspended
            })

            let sweep = try await program.runProgramSweep(.init())
            #expect(sweep.birthdayBonuses == 1)
            #expect(try await bonuses(members, march.memberID) == ["birthday": 300])
            #expect(try await available(members, april.memberID) == 0)
            #expect(try await available(members, none.memberID) == 0)
            #expect(try await available(members, suspended.memberID) == 0)
            #expect(try await program.runProgramSweep(.init()).birthdayBonuses == 0)

            clock.advance(seconds: 31 * 86_400)  // April
            #expect(try await program.runProgramSweep(.init()).birthdayBonuses == 1)
            #expect(try await bonuses(members, april.memberID) == ["birthday": 300])
            #expect(try await bonuses(members, march.memberID) == ["birthday": 300])

            clock.advance(seconds: 335 * 86_400)  // March 2027
            #expect(try await program.runProgramSweep(.init()).birthdayBonuses == 1)
            #expect(try await bonuses(members, march.memberID) == ["birthday": 600])
            try await expectLedgerBalances(members: members, memberId: march.memberID)
        }
    }
}
