import Foundation
import GRPCCore
import LaurelShared
import MembersService
import SwiftProtobuf
import Testing

/// Segments (ListMembers filters) and the programme's statistics over real
/// gRPC, each figure against a fixture computed by hand.
@Suite struct MemberAnalyticsTests {
    let harness: ProgramHarness
    var start: Instant { ProgramHarness.monday }
    var clock: TestClock { harness.clock }
    var accounts: MemberAccounts { harness.accounts }

    init() throws {
        harness = try ProgramHarness(expiryPolicy: .days(30))
    }

    func withMembers(window: Int64 = 20_000, _ body: (MembersClient, ProgramClient) async throws -> Void) async throws {
        try await harness.serve(segmentScanWindow: window, body)
    }

    func day(_ days: Int64) -> Google_Protobuf_Timestamp { .init(start.adding(seconds: days * 86_400)) }

    func enroll(_ members: MembersClient, _ name: String, birthDate: String = "", attributes: [String: String] = [:]) async throws -> String {
        try await members.enrollMember(.with {
            $0.externalID = name
            $0.birthDate = birthDate
            $0.attributes = attributes
        }).member.memberID
    }

    func money(_ minor: Int64, _ currency: String = "USD") -> Laurel_V1_Money {
        .with {
            $0.currencyCode = currency
            $0.minorUnits = minor
        }
    }

    func purchase(_ members: MembersClient, _ memberId: String, _ minor: Int64, _ currency: String = "USD", order: String = uniqueKey("o")) async throws {
        _ = try await members.recordPurchase(.with {
            $0.memberID = memberId
            $0.orderID = order
            $0.amount = money(minor, currency)
        })
    }

    /// Every page of the segment, by external id, checking that pages
    /// neither repeat nor skip.
    func segment(_ members: MembersClient, pageSize: Int32 = 2, _ filter: (inout Laurel_V1_MemberFilter) -> Void) async throws -> [String] {
        var found: [String] = []
        var token = ""
        repeat {
            let page = try await members.listMembers(.with {
                $0.pageSize = pageSize
                $0.pageToken = token
                filter(&$0.filter)
            })
            found += page.members.map(\.externalID)
            token = page.nextPageToken
        } while !token.isEmpty
        return found
    }

