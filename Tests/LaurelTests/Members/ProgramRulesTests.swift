import Foundation
import GRPCCore
import LaurelShared
import MembersService
import SwiftProtobuf
import Testing

/// The programme's rules through MemberService and ProgramService over real
/// gRPC: versions, earn rules by line, caps, campaigns, tiers, refunds.
@Suite struct ProgramRulesTests {
    let harness: ProgramHarness
    var clock: TestClock { harness.clock }
    var accounts: MemberAccounts { harness.accounts }

    init() throws {
        harness = try ProgramHarness()
    }

    func withProgram(_ body: (MembersClient, ProgramClient) async throws -> Void) async throws {
        try await harness.serve(body)
    }

    func enroll(_ members: MembersClient, attributes: [String: String] = [:]) async throws -> String {
        try await members.enrollMember(.with {
            $0.externalID = uniqueKey("ext")
            $0.attributes = attributes
        }).member.memberID
    }

    @discardableResult
    func update(_ program: ProgramClient, _ change: (inout Laurel_V1_Program) -> Void) async throws -> Laurel_V1_Program {
        var next = try await program.getProgram(.init()).program
        change(&next)
        return try await program.updateProgram(.with {
            $0.program = next
            $0.requestID = uniqueKey("program")
        }).program
    }

    func usd(_ minor: Int64) -> Laurel_V1_Money {
        .with {
            $0.currencyCode = "USD"
            $0.minorUnits = minor
        }
    }

    func line(_ sku: String, _ category: String = "", _ quantity: Int64 = 1, _ unitPrice: Int64) -> Laurel_V1_PurchaseLine {
        .with {
            $0.sku = sku
            $0.category = category
            $0.quantity = quantity
            $0.unitPriceMinor = unitPrice
        }
    }

    func purchase(
        _ members: MembersClient, _ memberId: String, _ lines: [Laurel_V1_PurchaseLine], amount: Int64? = nil, orderId: String = uniqueKey("order"),
        occurredAt: Instant? = nil
    ) async throws -> Laurel_V1_RecordPurchaseResponse {
        try await members.recordPurchase(.with {
            $0.memberID = memberId
            $0.orderID = orderId
            $0.amount = usd(amount ?? lines.reduce(0) { $0 + $1.quantity * $1.unitPriceMinor })
            $0.lines = lines
            if let occurredAt { $0.occurredAt = .init(occurredAt) }
        })
    }

    func rules(_ response: Laurel_V1_RecordPurchaseResponse) -> [String: Int64] {
        Dictionary(response.entries.map { ($0.rule, $0.availableDelta - $0.debtDelta) }, uniquingKeysWith: +)
    }

    func tiers(_ basis: Laurel_V1_TierBasis = .qualifyingPoints, window: Int32 = 365) -> Laurel_V1_TierRules {
        .with {
            $0.basis = basis
            $0.windowDays = window
            $0.tiers = [
                .with { $0.code = "BASE" },
                .with {
                    $0.code = "SILVER"
                    $0.threshold = 500
                    $0.earnMultiplierPercent = 125
                },
                .with {
                    $0.code = "GOLD"
                    $0.threshold = 1_000
                    $0.earnMultiplierPercent = 150
                },
            ]
        }
    }

