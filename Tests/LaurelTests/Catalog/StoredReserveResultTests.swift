import Foundation
import GRDB
import LaurelShared
@testable import CatalogService
import Testing

/// A reservation's result (and a reward) as IdempotencyKeys stores them for
/// replay, in the compact form: every field kept, and replays from it and
/// from JSON stored before it.
@Suite struct StoredReserveResultTests {
    static let full = ReserveResult(
        reservation: Reservation(
            id: "res-ü", rewardId: "rwd_1", quantity: 3, status: .committed, unitCostPoints: 250,
            createdAt: Instant(millisecondsSince1970: 1_764_500_000_123), expiresAt: Instant(millisecondsSince1970: 1_764_500_900_123),
            settledAt: Instant(millisecondsSince1970: 1_764_500_100_000), memberId: "mbr_1"),
        reward: Reward(
            seq: 12, id: "rwd_1", sku: "GIFT-50", name: "Gift card ☕", description: "Fifty", kind: .giftCard, costPoints: 250,
            unlimitedStock: false, stockAvailable: 7, stockReserved: 3, stockCommitted: 90,
            validFrom: Instant(millisecondsSince1970: 1_700_000_000_000), validUntil: Instant(millisecondsSince1970: 1_800_000_000_000),
            active: true, archived: false, discountPercent: 15, valueCurrency: "EUR", valueMinor: 5_000, productSku: "P-1",
            createdAt: Instant(millisecondsSince1970: 1_700_000_000_001), updatedAt: Instant(millisecondsSince1970: 1_764_500_000_123),
            perMemberLimit: 2, minTier: "GOLD"))

    @Test func theCompactFormKeepsEveryField() throws {
        var sparse = Self.full
        sparse.reservation.settledAt = nil
        sparse.reservation.memberId = nil
        sparse.reward.seq = nil
        (sparse.reward.validFrom, sparse.reward.validUntil, sparse.reward.valueCurrency) = (nil, nil, nil)
        (sparse.reward.valueMinor, sparse.reward.productSku, sparse.reward.minTier) = (nil, nil, nil)
        for result in [Self.full, sparse] {
            #expect(try CompactForm.decode(ReserveResult.self, from: CompactForm.encode(result)) == result)
        }
        let bytes = CompactForm.encode(Self.full)
        for length in 2..<bytes.count {
            #expect(throws: CompactForm.Malformed.self) { try CompactForm.decode(ReserveResult.self, from: Array(bytes[..<length])) }
        }
    }

    /// As for purchases: a field added without its place in the compact
    /// form (ReserveResult+Compact.swift) fails here.
    @Test func everyStoredFieldIsInTheCompactForm() {
        let written: [(Any, Int)] = [(Self.full, 2), (Self.full.reservation, 9), (Self.full.reward, 23)]
        for (value, count) in written {
            #expect(Mirror(reflecting: value).children.count == count, "\(type(of: value)) has fields its compact form does not write")
        }
    }

    @Test func aReservationReplaysFromEitherStoredForm() async throws {
        let catalog = RewardCatalog(database: try .inMemory(), clock: TestClock().wallClock)
        let reward = try await catalog.create(
            CreateRewardRequest(sku: "STORED", name: "Stored", kind: .freeProduct, costPoints: 100, stock: 5, productSku: "COFFEE"))
        let request = ReserveRequest(rewardId: reward.id, quantity: 2, reservationId: "r-stored", memberId: "mbr_1")
        let first = try await catalog.reserve(request)

        #expect(try await storedAnswer(in: catalog.database.writer, scope: "reserve", key: "r-stored")?.first == 0x01)
        #expect(try await catalog.reserve(request) == first)
        try await storeAsJSON(first, in: catalog.database.writer, scope: "reserve", key: "r-stored")
        #expect(try await catalog.reserve(request) == first)
    }
}