    /// With a window of one member, rare and common segments alike are
    /// mostly found through the index rather than by reading in order.
    @Test(arguments: [20_000, 1] as [Int64]) func filtersAloneAndCombined(window: Int64) async throws {
        try await withMembers(window: window) { members, _ in
            // Enrolled a day apart: ann day 0, bob day 1, cat day 2, dan day 3.
            let ann = try await enroll(members, "ann", birthDate: "1990-03-17", attributes: ["city": "Lyon"])
            clock.advance(seconds: 86_400)
            let bob = try await enroll(members, "bob", birthDate: "1985-04-02", attributes: ["city": "Paris"])
            clock.advance(seconds: 86_400)
            let cat = try await enroll(members, "cat", attributes: ["city": "Lyon", "vip": "yes"])
            clock.advance(seconds: 86_400)
            let dan = try await enroll(members, "dan")
            _ = try await members.updateMember(.with {
                $0.memberID = dan
                $0.status = .suspended
            })
            _ = try await members.updateMember(.with {
                $0.memberID = cat
                $0.tier = "GOLD"
            })
            // Day 3: ann spends 100.00 USD (100 points) and gets 40.00 back
            // (60 left); bob spends 50.00 USD and 20.00 EUR (70 points).
            try await purchase(members, ann, 10_000, order: "ann-1")
            _ = try await members.reversePurchase(.with {
                $0.orderID = "ann-1"
                $0.refundID = "ann-1-r"
                $0.amount = money(4_000)
            })
            clock.advance(seconds: 86_400)
            // Day 4: bob buys.
            try await purchase(members, bob, 5_000)
            try await purchase(members, bob, 2_000, "EUR")

            #expect(try await segment(members) { _ in } == ["ann", "bob", "cat", "dan"])
            #expect(try await segment(members) { $0.tiers = ["GOLD"] } == ["cat"])
            #expect(try await segment(members) { $0.statuses = [.suspended] } == ["dan"])
            #expect(try await segment(members) { $0.statuses = [.active, .closed] } == ["ann", "bob", "cat"])
            #expect(try await segment(members) {
                $0.enrolledFrom = day(1)
                $0.enrolledBefore = day(3)
            } == ["bob", "cat"])
            #expect(try await segment(members) { $0.birthMonth = 3 } == ["ann"])
            #expect(try await segment(members) {
                $0.minAvailable = 60
                $0.maxAvailable = 69
            } == ["ann"])
            #expect(try await segment(members) { $0.minAvailable = 61 } == ["bob"])
            #expect(try await segment(members) { $0.maxAvailable = 0 } == ["cat", "dan"])
            #expect(try await segment(members) { $0.attributes = ["city": "Lyon"] } == ["ann", "cat"])
            #expect(try await segment(members) { $0.attributes = ["city": "Lyon", "vip": "yes"] } == ["cat"])
            #expect(try await segment(members) { $0.lastPurchaseFrom = day(4) } == ["bob"])
            #expect(try await segment(members) { $0.lastPurchaseBefore = day(4) } == ["ann"])
            // Spend is net of refunds, per currency; no purchase is no spend.
            #expect(try await segment(members) {
                $0.spendCurrency = "USD"
                $0.minLifetimeSpendMinor = 5_000
                $0.maxLifetimeSpendMinor = 6_000
            } == ["ann", "bob"])
            #expect(try await segment(members) {
                $0.spendCurrency = "USD"
                $0.minLifetimeSpendMinor = 5_001
            } == ["ann"])
            #expect(try await segment(members) {
                $0.spendCurrency = "EUR"
                $0.maxLifetimeSpendMinor = 0
            } == ["ann", "cat", "dan"])
            // Combined: every condition must hold.
            #expect(try await segment(members) {
                $0.attributes = ["city": "Lyon"]
                $0.spendCurrency = "USD"
                $0.minLifetimeSpendMinor = 1
            } == ["ann"])
            #expect(try await segment(members) {
                $0.statuses = [.active]
                $0.enrolledFrom = day(1)
                $0.maxAvailable = 0
            } == ["cat"])
        }
    }

    @Test(arguments: [20_000, 1] as [Int64]) func pagesAreStableAndTheirTokensBoundToTheFilter(window: Int64) async throws {
        try await withMembers(window: window) { members, _ in
            for name in ["a", "b", "c"] { _ = try await enroll(members, name, attributes: ["city": "Lyon"]) }
            _ = try await enroll(members, "x", attributes: ["city": "Paris"])
            let lyon: (inout Laurel_V1_MemberFilter) -> Void = { $0.attributes = ["city": "Lyon"] }
            let first = try await members.listMembers(.with {
                $0.pageSize = 2
                lyon(&$0.filter)
            })
            #expect(first.members.map(\.externalID) == ["a", "b"])
            // Enrolled between pages: on a later page, nobody repeated.
            _ = try await enroll(members, "d", attributes: ["city": "Lyon"])
            let second = try await members.listMembers(.with {
                $0.pageSize = 2
                $0.pageToken = first.nextPageToken
                lyon(&$0.filter)
            })
            #expect(second.members.map(\.externalID) == ["c", "d"])

            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "page_token") {
                _ = try await members.listMembers(.with {
                    $0.pageToken = first.nextPageToken
                    $0.filter.attributes = ["city": "Paris"]
                })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "page_token") {
                _ = try await members.listMembers(.with { $0.pageToken = first.nextPageToken })
            }
            // A made-up token past every member is an empty page, not a crash.
            let farAway = try await members.listMembers(.with { $0.pageToken = PageToken(after: .max).encoded })
            #expect(farAway.members.isEmpty)
            let invalid: [(String, (inout Laurel_V1_MemberFilter) -> Void)] = [
                ("filter.birth_month", { $0.birthMonth = 13 }),
                ("filter.spend_currency", { $0.minLifetimeSpendMinor = 1 }),
                ("filter.min_lifetime_spend_minor", { $0.spendCurrency = "USD" }),
                ("filter.min_available", {
                    $0.minAvailable = 10
                    $0.maxAvailable = 5
                }),
                ("filter.enrolled_from", {
                    $0.enrolledFrom = day(2)
                    $0.enrolledBefore = day(1)
                }),
                ("filter.statuses", { $0.statuses = [.unspecified] }),
            ]
            for (field, filter) in invalid {
                await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: field) {
                    _ = try await members.listMembers(.with { filter(&$0.filter) })
                }
            }
        }
    }

    @Test func aPartnerSegmentHoldsOnlyItsOwnMembers() async throws {
        _ = try await accounts.enroll(EnrollRequest(externalId: "p1-a", attributes: ["city": "Lyon"]), scope: .partner("p1"))
        _ = try await accounts.enroll(EnrollRequest(externalId: "p2-a", attributes: ["city": "Lyon"]), scope: .partner("p2"))
        var filter = MemberFilter()
        filter.attributes = ["city": "Lyon"]
        let page = try await accounts.members(matching: filter, pageSize: 10, pageToken: "", scope: .partner("p1"))
        #expect(page.members.map(\.externalId) == ["p1-a"])
        // Past the in-order window, the partner's own index finds them.
        var narrow = accounts
        narrow.segmentScanWindow = 1
        let all = try await narrow.members(matching: MemberFilter(), pageSize: 10, pageToken: "", scope: .partner("p2"))
        #expect(all.members.map(\.externalId) == ["p2-a"])
    }

    @Test func programStatsMatchAHandComputedFixture() async throws {
        try await withMembers { members, program in
            var rules = try await program.getProgram(.init()).program
            rules.pointValue = .with {
                $0.currencyCode = "USD"
                $0.minorUnitsPer1000Points = 1_000
            }
            _ = try await program.updateProgram(.with {
                $0.program = rules
                $0.requestID = "point-value"
            })
            // Day 0: two members; m2 is given 10 points, which expire on day 30.
            let m1 = try await enroll(members, "m1")
            let m2 = try await enroll(members, "m2")
            _ = try await members.adjustPoints(.with {
                $0.memberID = m2
                $0.delta = 10
                $0.reason = "welcome"
                $0.requestID = "m2-welcome"
            })
            clock.advance(seconds: 31 * 86_400)
            #expect(try await members.expirePoints(.init()).pointsExpired == 10)
            let expiredBy = clock.now
            clock.advance(seconds: 3_600)
            let activityFrom = clock.now
            // Day 31: m1 earns 100, loses 5 by adjustment, spends 30, and a
            // refund takes 20 back (45 left); m2 earns 50 and is made GOLD.
            try await purchase(members, m1, 10_000, order: "m1-1")
            try await purchase(members, m2, 5_000)
            _ = try await members.adjustPoints(.with {
                $0.memberID = m1
                $0.delta = -5
                $0.reason = "correction"
                $0.requestID = "m1-fix"
            })
            _ = try await members.holdPoints(.with {
                $0.memberID = m1
                $0.holdID = "m1-hold"
                $0.points = 30
            })
            _ = try await members.captureHold(.with { $0.holdID = "m1-hold" })
            _ = try await members.reversePurchase(.with {
                $0.orderID = "m1-1"
                $0.refundID = "m1-1-r"
                $0.amount = money(2_000)
            })
            _ = try await members.updateMember(.with {
                $0.memberID = m2
                $0.tier = "GOLD"
            })
            clock.advance(seconds: 3_600)

            let all = try await program.getProgramStats(.init()).stats
            #expect(all.membersTotal == 2)
            #expect(all.membersEnrolled == 2)
            #expect(all.membersActive == 2)
            #expect(all.pointsIssued == 10 + 100 + 50)
            #expect(all.pointsRedeemed == 30)
            #expect(all.pointsExpired == 10)
            #expect(all.pointsReversed == 20)
            #expect(all.pointsOutstanding == 45 + 50)
            #expect(all.liability == money(95))
            #expect(all.redemptionRateBasisPoints == 30 * 10_000 / 160)
            #expect(all.membersByTier == ["BASE": 1, "GOLD": 1])

            let recent = try await program.getProgramStats(.with {
                $0.from = .init(activityFrom)
                $0.activeDays = 1
            }).stats
            #expect(recent.membersTotal == 2)
            #expect(recent.membersEnrolled == 0)
            #expect(recent.membersActive == 2)
            #expect(recent.pointsIssued == 150)
            #expect(recent.pointsExpired == 0)
            #expect(recent.redemptionRateBasisPoints == 30 * 10_000 / 150)

            let early = try await program.getProgramStats(.with { $0.to = .init(expiredBy.adding(seconds: 1)) }).stats
            #expect(early.pointsIssued == 10)
            #expect(early.pointsExpired == 10)
            #expect(early.pointsRedeemed == 0)
            #expect(early.membersActive == 0)
            // Outstanding and tiers are now, whatever the range.
            #expect(early.pointsOutstanding == 95)

            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "from") {
                _ = try await program.getProgramStats(.with {
                    $0.from = day(40)
                    $0.to = day(39)
                })
            }
        }
    }
}
