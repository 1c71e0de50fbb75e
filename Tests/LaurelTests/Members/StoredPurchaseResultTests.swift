import Foundation
import GRDB
import LaurelShared
@testable import MembersService
import Testing

/// A purchase's result as IdempotencyKeys stores it for replay: the compact
/// form written by hand keeps every field, refuses what it did not write,
/// and results stored as JSON before it still replay.
@Suite struct StoredPurchaseResultTests {
    static let full = PurchaseResult(
        pointsEarned: 1_234,
        balance: Balance(memberId: "mbr_ü", available: .max, held: 7, lifetimeEarned: 99, debt: 3),
        entries: [
            LedgerEntry(
                id: 41, memberId: "mbr_ü", kind: .earn, availableDelta: 1_000, heldDelta: 0, availableAfter: 5_000, heldAfter: 7,
                reference: "order-1", reason: "purchase", createdAt: Instant(millisecondsSince1970: 1_764_500_000_123),
                debtDelta: -3, debtAfter: 0, rule: "base", programVersion: 4),
            LedgerEntry(
                id: nil, memberId: "mbr_ü", kind: .bonus, availableDelta: 234, heldDelta: -1, availableAfter: .min, heldAfter: 6,
                reference: "", reason: "café ☕", createdAt: Instant(millisecondsSince1970: -1),
                debtDelta: 0, debtAfter: 0, rule: "campaign:autumn", programVersion: 4),
        ],
        earning: Earning(
            lines: [
                LineEarning(lineNo: 0, sku: "SKU-1", rules: [RulePoints(rule: "base", points: 900), RulePoints(rule: "x2", points: 100)], excluded: false),
                LineEarning(lineNo: 1, sku: "GIFT", rules: [], excluded: true),
            ],
            orderRules: [RulePoints(rule: "campaign:autumn", points: 234)], capped: 17, eligibleSpendMinor: 12_599,
            noPointsReason: ""),
        programVersion: 4,
        cashback: Money(currency: try! Currency("JPY"), minorUnits: 250))

    @Test func theCompactFormKeepsEveryField() throws {
        var withoutCashback = Self.full
        withoutCashback.cashback = nil
        withoutCashback.earning.noPointsReason = "BELOW_MINIMUM"
        for result in [Self.full, withoutCashback] {
            let bytes = CompactForm.encode(result)
            #expect(bytes.first == 0x01)
            #expect(try CompactForm.decode(PurchaseResult.self, from: bytes) == result)
        }
    }

    /// The compact form lists its fields by hand: a field added to one of
    /// these types must be added to it too (PurchaseResult+Compact.swift),
    /// or a replay would answer without it.
    @Test func everyStoredFieldIsInTheCompactForm() throws {
        let written: [(Any, Int)] = [
            (Self.full, 6), (Self.full.balance, 5), (Self.full.entries[0], 14), (Self.full.earning, 5),
            (Self.full.earning.lines[0], 4), (Self.full.earning.orderRules[0], 2), (Self.full.cashback!, 2),
        ]
        for (value, count) in written {
            #expect(Mirror(reflecting: value).children.count == count, "\(type(of: value)) has fields its compact form does not write")
        }
    }

    @Test func aHoldsResultKeepsEveryFieldAndReplays() async throws {
        let hold = Hold(
            id: "h-ü", memberId: "mbr_1", points: 300, status: .captured, reason: "Redeem ☕",
            createdAt: Instant(millisecondsSince1970: 1_764_500_000_123), expiresAt: Instant(millisecondsSince1970: 1_764_500_900_123),
            settledAt: Instant(millisecondsSince1970: 1_764_500_100_000), redemptionId: "red_1", currencyCode: "EUR")
        var open = hold
        (open.status, open.settledAt, open.redemptionId, open.currencyCode) = (.held, nil, "", "")
        for result in [HoldResult(hold: hold, balance: Self.full.balance), HoldResult(hold: open, balance: Self.full.balance)] {
            #expect(try CompactForm.decode(HoldResult.self, from: CompactForm.encode(result)) == result)
        }
        #expect(Mirror(reflecting: HoldResult(hold: hold, balance: Self.full.balance)).children.count == 2)
        #expect(Mirror(reflecting: hold).children.count == 10, "Hold has fields its compact form does not write")

        let accounts = MemberAccounts(database: try .inMemory(), clock: TestClock().wallClock)
        let member = try await accounts.enroll(EnrollRequest(externalId: "holder"))
        _ = try await accounts.adjust(AdjustRequest(memberId: member.id, delta: 1_000, reason: "welcome", requestId: "welcome"))
        let request = HoldRequest(memberId: member.id, holdId: "h-stored", points: 400, reason: "redeem", redemptionId: "red_2")
        let first = try await accounts.hold(request)
        #expect(try await storedAnswer(in: accounts.database.writer, scope: "hold", key: "h-stored")?.first == 0x01)
        #expect(try await accounts.hold(request) == first)
        try await storeAsJSON(first, in: accounts.database.writer, scope: "hold", key: "h-stored")
        #expect(try await accounts.hold(request) == first)
    }

    @Test func aDamagedCompactFormIsRefusedNotTrappedOn() throws {
        let bytes = CompactForm.encode(Self.full)
        for length in 2..<bytes.count {
            #expect(throws: CompactForm.Malformed.self) { try CompactForm.decode(PurchaseResult.self, from: Array(bytes[..<length])) }
        }
        #expect(throws: CompactForm.Malformed.self) { try CompactForm.decode(PurchaseResult.self, from: bytes + [0]) }
        // A version this build does not know.
        var later = bytes
        later[1] = PurchaseResult.compactVersion + 1
        #expect(throws: CompactForm.Malformed.self) { try CompactForm.decode(PurchaseResult.self, from: later) }
        // Not the compact form at all: the caller reads JSON instead.
        #expect(try CompactForm.decode(PurchaseResult.self, from: Array("{}".utf8)) == nil)
    }

    @Test func aPurchaseReplaysFromEitherStoredForm() async throws {
        let accounts = MemberAccounts(database: try .inMemory(), clock: TestClock().wallClock)
        let member = try await accounts.enroll(EnrollRequest(externalId: "stored"))
        let request = PurchaseRequest(
            memberId: member.id, orderId: "o-stored", currencyCode: "USD", amountMinor: 12_345,
            lines: [PurchaseLine(sku: "A", category: "food", quantity: 2, unitPriceMinor: 6_000), PurchaseLine(sku: "B", quantity: 1, unitPriceMinor: 345)])
        let first = try await accounts.recordPurchase(request)
        #expect(first.pointsEarned > 0)

        let writer = accounts.database.writer
        #expect(try await storedAnswer(in: writer, scope: "purchase", key: "o-stored")?.first == 0x01)
        #expect(try await accounts.recordPurchase(request) == first)

        // As every purchase was stored before the compact form.
        let json = try await storeAsJSON(first, in: writer, scope: "purchase", key: "o-stored")
        #expect(try await storedAnswer(in: writer, scope: "purchase", key: "o-stored") == json)
        #expect(try await accounts.recordPurchase(request) == first)
    }
}
