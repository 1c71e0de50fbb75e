import CatalogService
import Foundation
import LaurelShared
import MembersService
import RedemptionService
import Synchronization

/// The catalog's real domain as redemption's peer, without a network, so the
/// saga can be tested on in-memory databases.
struct LocalCatalogPeer: CatalogPeer {
    let catalog: RewardCatalog
    let outage: Outage
    var hooks = StepHooks()

    func reserve(rewardId: String, quantity: Int64, reservationId: String, memberId: String, ttlSeconds: Int64) async throws(PeerError) -> ReservedStock {
        await hooks.run(\.beforeReserve)
        return try await local(outage, "catalog") {
            let reserved = try await catalog.reserve(ReserveRequest(
                rewardId: rewardId, quantity: quantity, reservationId: reservationId, ttlSeconds: ttlSeconds, memberId: memberId))
            return ReservedStock(unitCostPoints: reserved.reservation.unitCostPoints, minTier: reserved.reward.minTier ?? "")
        }
    }
    func commit(reservationId: String) async throws(PeerError) {
        await hooks.run(\.beforeCommit)
        defer { Task { await hooks.run(\.afterCommit) } }
        try await local(outage, "catalog") { _ = try await catalog.commit(reservationId: reservationId) }
    }
    func release(reservationId: String) async throws(PeerError) { try await local(outage, "catalog") { _ = try await catalog.release(reservationId: reservationId) } }
    func restock(reservationId: String) async throws(PeerError) { try await local(outage, "catalog") { _ = try await catalog.restock(reservationId: reservationId) } }
}

struct LocalMembersPeer: MembersPeer {
    let accounts: MemberAccounts
    let outage: Outage
    var hooks = StepHooks()

    func hold(
        memberId: String, holdId: String, points: Points, ttlSeconds: Int64, reason: String, minTier: String,
        redemptionId: String, partnerId: String
    ) async throws(PeerError) {
        try await local(outage, "members") {
            _ = try await accounts.hold(HoldRequest(
                memberId: memberId, holdId: holdId, points: points, ttlSeconds: ttlSeconds, reason: reason, minTier: minTier,
                redemptionId: redemptionId, partnerId: partnerId))
        }
    }
    func capture(holdId: String) async throws(PeerError) {
        await hooks.run(\.beforeCapture)
        defer { Task { await hooks.run(\.afterCapture) } }
        try await local(outage, "members") { _ = try await accounts.capture(holdId: holdId) }
    }
    func release(holdId: String) async throws(PeerError) { try await local(outage, "members") { _ = try await accounts.release(holdId: holdId) } }
    func refund(holdId: String) async throws(PeerError) { try await local(outage, "members") { _ = try await accounts.refund(holdId: holdId) } }
}

/// What a test does just before or after the saga's calls reach the peers,
/// to decide the order of two calls that run at the same time.
final class StepHooks: Sendable {
    typealias Hook = @Sendable () async -> Void
    struct Hooks {
        var beforeReserve: Hook?
        var beforeCommit: Hook?
        var afterCommit: Hook?
        var beforeCapture: Hook?
        var afterCapture: Hook?
    }
    let hooks = Mutex(Hooks())

    func run(_ which: @Sendable (Hooks) -> Hook?) async {
        if let hook = hooks.withLock({ which($0) }) { await hook() }
    }
}

/// Opens once; whoever waits on it goes on from then.
actor Latch {
    private var isOpen = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func open() {
        isOpen = true
        for continuation in waiting { continuation.resume() }
        waiting = []
    }

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiting.append($0) }
    }
}

/// Makes a peer unreachable on demand: every call fails as a network failure
/// would, before reaching the domain.
final class Outage: Sendable {
    private let down = Mutex(false)
    var isDown: Bool {
        get { down.withLock { $0 } }
        set { down.withLock { $0 = newValue } }
    }
}

private func local<T>(_ outage: Outage, _ peer: String, _ body: () async throws -> T) async throws(PeerError) -> T {
    if outage.isDown { throw .unavailable(peer: peer, detail: "connection refused") }
    do {
        return try await body()
    } catch let error as any LaurelError {
        throw .refused(code: error.code.rawValue, reason: error.reason, message: error.message, metadata: error.metadata)
    } catch {
        throw .unavailable(peer: peer, detail: "\(error)")
    }
}

/// All three domains on in-memory databases, wired together.
struct LocalLaurel {
    let clock = TestClock()
    let metrics = LaurelMetrics()
    let members: MemberAccounts
    let catalog: RewardCatalog
    let redemptions: Redemptions
    let catalogOutage = Outage()
    let membersOutage = Outage()
    let hooks = StepHooks()

    init() throws {
        members = MemberAccounts(database: try .inMemory(), clock: clock.wallClock, metrics: metrics)
        catalog = RewardCatalog(database: try .inMemory(), clock: clock.wallClock)
        redemptions = Redemptions(
            database: try .inMemory(),
            catalog: LocalCatalogPeer(catalog: catalog, outage: catalogOutage, hooks: hooks),
            members: LocalMembersPeer(accounts: members, outage: membersOutage, hooks: hooks),
            clock: clock.wallClock, metrics: metrics)
    }

    /// An active member holding `points`.
    func member(points: Points) async throws -> Member {
        let member = try await members.enroll(EnrollRequest(externalId: uniqueKey("ext")))
        if points > 0 {
            _ = try await members.adjust(AdjustRequest(memberId: member.id, delta: points, reason: "test", requestId: uniqueKey()))
        }
        return member
    }

    /// A reward's stock as (available, reserved, committed).
    func stock(_ reward: Reward) async throws -> (Int64, Int64, Int64) {
        let stock = try await catalog.reward(.id(reward.id))
        return (stock.stockAvailable, stock.stockReserved, stock.stockCommitted)
    }

    func reward(cost: Points, stock: Int64, perMemberLimit: Int = 0, minTier: String = "") async throws -> Reward {
        try await catalog.create(CreateRewardRequest(
            sku: uniqueKey("sku"), name: "Free coffee", kind: .freeProduct, costPoints: cost, stock: stock, productSku: "COFFEE",
            perMemberLimit: perMemberLimit, minTier: minTier))
    }
}
