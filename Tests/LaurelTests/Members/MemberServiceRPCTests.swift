import Foundation
import GRPCCore
import LaurelShared
import MembersService
import SwiftProtobuf
import Testing

/// MemberService over real gRPC on an ephemeral port.
@Suite struct MemberServiceRPCTests {
    let accounts: MemberAccounts

    init() throws {
        accounts = MemberAccounts(database: try .inMemory())
    }

    func withMembers(_ body: (MembersClient) async throws -> Void) async throws {
        try await withServer([MemberServiceHandler(accounts: accounts)]) { client, _ in
            try await body(Laurel_V1_MemberService.Client(wrapping: client))
        }
    }

    func enroll(_ members: MembersClient, _ externalId: String = uniqueKey("ext")) async throws -> Laurel_V1_Member {
        try await members.enrollMember(.with {
            $0.externalID = externalId
            $0.email = "ada@example.com"
            $0.displayName = "Ada"
            $0.birthDate = "1990-06-15"
            $0.attributes = ["channel": "pos"]
        }).member
    }

    @Test func enrolGetUpdateAndList() async throws {
        try await withMembers { members in
            let member = try await enroll(members, "crm-42")
            #expect(member.memberID.hasPrefix("mbr_"))
            #expect(member.status == .active)
            #expect(member.tier == "BASE")
            #expect(member.hasEnrolledAt)

            let byExternal = try await members.getMember(.with { $0.externalID = "crm-42" }).member
            #expect(byExternal == member)
            let byId = try await members.getMember(.with { $0.memberID = member.memberID }).member
            #expect(byId == member)

            let updated = try await members.updateMember(.with {
                $0.memberID = member.memberID
                $0.displayName = "Ada L."
                $0.setAttributes = ["tier_hint": "gold"]
                $0.removeAttributes = ["channel"]
                $0.status = .suspended
            }).member
            #expect(updated.displayName == "Ada L.")
            #expect(updated.email == "ada@example.com")
            #expect(updated.attributes == ["tier_hint": "gold"])
            #expect(updated.status == .suspended)

            for _ in 0..<4 { _ = try await enroll(members) }
            var seen: [String] = []
            var token = ""
            repeat {
                let page = try await members.listMembers(.with { $0.pageSize = 2; $0.pageToken = token })
                #expect(page.members.count <= 2)
                seen += page.members.map(\.memberID)
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(seen.count == 5)
            #expect(Set(seen).count == 5)
            #expect(seen.first == member.memberID)
        }
    }

    @Test func purchasesEarnAndRepeatWithoutEarningTwice() async throws {
        try await withMembers { members in
            let member = try await enroll(members)
            let request = Laurel_V1_RecordPurchaseRequest.with {
                $0.memberID = member.memberID
                $0.orderID = "pos-1001"
                $0.amount = .with { $0.currencyCode = "USD"; $0.minorUnits = 4_999 }
                $0.lines = [.with { $0.sku = "LATTE"; $0.category = "coffee"; $0.quantity = 1; $0.unitPriceMinor = 4_999 }]
                $0.occurredAt = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(-60))
            }
            let first = try await members.recordPurchase(request)
            #expect(first.pointsEarned == 49)
            #expect(first.balance.available == 49)
            #expect(first.entries.map(\.kind) == [.earn])
            #expect(first.entries.map(\.rule) == ["base"])
            #expect(first.entries.first?.reference == "pos-1001")
            let again = try await members.recordPurchase(request)
            #expect(again == first)

            var other = request
            other.amount.minorUnits = 10_000
            await expectRPCError(.alreadyExists, reason: "IDEMPOTENCY_KEY_REUSED") { _ = try await members.recordPurchase(other) }
            #expect(try await members.getBalance(.with { $0.memberID = member.memberID }).balance.available == 49)
            try await expectLedgerBalances(members: members, memberId: member.memberID)
        }
    }

