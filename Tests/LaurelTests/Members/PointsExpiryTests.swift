import Foundation
import GRDB
import GRPCCore
import LaurelShared
import MembersService
import Testing

/// Points earned in lots that expire by policy, spent oldest first.
@Suite struct PointsExpiryTests {
    let clock = TestClock(Instant(millisecondsSince1970: 1_767_225_600_000))  // 2026-01-01T00:00Z
    let accounts: MemberAccounts

    init() throws {
        accounts = MemberAccounts(database: try .inMemory(), clock: clock.wallClock, expiryPolicy: .days(90))
    }

    func earn(_ memberId: String, _ points: Int64) async throws {
        _ = try await accounts.adjust(AdjustRequest(memberId: memberId, delta: points, reason: "earned", requestId: uniqueKey()))
    }

    @Test func policiesGiveTheFirstInstantPointsAreNoLongerValid() throws {
        let earned = Instant(millisecondsSince1970: 1_771_200_000_000)  // 2026-02-16T00:00Z
        #expect(ExpiryPolicy.never.expiry(of: earned) == nil)
        #expect(try ExpiryPolicy(parsing: "days:30").expiry(of: earned) == earned.adding(seconds: 30 * 86_400))
        #expect(try ExpiryPolicy(parsing: "end-of-month:0").expiry(of: earned)?.date == ISO8601DateFormatter().date(from: "2026-03-01T00:00:00Z"))
        #expect(try ExpiryPolicy(parsing: "end-of-month:12").expiry(of: earned)?.date == ISO8601DateFormatter().date(from: "2027-03-01T00:00:00Z"))
        #expect(try ExpiryPolicy(parsing: "end-of-year:1").expiry(of: earned)?.date == ISO8601DateFormatter().date(from: "2028-01-01T00:00:00Z"))
        for bad in ["", "days", "days:0", "weeks:2", "end-of-month:-1", "never:1"] {
            #expect(throws: InvalidArgument.self) { _ = try ExpiryPolicy(parsing: bad) }
        }
    }

    @Test func spendingTakesTheOldestLotsAndOnlyWhatIsLeftExpires() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: uniqueKey("ext")))
        try await earn(member.id, 100)  // expires day 90
        clock.advance(seconds: 30 * 86_400)
        try await earn(member.id, 50)  // expires day 120
        _ = try await accounts.adjust(AdjustRequest(memberId: member.id, delta: -70, reason: "spent", requestId: "spend"))

        // A hold takes from the oldest lot too, and a release puts the points back there.
        _ = try await accounts.hold(HoldRequest(memberId: member.id, holdId: "h1", points: 40))
        _ = try await accounts.release(holdId: "h1")

        clock.advance(seconds: 45 * 86_400)  // day 75
        var (_, expiring, _) = try await accounts.balanceAndExpiry(memberId: member.id)
        #expect(expiring.within30Days == 30)
        #expect(expiring.nextExpiry == Instant(millisecondsSince1970: 1_767_225_600_000).adding(seconds: 90 * 86_400))
        #expect(try await accounts.expirePoints() == (0, 0))

        clock.advance(seconds: 15 * 86_400)  // day 90: the first lot's last 30 go
        #expect(try await accounts.expirePoints() == (1, 30))
        var balance = try await accounts.balance(memberId: member.id)
        #expect(balance.available == 50)
        (_, expiring, _) = try await accounts.balanceAndExpiry(memberId: member.id)
        #expect(expiring.within30Days == 50)

        clock.advance(seconds: 30 * 86_400)  // day 120
        #expect(try await accounts.expirePoints() == (1, 50))
        balance = try await accounts.balance(memberId: member.id)
        #expect(balance.available == 0)
        #expect(try await accounts.expirePoints() == (0, 0))

        let entries = try await accounts.ledger(memberId: member.id, pageSize: 50, after: nil).items
        #expect(entries.filter { $0.kind == .expire }.map(\.availableDelta) == [-50, -30])
        let events = try await accounts.events(after: EventCursor(after: 0), memberId: member.id, scope: .everyone, limit: 50)
        #expect(events.filter { $0.kind == .pointsExpired }.map(\.points) == [-30, -50])
        try await expectLedgerBalances(accounts.database)
    }

    @Test func heldPointsExpireWithTheirLotOnlyOnceGivenBack() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: uniqueKey("ext")))
        try await earn(member.id, 100)
        _ = try await accounts.hold(HoldRequest(memberId: member.id, holdId: "long", points: 60, ttlSeconds: 604_800))
        clock.advance(seconds: 90 * 86_400)
        // Only the 40 not held expire; the 60 held are not available to expire.
        #expect(try await accounts.expirePoints() == (1, 40))
        _ = try await accounts.release(holdId: "long")
        #expect(try await accounts.balance(memberId: member.id).available == 60)
        // Back in their lot, already past its date: the next sweep takes them.
        #expect(try await accounts.expirePoints() == (1, 60))
        #expect(try await accounts.balance(memberId: member.id).available == 0)
        try await expectLedgerBalances(accounts.database)
    }

    @Test func expiryIsAnOperatorRPCAndGetBalanceShowsWhatIsAboutToExpire() async throws {
        let member = try await accounts.enroll(EnrollRequest(externalId: uniqueKey("ext")))
        try await earn(member.id, 25)
        try await withServer([MemberServiceHandler(accounts: accounts)]) { client, _ in
            let members = MembersClient(wrapping: client)
            var response = try await members.getBalance(.with { $0.memberID = member.id })
            #expect(response.pointsExpiringIn30Days == 0)
            #expect(response.hasNextExpiryAt)
            clock.advance(seconds: 70 * 86_400)
            response = try await members.getBalance(.with { $0.memberID = member.id })
            #expect(response.pointsExpiringIn30Days == 25)
            clock.advance(seconds: 20 * 86_400)
            let expired = try await members.expirePoints(.init())
            #expect(expired.lotsExpired == 1 && expired.pointsExpired == 25)
            response = try await members.getBalance(.with { $0.memberID = member.id })
            #expect(response.balance.available == 0 && !response.hasNextExpiryAt)
            let kinds = try await members.listLedger(.with { $0.memberID = member.id }).entries.map(\.kind)
            #expect(kinds.first == .expire)
        }
    }
}