    @Test func theProgrammeIsVersionedAndEveryEntryNamesItsRule() async throws {
        try await withProgram { members, program in
            let first = try await program.getProgram(.init()).program
            #expect(first.version == 1)
            #expect(first.earn.defaultPointsPerUnit == 1)
            #expect(first.tiers.tiers.map(\.code) == ["BASE", "SILVER", "GOLD", "PLATINUM"])

            var doubled = first
            doubled.earn.rates = [.with { $0.currencyCode = "USD"; $0.pointsPerUnit = 2 }]
            let request = Laurel_V1_UpdateProgramRequest.with {
                $0.program = doubled
                $0.expectedVersion = 1
                $0.requestID = "rates-2"
            }
            let second = try await program.updateProgram(request).program
            #expect(second.version == 2)
            #expect(try await program.updateProgram(request).program == second)
            await expectRPCError(.alreadyExists, reason: "IDEMPOTENCY_KEY_REUSED") {
                _ = try await program.updateProgram(.with {
                    $0.program = first
                    $0.requestID = "rates-2"
                })
            }
            await expectRPCError(.failedPrecondition, reason: "PROGRAM_VERSION_CONFLICT") {
                _ = try await program.updateProgram(.with {
                    $0.program = first
                    $0.expectedVersion = 1
                    $0.requestID = uniqueKey()
                })
            }
            var invalid = second
            invalid.earn.categoryMultipliers = [.with { $0.match = "books"; $0.multiplierPercent = 50 }]
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "program.earn.category_multipliers[0].multiplier_percent") {
                _ = try await program.updateProgram(.with {
                    $0.program = invalid
                    $0.requestID = uniqueKey()
                })
            }

            let member = try await enroll(members)
            let earned = try await purchase(members, member, [], amount: 1_234)
            #expect(earned.pointsEarned == 24)
            #expect(earned.programVersion == 2)
            #expect(earned.entries.map(\.rule) == ["base"])
            #expect(earned.entries.map(\.programVersion) == [2])
            let ledger = try await members.listLedger(.with { $0.memberID = member }).entries
            #expect(ledger.map(\.rule) == ["base"])

            _ = try await members.updateMember(.with {
                $0.memberID = member
                $0.tier = "PLATINUM"
            })
            await expectRPCError(.failedPrecondition, reason: "TIER_IN_USE") {
                try await update(program) { $0.tiers.tiers.removeLast() }
            }
            try await expectLedgerBalances(members: members, memberId: member)
        }
    }

    @Test func eachLineEarnsByItsRules() async throws {
        try await withProgram { members, program in
            try await update(program) {
                $0.earn.rates = [.with { $0.currencyCode = "USD"; $0.pointsPerUnit = 1; $0.minimumOrderMinor = 500 }]
                $0.earn.categoryMultipliers = [.with { $0.match = "electronics"; $0.multiplierPercent = 200 }]
                $0.earn.skuMultipliers = [.with { $0.match = "TV-1"; $0.multiplierPercent = 300 }]
                $0.earn.excludedSkus = ["DELIVERY"]
            }
            let member = try await enroll(members)
            let response = try await purchase(members, member, [
                line("TV-1", "electronics", 1, 100_00), line("HEADPHONES", "electronics", 2, 25_00), line("BREAD", "grocery", 1, 3_50),
                line("DELIVERY", "", 1, 5_00),
            ])
            // The SKU's multiplier replaces its category's.
            #expect(response.lines.map(\.points) == [300, 100, 3, 0])
            #expect(response.lines[0].rules.map(\.rule) == ["base", "sku:TV-1"])
            #expect(response.lines[1].rules.map(\.rule) == ["base", "category:electronics"])
            #expect(response.lines[3].excluded)
            #expect(response.pointsEarned == 403)
            #expect(rules(response) == ["base": 153, "sku:TV-1": 200, "category:electronics": 50])
            #expect(response.balance.available == 403)

            let small = try await purchase(members, member, [line("BREAD", "grocery", 1, 4_99)])
            #expect(small.pointsEarned == 0)
            #expect(small.noPointsReason == "BELOW_MINIMUM_ORDER")
            #expect(small.entries.isEmpty)
            let fees = try await purchase(members, member, [line("DELIVERY", "", 2, 5_00)])
            #expect(fees.pointsEarned == 0)
            #expect(fees.noPointsReason == "EXCLUDED_ITEMS_ONLY")
            try await expectLedgerBalances(members: members, memberId: member)
        }
    }

    @Test func capsBoundWhatADayAWeekAndAMonthEarn() async throws {
        try await withProgram { members, program in
            try await update(program) {
                $0.earn.dailyCap = 100
                $0.earn.weeklyCap = 250
                $0.earn.monthlyCap = 400
            }
            let member = try await enroll(members)
            let day: Int64 = 86_400
            let monday = clock.now
            func buy(_ dollars: Int64, daysAfterMonday days: Int64) async throws -> Laurel_V1_RecordPurchaseResponse {
                try await purchase(members, member, [], amount: dollars * 100, occurredAt: monday.adding(seconds: days * day + 3_600))
            }
            clock.advance(seconds: 20 * day)
            var result = try await buy(80, daysAfterMonday: 0)
            #expect((result.pointsEarned, result.pointsCapped) == (80, 0))
            result = try await buy(50, daysAfterMonday: 0)
            #expect((result.pointsEarned, result.pointsCapped) == (20, 30))
            result = try await buy(200, daysAfterMonday: 0)
            #expect((result.pointsEarned, result.pointsCapped, result.noPointsReason) == (0, 200, "EARNING_CAP_REACHED"))
            result = try await buy(90, daysAfterMonday: 1)
            #expect(result.pointsEarned == 90)
            // The week has 60 left.
            result = try await buy(100, daysAfterMonday: 2)
            #expect((result.pointsEarned, result.pointsCapped) == (60, 40))
            // A new ISO week; the month (March) has 150 left.
            result = try await buy(100, daysAfterMonday: 7)
            #expect(result.pointsEarned == 100)
            result = try await buy(100, daysAfterMonday: 8)
            #expect((result.pointsEarned, result.pointsCapped) == (50, 50))
            let balance = try await members.getBalance(.with { $0.memberID = member }).balance
            #expect(balance.available == 400)
        }
    }

    @Test func campaignsAddBonusesForTheirSegmentAndTime() async throws {
        try await withProgram { members, program in
            let now = clock.now
            func campaign(_ id: String, _ change: (inout Laurel_V1_Campaign) -> Void) -> Laurel_V1_CreateCampaignRequest {
                .with {
                    $0.campaign = .with {
                        $0.campaignID = id
                        $0.name = id
                        $0.startsAt = .init(now.adding(seconds: -3_600))
                        $0.endsAt = .init(now.adding(seconds: 30 * 86_400))
                        change(&$0)
                    }
                }
            }
            let coffee = campaign("gold-coffee") {
                $0.multiplierPercent = 200
                $0.target = .with {
                    $0.tiers = ["GOLD"]
                    $0.categories = ["coffee"]
                }
            }
            let created = try await program.createCampaign(coffee).campaign
            #expect(created.status == .active)
            #expect(try await program.createCampaign(coffee).campaign == created)
            await expectRPCError(.alreadyExists, reason: "CAMPAIGN_ALREADY_EXISTS") {
                _ = try await program.createCampaign(campaign("gold-coffee") { $0.multiplierPercent = 300 })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "campaign.target.tiers[0]") {
                _ = try await program.createCampaign(campaign("diamond") {
                    $0.bonusPoints = 10
                    $0.target.tiers = ["DIAMOND"]
                })
            }
            _ = try await program.createCampaign(campaign("north-50") {
                $0.bonusPoints = 50
                $0.target.attributes = ["region": "north"]
            })
            _ = try await program.createCampaign(campaign("later") {
                $0.bonusPoints = 1_000
                $0.startsAt = .init(now.adding(seconds: 86_400))
            })

            let gold = try await enroll(members, attributes: ["region": "north"])
            _ = try await members.updateMember(.with {
                $0.memberID = gold
                $0.tier = "GOLD"
            })
            let basket = [line("ESPRESSO", "coffee", 1, 10_00), line("TEA", "tea", 1, 5_00)]
            let first = try await purchase(members, gold, basket)
            #expect(first.lines[0].rules.map(\.rule) == ["base", "campaign:gold-coffee"])
            #expect(first.orderRules.map(\.rule) == ["campaign:north-50"])
            #expect(rules(first) == ["base": 15, "campaign:gold-coffee": 10, "campaign:north-50": 50])

            let base = try await enroll(members)
            #expect(try await purchase(members, base, basket).pointsEarned == 15)

            let listed = try await program.listCampaigns(.init()).campaigns
            #expect(listed.map(\.campaignID) == ["gold-coffee", "north-50", "later"])
            #expect(listed.map(\.status) == [.active, .active, .scheduled])

            clock.advance(seconds: 60)
            let ended = try await program.endCampaign(.with { $0.campaignID = "north-50" }).campaign
            #expect(ended.status == .ended)
            #expect(ended.hasEndedAt)
            #expect(try await program.listCampaigns(.init()).campaigns.map(\.campaignID) == ["gold-coffee", "later"])
            #expect(try await program.listCampaigns(.with { $0.includeEnded = true }).campaigns.count == 3)
            #expect(try await purchase(members, gold, basket).pointsEarned == 25)
            // A purchase that happened while it ran still gets it.
            let late = try await purchase(members, gold, basket, occurredAt: now)
            #expect(late.pointsEarned == 75)
            await expectRPCError(.notFound, reason: "CAMPAIGN_NOT_FOUND") {
                _ = try await program.endCampaign(.with { $0.campaignID = "nope" })
            }
            try await expectLedgerBalances(members: members, memberId: gold)
        }
    }

    @Test func tiersGoUpAtOnceAndAreReevaluatedWhenTheWindowEnds() async throws {
        try await withProgram { members, program in
            try await update(program) { $0.tiers = tiers() }
            let member = try await enroll(members)
            let floored = try await enroll(members)
            let start = clock.now

            let qualifying = try await purchase(members, member, [], amount: 600_00)
            #expect(qualifying.pointsEarned == 600)
            var got = try await members.getMember(.with { $0.memberID = member })
            #expect(got.member.tier == "SILVER")
            #expect(got.tierStatus.qualifyingValue == 600)
            #expect(got.tierStatus.nextTier == "GOLD")
            #expect(got.tierStatus.neededForNextTier == 400)
            #expect(got.tierStatus.neededToKeepTier == 0)
            #expect(got.tierStatus.reviewAt == .init(start.adding(seconds: 365 * 86_400)))

            // The tier's multiplier applies from the next purchase.
            let next = try await purchase(members, member, [], amount: 100_00)
            #expect(rules(next) == ["base": 100, "tier:SILVER": 25])

            _ = try await purchase(members, floored, [], amount: 700_00)
            _ = try await members.updateMember(.with {
                $0.memberID = floored
                $0.tierFloor = "SILVER"
            })

            clock.advance(seconds: 200 * 86_400)
            got = try await members.getMember(.with { $0.memberID = member })
            #expect(got.member.tier == "SILVER")
            #expect(try await program.runProgramSweep(.init()).tiersEvaluated == 0)

            clock.advance(seconds: 166 * 86_400)
            let sweep = try await program.runProgramSweep(.init())
            #expect(sweep.tiersEvaluated == 2)
            #expect(sweep.tiersChanged == 1)
            got = try await members.getMember(.with { $0.memberID = member })
            #expect(got.member.tier == "BASE")
            #expect(!got.tierStatus.hasReviewAt)
            // Never below the floor.
            got = try await members.getMember(.with { $0.memberID = floored })
            #expect(got.member.tier == "SILVER")
            #expect(got.tierStatus.tierFloor == "SILVER")
            #expect(got.tierStatus.neededToKeepTier == 500)
        }
    }

    @Test func spendCanQualifyForTiers() async throws {
        try await withProgram { members, program in
            try await update(program) {
                $0.tiers = tiers(.spend)
                $0.tiers.spendCurrency = "USD"
                $0.tiers.tiers[1].threshold = 300_00
                $0.tiers.tiers[2].threshold = 1_000_00
            }
            let member = try await enroll(members)
            _ = try await purchase(members, member, [], amount: 299_99)
            #expect(try await members.getMember(.with { $0.memberID = member }).member.tier == "BASE")
            _ = try await purchase(members, member, [], amount: 1)
            let got = try await members.getMember(.with { $0.memberID = member })
            #expect(got.member.tier == "SILVER")
            #expect(got.tierStatus.basis == .spend)
            #expect(got.tierStatus.spendCurrency == "USD")
            #expect(got.tierStatus.neededForNextTier == 700_00)
        }
    }

    @Test func aRefundUndoesTheUpgradeItPaidForButNotAnEarlierTier() async throws {
        try await withProgram { members, program in
            try await update(program) { $0.tiers = tiers() }
            let member = try await enroll(members)
            _ = try await purchase(members, member, [], amount: 600_00, orderId: "big")
            #expect(try await members.getMember(.with { $0.memberID = member }).member.tier == "SILVER")
            let refund = try await members.reversePurchase(.with {
                $0.orderID = "big"
                $0.refundID = "big-r1"
                $0.amount = usd(200_00)
            })
            #expect(refund.tier == "BASE")
            #expect(refund.pointsReversed == 200)

            let gold = try await enroll(members)
            _ = try await members.updateMember(.with {
                $0.memberID = gold
                $0.tier = "GOLD"
            })
            _ = try await purchase(members, gold, [], amount: 100_00, orderId: "gold-order")
            let goldRefund = try await members.reversePurchase(.with {
                $0.orderID = "gold-order"
                $0.refundID = "gold-r1"
                $0.amount = usd(100_00)
            })
            #expect(goldRefund.tier == "GOLD")
        }
    }

    /// The issue's own example: a Gold member in a double-points campaign
    /// buys an excluded SKU and a multiplied category, then refunds one line.
    @Test func rulesCombineAndARefundTakesBackExactlyWhatTheLineEarned() async throws {
        try await withProgram { members, program in
            try await update(program) {
                $0.tiers = tiers()
                $0.earn.categoryMultipliers = [.with { $0.match = "electronics"; $0.multiplierPercent = 200 }]
                $0.earn.excludedSkus = ["GIFTCARD"]
            }
            _ = try await program.createCampaign(.with {
                $0.campaign = .with {
                    $0.campaignID = "double"
                    $0.name = "Double points"
                    $0.startsAt = .init(clock.now.adding(seconds: -60))
                    $0.endsAt = .init(clock.now.adding(seconds: 86_400))
                    $0.multiplierPercent = 200
                }
            })
            let member = try await enroll(members)
            _ = try await members.updateMember(.with {
                $0.memberID = member
                $0.tier = "GOLD"
            })

            let bought = try await purchase(
                members, member, [line("CAMERA", "electronics", 2, 100_00), line("GIFTCARD", "", 1, 50_00), line("BOOK", "books", 1, 20_00)],
                orderId: "combo")
            // Each bonus is on the base: 200 + 200 (category) + 100 (Gold) + 200 (campaign).
            #expect(bought.lines.map(\.points) == [700, 0, 50])
            #expect(bought.lines[1].excluded)
            #expect(rules(bought) == ["base": 220, "category:electronics": 200, "tier:GOLD": 110, "campaign:double": 220])
            #expect(bought.pointsEarned == 750)

            // Spend some, so the refund meets spent points.
            _ = try await members.adjustPoints(.with {
                $0.memberID = member
                $0.delta = -500
                $0.reason = "spent at the till"
                $0.requestID = uniqueKey()
            })
            let refund = try await members.reversePurchase(.with {
                $0.orderID = "combo"
                $0.refundID = "combo-r1"
                $0.lines = [.with { $0.sku = "CAMERA"; $0.quantity = 1 }]
            })
            #expect(refund.pointsReversed == 350)
            #expect(
                Dictionary(refund.entries.map { ($0.rule, $0.debtDelta - $0.availableDelta) }, uniquingKeysWith: +)
                    == ["base": 100, "category:electronics": 100, "tier:GOLD": 50, "campaign:double": 100])
            #expect(refund.entries.allSatisfy { $0.kind == .reverse && $0.programVersion == 2 })
            #expect(refund.balance.available == 0)
            #expect(refund.balance.debt == 100)
            #expect(refund.tier == "GOLD")

            // The giftcard earned nothing, so refunding it takes nothing.
            let giftcard = try await members.reversePurchase(.with {
                $0.orderID = "combo"
                $0.refundID = "combo-r2"
                $0.lines = [.with { $0.sku = "GIFTCARD"; $0.quantity = 1 }]
            })
            #expect(giftcard.pointsReversed == 0)
            let rest = try await members.reversePurchase(.with {
                $0.orderID = "combo"
                $0.refundID = "combo-r3"
                $0.lines = [.with { $0.sku = "CAMERA"; $0.quantity = 1 }, .with { $0.sku = "BOOK"; $0.quantity = 1 }]
            })
            #expect(rest.pointsReversed == 400)
            #expect(rest.balance.debt == 500)
            let events = try await accounts.database.writer.read { db in
                try String.fetchAll(db, sql: "SELECT rule FROM member_event WHERE member_id = ? AND kind = 'POINTS_REVERSED'", arguments: [member])
            }
            #expect(Set(events) == ["base", "category:electronics", "tier:GOLD", "campaign:double"])
            try await expectLedgerBalances(members: members, memberId: member)
        }
    }
}