    /// Each item of a batch ends as its own call would: held, or refused
    /// with the status that call would have had, in the order of the items;
    /// a refused item changes nothing, and a repeat replays every outcome.
    @Test func aBatchOfHoldsAndCapturesEndsEachItemAsItsOwnCallWould() async throws {
        try await withMembers { members in
            let id = try await enroll(members).memberID
            _ = try await members.adjustPoints(.with { $0.memberID = id; $0.delta = 500; $0.reason = "goodwill"; $0.requestID = "b-a1" })
            let batch = Laurel_V1_HoldPointsBatchRequest.with {
                $0.items = [
                    .with { $0.memberID = id; $0.holdID = "b-h1"; $0.points = 200 },
                    .with { $0.memberID = "mem_nobody"; $0.holdID = "b-h2"; $0.points = 1 },
                    .with { $0.memberID = id; $0.holdID = "b-h3"; $0.points = 400 },
                    .with { $0.memberID = id; $0.holdID = "b-h4"; $0.points = 100 },
                ]
            }
            for _ in 1...2 {
                let outcomes = try await members.holdPointsBatch(batch).outcomes
                #expect(outcomes.count == 4)
                guard outcomes.count == 4 else { return }
                #expect(outcomes[0].held.hold.holdID == "b-h1" && outcomes[0].held.hold.points == 200)
                #expect(outcomes[1].error.code == Int32(RPCError.Code.notFound.rawValue) && outcomes[1].error.reason == "MEMBER_NOT_FOUND")
                #expect(outcomes[2].error.code == Int32(RPCError.Code.failedPrecondition.rawValue))
                #expect(outcomes[2].error.reason == "INSUFFICIENT_POINTS" && !outcomes[2].error.message.isEmpty)
                #expect(outcomes[3].held.hold.holdID == "b-h4")
            }
            let held = try await members.getBalance(.with { $0.memberID = id }).balance
            #expect((held.available, held.held) == (200, 300))

            let captures = try await members.captureHoldBatch(.with {
                $0.items = [.with { $0.holdID = "b-h1" }, .with { $0.holdID = "b-h3" }]
            }).outcomes
            #expect(captures.count == 2)
            #expect(captures.first?.captured.hold.status == .captured)
            #expect(captures.last?.error.reason == "HOLD_NOT_FOUND")
            let after = try await members.getBalance(.with { $0.memberID = id }).balance
            #expect((after.available, after.held) == (200, 100))
            try await expectLedgerBalances(members: members, memberId: id)

            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "items") {
                _ = try await members.captureHoldBatch(.with {
                    $0.items = (0...BatchCall.maxItems).map { n in .with { $0.holdID = "b-many-\(n)" } }
                })
            }
        }
    }

    @Test func adjustmentsAndHoldsKeepTheLedgerEqualToTheBalance() async throws {
        try await withMembers { members in
            let member = try await enroll(members)
            let id = member.memberID
            let credit = try await members.adjustPoints(.with { $0.memberID = id; $0.delta = 500; $0.reason = "goodwill"; $0.requestID = "a1" })
            #expect(credit.balance.available == 500)
            #expect(credit.entry.kind == .adjust)
            let hold = try await members.holdPoints(.with { $0.memberID = id; $0.holdID = "h1"; $0.points = 200; $0.ttlSeconds = 60 })
            #expect(hold.hold.status == .held)
            #expect((hold.balance.available, hold.balance.held) == (300, 200))
            let captured = try await members.captureHold(.with { $0.holdID = "h1" })
            #expect(captured.hold.status == .captured)
            #expect((captured.balance.available, captured.balance.held) == (300, 0))
            _ = try await members.holdPoints(.with { $0.memberID = id; $0.holdID = "h2"; $0.points = 100 })
            let released = try await members.releaseHold(.with { $0.holdID = "h2" })
            #expect(released.hold.status == .released)
            #expect(released.balance.available == 300)
            let refunded = try await members.refundHold(.with { $0.holdID = "h1" })
            #expect(refunded.balance.available == 500)

            await expectRPCError(.failedPrecondition, reason: "INSUFFICIENT_POINTS") {
                _ = try await members.holdPoints(.with { $0.memberID = id; $0.holdID = "h3"; $0.points = 501 })
            }
            await expectRPCError(.failedPrecondition, reason: "HOLD_NOT_HELD") { _ = try await members.releaseHold(.with { $0.holdID = "h1" }) }
            await expectRPCError(.notFound, reason: "HOLD_NOT_FOUND") { _ = try await members.captureHold(.with { $0.holdID = "nope" }) }

            let kinds = try await members.listLedger(.with { $0.memberID = id }).entries.map(\.kind)
            #expect(kinds == [.refund, .release, .hold, .capture, .hold, .adjust])
            try await expectLedgerBalances(members: members, memberId: id)
        }
    }

    @Test func badInputGetsAClearStatusNamingTheField() async throws {
        try await withMembers { members in
            let member = try await enroll(members, "taken")
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "external_id") {
                _ = try await members.enrollMember(.with { $0.externalID = "" })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "birth_date") {
                _ = try await members.enrollMember(.with { $0.externalID = "x"; $0.birthDate = "15/06/1990" })
            }
            await expectRPCError(.alreadyExists, reason: "MEMBER_ALREADY_EXISTS") {
                _ = try await members.enrollMember(.with { $0.externalID = "taken"; $0.email = "someone@else.com" })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "lookup") {
                _ = try await members.getMember(.init())
            }
            await expectRPCError(.notFound, reason: "MEMBER_NOT_FOUND") {
                _ = try await members.getMember(.with { $0.memberID = "mbr_missing" })
            }
            await expectRPCError(.notFound, reason: "MEMBER_NOT_FOUND") {
                _ = try await members.getBalance(.with { $0.memberID = "mbr_missing" })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "status") {
                _ = try await members.updateMember(.with { $0.memberID = member.memberID; $0.status = .UNRECOGNIZED(42) })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "amount") {
                _ = try await members.recordPurchase(.with { $0.memberID = member.memberID; $0.orderID = "o" })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "amount.minor_units") {
                _ = try await members.recordPurchase(.with {
                    $0.memberID = member.memberID; $0.orderID = "o"; $0.amount = .with { $0.currencyCode = "USD"; $0.minorUnits = -1 }
                })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "occurred_at") {
                _ = try await members.recordPurchase(.with {
                    $0.memberID = member.memberID; $0.orderID = "o"; $0.amount = .with { $0.currencyCode = "USD"; $0.minorUnits = 100 }
                    $0.occurredAt = .with { $0.seconds = 1; $0.nanos = -5 }
                })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "delta") {
                _ = try await members.adjustPoints(.with { $0.memberID = member.memberID; $0.reason = "r"; $0.requestID = "r" })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "ttl_seconds") {
                _ = try await members.holdPoints(.with { $0.memberID = member.memberID; $0.holdID = "h"; $0.points = 1; $0.ttlSeconds = -1 })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "page_token") {
                _ = try await members.listMembers(.with { $0.pageToken = "garbage" })
            }
            // None of it was written.
            #expect(try await members.listMembers(.init()).members.count == 1)
            #expect(try await members.listLedger(.with { $0.memberID = member.memberID }).entries.isEmpty)
        }
    }
}
