import Foundation
import GRDB
import GRPCCore
import LaurelShared
import Logging

/// Turns points into rewards across the catalog and members services.
///
/// A redemption is a saga: reserve stock → hold points (the two at once when
/// the reward's terms are known) → commit the stock and capture the points.
/// It is written to SQLite before the first remote call, and every remote
/// call is idempotent on ids derived from the redemption, so any step can be
/// repeated after a timeout or a crash. A failure gives back whatever was
/// taken (COMPENSATING → FAILED). docs/redemption-saga.md has the whole story.
public struct Redemptions: Sendable {
    public let database: RedemptionDatabase
    public let catalog: any CatalogPeer
    public let members: any MembersPeer
    public let clock: WallClock
    /// How long the catalog and members keep the stock and points of an
    /// unfinished saga before giving them back on their own.
    public let holdSeconds: Int64
    let logger: Logger
    let outcomes: RedemptionMetrics
    let coordinator = SagaCoordinator()
    let rewardTerms = RewardTerms()
    /// Concurrent writes share one transaction and one fsync.
    let commits: GroupCommit

    public init(
        database: RedemptionDatabase, catalog: any CatalogPeer, members: any MembersPeer,
        clock: WallClock = .system, holdSeconds: Int64 = 300, logger: Logger = Logger(label: "laurel-redemption"),
        metrics: LaurelMetrics = LaurelMetrics(), groupCommitBatch: Int = 256
    ) {
        self.database = database
        self.catalog = catalog
        self.members = members
        self.clock = clock
        self.holdSeconds = holdSeconds
        self.logger = logger
        self.commits = GroupCommit(database.writer, maxBatch: groupCommitBatch, metrics: metrics.storage)
        self.outcomes = metrics.redemptions
    }

    // MARK: Requests

    /// A partner's redemption belongs to that partner, and the points are
    /// held only if the partner enrolled the member.
    public func redeem(_ request: RedeemRequest, scope: AccessScope = .everyone) async throws -> Redemption {
        let memberId = try Validate.identifier(request.memberId, field: "member_id")
        let rewardId = try Validate.identifier(request.rewardId, field: "reward_id")
        let quantity = try Validate.positive(request.quantity, field: "quantity", max: 1000)
        let key = try Validate.identifier(request.idempotencyKey, field: "idempotency_key")
        let now = clock.now

        // `fresh`: this call starts an attempt, rather than joining or
        // finishing an earlier one.
        let (started, fresh): (Redemption, Bool) = try await commits.write { db in
            if var existing = try Redemption.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM redemption WHERE idempotency_key = ?"), arguments: [key])
            {
                guard existing.memberId == memberId, existing.rewardId == rewardId, existing.quantity == quantity,
                    scope.includes(ownerPartnerId: existing.partnerId)
                else {
                    throw IdempotencyKeyReused(field: "idempotency_key", key: key)
                }
                let retried = try Self.startNextAttemptIfRetryable(db, &existing, now: now)
                return (existing, retried)
            }
            var redemption = Redemption(
                id: Identifier.make(prefix: "rdm"), memberId: memberId, rewardId: rewardId, quantity: quantity,
                idempotencyKey: key, step: .pending, attempt: 1, pointsSpent: 0, voucherCode: nil, failure: nil,
                cancelReason: "", createdAt: now, updatedAt: now, partnerId: scope.partnerId)
            try redemption.insert(db)
            redemption.seq = db.lastInsertedRowID
            return (redemption, true)
        }
        FaultInjection.after("pending")
        var finished = try await drive(started.id)
        if finished.step == .failed, let failure = finished.failure, failure.retryable,
            !fresh || failure.reason == RedemptionError.rewardTermsChangedReason
        {
            // An earlier attempt was only now fully given back, or this one
            // was priced on terms that changed meanwhile: this call may try again.
            let restarted = try await commits.write { db in
                var redemption = try Self.redemption(db, started.id)
                return try Self.startNextAttemptIfRetryable(db, &redemption, now: clock.now)
            }
            finished = try await drive(started.id)
            if restarted, finished.step == .failed, finished.failure?.reason == RedemptionError.rewardTermsChangedReason {
                // Changed again meanwhile: the request ends here, failed
                // (counted by the call that started the retry, once).
                outcomes.reached(.failed)
            }
        }
        switch finished.step {
        case .completed, .cancelling, .cancelled:
            return finished
        case .failed:
            throw RedemptionError.failed(redemptionId: finished.id, finished.failure ?? Self.unknownFailure)
        case .pending, .stockReserved, .pointsHeld, .compensating:
            let failure = finished.failure
            throw RedemptionError.peerUnavailable(
                redemptionId: finished.id, peer: failure?.metadata["peer"] ?? "peer", detail: failure?.message ?? "no answer")
        }
    }

    public func redemption(id: String, scope: AccessScope = .everyone) async throws -> Redemption {
        let id = try Validate.identifier(id, field: "redemption_id")
        return try await database.writer.read { db in try Self.redemption(db, id, scope: scope) }
    }

    /// A member's redemptions, newest first.
    /// A partner sees only the redemptions it asked for.
    public func redemptions(memberId: String, pageSize: Int, after token: PageToken?, scope: AccessScope = .everyone) async throws -> Page<Redemption> {
        let memberId = try Validate.identifier(memberId, field: "member_id")
        return try await database.writer.read { db in
            var query = Redemption.filter(Column("member_id") == memberId && Column("seq") < (token?.after ?? Int64.max))
            if case .partner(let partnerId) = scope { query = query.filter(Column("partner_id") == partnerId) }
            let fetched = try query
                .order(Column("seq").desc)
                .limit(pageSize + 1)
                .fetchAll(db)
            return Page(fetched: fetched, pageSize: pageSize) { $0.seq ?? 0 }
        }
    }

    /// Refunds the points and restocks the reward of a completed redemption.
    public func cancel(id: String, reason: String, scope: AccessScope = .everyone) async throws -> Redemption {
        let id = try Validate.identifier(id, field: "redemption_id")
        let reason = try Validate.text(reason, field: "reason", maxLength: 500)
        let now = clock.now
        let started: Redemption = try await commits.write { db in
            var redemption = try Self.redemption(db, id, scope: scope)
            switch redemption.step {
            case .completed:
                if let usedAt = redemption.voucherUsedAt {
                    throw RedemptionError.voucherAlreadyUsed(redemptionId: id, usedAt: usedAt, storeId: redemption.voucherStoreId ?? "")
                }
                redemption.step = .cancelling
                redemption.cancelReason = reason
                redemption.updatedAt = now
                try redemption.update(db)
            case .cancelling, .cancelled:
                break
            case .pending, .stockReserved, .pointsHeld, .compensating, .failed:
                throw RedemptionError.notCompleted(redemptionId: id, status: redemption.status)
            }
            return redemption
        }
        let finished = try await drive(started.id)
        guard finished.step == .cancelled else {
            throw RedemptionError.peerUnavailable(
                redemptionId: id, peer: finished.failure?.metadata["peer"] ?? "peer", detail: finished.failure?.message ?? "no answer")
        }
        return finished
    }

    /// Finishes every saga that nobody is driving: run at start-up, so a crash
    /// leaves nothing half done, and periodically for sagas untouched for
    /// `idleSeconds` (a request driving one keeps touching it).
    ///
    /// A saga whose points are held is driven forward (commit and capture);
    /// one that had not got that far is compensated, since its caller has
    /// given up waiting: the same idempotency key may try again.
    @discardableResult
    public func resumeUnfinished(idleSeconds: Int64 = 0) async throws -> Int {
        let cutoff = clock.now.adding(seconds: -idleSeconds)
        let unfinished: [Redemption] = try await database.writer.read { db in
            try Redemption
                .filter([SagaStep.pending, .stockReserved, .pointsHeld, .compensating, .cancelling].map(\.rawValue).contains(Column("step")))
                .filter(Column("updated_at") <= cutoff)
                .order(Column("seq"))
                .fetchAll(db)
        }
        for redemption in unfinished {
            do {
                _ = try await drive(redemption.id, abandoning: true)
            } catch {
                logger.warning("could not resume redemption", metadata: ["redemption_id": "\(redemption.id)", "error": "\(error)"])
            }
        }
        return unfinished.count
    }

    /// Marks a saga that stopped before its points were held for compensation,
    /// unless it moved on meanwhile.
    private func abandon(_ id: String) async throws {
        let now = clock.now
        try await commits.write { db in
            var redemption = try Self.redemption(db, id)
            guard redemption.step == .pending || redemption.step == .stockReserved else { return }
            redemption.step = .compensating
            redemption.failure = RedemptionFailure(
                code: RPCError.Code.unavailable.rawValue, reason: "INTERRUPTED",
                message: "the redemption was interrupted before it completed and was undone; retry with the same idempotency key",
                metadata: ["redemption_id": id], retryable: true)
            redemption.updatedAt = now
            try redemption.update(db)
        }
    }

    /// Marks a voucher used at the till, exactly once.
    public func useVoucher(code: String, storeId: String, terminalId: String, scope: AccessScope = .everyone) async throws -> Redemption {
        let code = try Validate.identifier(code.uppercased(), field: "voucher_code")
        let storeId = try Validate.identifier(storeId, field: "store_id")
        let terminalId = terminalId.isEmpty ? "" : try Validate.identifier(terminalId, field: "terminal_id")
        let now = clock.now
        return try await commits.write { db in
            guard var redemption = try Redemption.filter(Column("voucher_code") == code).fetchOne(db) else {
                throw RedemptionError.voucherNotFound
            }
            guard scope.includes(ownerPartnerId: redemption.partnerId) else {
                throw AccessError.notInScope(what: "redemption", id: redemption.id)
            }
            switch redemption.voucherStatus {
            case .issued:
                redemption.voucherUsedAt = now
                redemption.voucherStoreId = storeId
                redemption.voucherTerminalId = terminalId
                redemption.updatedAt = now
                try redemption.update(db)
                return redemption
            case .used where redemption.voucherStoreId == storeId && (redemption.voucherTerminalId ?? "") == terminalId:
                return redemption
            case .used:
                throw RedemptionError.voucherAlreadyUsed(
                    redemptionId: redemption.id, usedAt: redemption.voucherUsedAt ?? now, storeId: redemption.voucherStoreId ?? "")
            case .void, nil:
                throw RedemptionError.voucherVoid(redemptionId: redemption.id)
            }
        }
    }

    // MARK: The saga

    /// Through the coordinator, so that only one driver at a time works on a
    /// saga. `abandoning`: a saga that has not held its points yet is
    /// compensated rather than driven forward (recovery's choice).
    private func drive(_ id: String, abandoning: Bool = false) async throws -> Redemption {
        try await coordinator.drive(id) {
            if abandoning { try await self.abandon(id) }
            return try await self.advance(id)
        }
    }

    /// Runs steps until the saga ends, or a peer cannot be reached while
    /// giving something back (then recovery finishes it later).
    func advance(_ id: String) async throws -> Redemption {
        var redemption = try readNow(id)
        while true {
            let current = redemption
            switch current.step {
            case .pending:
                if let terms = rewardTerms.recent(current.rewardId, now: clock.now), case .success(let points) = Self.cost(terms, current.quantity) {
                    redemption = try await reserveAndHold(current, assuming: terms, points: points)
                    continue
                }
                switch await reserve(current) {
                case .success(let stock):
                    switch Self.cost(stock, current.quantity) {
                    case .success(let points):
                        // Steps that succeed are not written until the saga
                        // ends: recovery finds a saga stopped on the way still
                        // PENDING and compensates it, which gives back exactly
                        // what was taken (the reservation and the hold are
                        // named after the redemption, written with it). Two
                        // transactions fewer per redemption, and two fewer
                        // waits. The next write stores the cost.
                        redemption = Self.priced(current, stock, points)
                        FaultInjection.after("stock_reserved")
                    case .failure(let error):
                        redemption = try await save(current, step: .compensating, failure: error.asFailure)
                    }
                case .failure(let error) where error.reason != nil:
                    // Refused as a whole: nothing was taken.
                    redemption = try await save(current, step: .failed, failure: error.asFailure)
                case .failure(let error):
                    redemption = try await save(current, step: .compensating, failure: error.asFailure)
                }

            case .stockReserved:
                switch await hold(current) {
                case .success:
                    // Not written either (above).
                    redemption = current
                    redemption.step = .pointsHeld
                    FaultInjection.after("points_held")
                case .failure(let error): redemption = try await save(current, step: .compensating, failure: error.asFailure)
                }

            case .pointsHeld:
                // Independent and idempotent, so both at once: the saga waits
                // for one round trip instead of two.
                async let stock = attempt { () async throws(PeerError) -> Void in
                    try await catalog.commit(reservationId: current.reservationId)
                    FaultInjection.after("stock_committed")
                }
                async let points = attempt { () async throws(PeerError) -> Void in
                    try await members.capture(holdId: current.holdId)
                }
                switch Self.both(await stock, await points) {
                case .success:
                    redemption = try await complete(current)
                case .failure(.unavailable(let peer, let detail)):
                    // Everything is held, so the way out is forward: the next
                    // attempt (a retry or recovery) repeats commit and capture,
                    // both idempotent, until they succeed or the holds expire.
                    logger.warning("completion interrupted; will retry", metadata: ["redemption_id": "\(id)", "peer": "\(peer)"])
                    return try await save(current, step: .pointsHeld, failure: PeerError.unavailable(peer: peer, detail: detail).asFailure)
                case .failure(let error):
                    redemption = try await save(current, step: .compensating, failure: error.asFailure)
                }

            case .compensating:
                // Both are tried even if one fails, so that what can be given back is.
                let points = await attempt { () async throws(PeerError) -> Void in try await giveBackPoints(current) }
                let stock = await attempt { () async throws(PeerError) -> Void in try await giveBackStock(current) }
                switch (points, stock) {
                case (.success, .success):
                    redemption = try await save(current, step: .failed)
                case (.failure(let error), _), (_, .failure(let error)):
                    logger.warning("compensation incomplete; will retry", metadata: ["redemption_id": "\(id)", "error": "\(error)"])
                    return current
                }

            case .cancelling:
                let refunded = await attempt { () async throws(PeerError) -> Void in
                    try await members.refund(holdId: current.holdId)
                    try await catalog.restock(reservationId: current.reservationId)
                }
                switch refunded {
                case .success:
                    redemption = try await save(current, step: .cancelled)
                case .failure(.unavailable(let peer, let detail)):
                    logger.warning("cancellation incomplete; will retry", metadata: ["redemption_id": "\(id)", "peer": "\(peer)", "detail": "\(detail)"])
                    return try await save(current, step: .cancelling, failure: PeerError.unavailable(peer: peer, detail: detail).asFailure)
                case .failure(let error):
                    throw RedemptionError.failed(redemptionId: id, error.asFailure)
                }

            case .completed, .failed, .cancelled:
                return current
            }
        }
    }

    /// The reservation and the hold sent together, the hold priced on the
    /// terms the reward's last reservation was granted on: a redemption then
    /// waits for one round trip and one commit at a peer fewer. What each
    /// outcome leaves is what the steps one after the other would leave, with
    /// one difference: when the catalog refuses (out of stock, say) while the
    /// points were held, they are released, so the member's statement shows
    /// the hold and its release. The catalog's answer, not the remembered
    /// terms, prices the redemption: terms that changed meanwhile give both
    /// back, and the caller's request tries again on the new ones (`redeem`).
    private func reserveAndHold(_ current: Redemption, assuming terms: ReservedStock, points: Points) async throws -> Redemption {
        let priced = Self.priced(current, terms, points)
        async let reserved = reserve(current)
        async let held = hold(priced)
        let outcome = await (reserved, held)
        if case .success = outcome.0 { FaultInjection.after("stock_reserved") }
        switch outcome {
        case (.success(let granted), _) where granted != terms:
            var failure = RedemptionError.rewardTermsChanged(rewardId: current.rewardId).asFailure
            failure.retryable = true
            return try await save(priced, step: .compensating, failure: failure)
        case (.success, .success):
            FaultInjection.after("points_held")
            var redemption = priced
            redemption.step = .pointsHeld
            return redemption
        case (.success, .failure(let error)):
            return try await save(priced, step: .compensating, failure: error.asFailure)
        case (.failure(let error), .failure(let refusal)) where error.reason != nil && refusal.reason != nil:
            // Both refused: nothing was taken. The catalog's answer is the
            // one the steps in turn would have given.
            return try await save(current, step: .failed, failure: error.asFailure)
        case (.failure(let error), _):
            // The points may be held: they are given back.
            return try await save(current, step: .compensating, failure: error.asFailure)
        }
    }

    /// Reserves the redemption's stock, and keeps the reward's terms for the
    /// next redemption of it (`RewardTerms`).
    private func reserve(_ redemption: Redemption) async -> Result<ReservedStock, PeerError> {
        let reserved = await attempt { () async throws(PeerError) -> ReservedStock in
            try await catalog.reserve(
                rewardId: redemption.rewardId, quantity: redemption.quantity,
                reservationId: redemption.reservationId, memberId: redemption.memberId, ttlSeconds: holdSeconds)
        }
        switch reserved {
        case .success(let terms): rewardTerms.remember(redemption.rewardId, terms, now: clock.now)
        case .failure(let error) where error.reason != nil: rewardTerms.forget(redemption.rewardId)
        case .failure: break
        }
        return reserved
    }

    /// Holds the points a priced redemption costs.
    private func hold(_ redemption: Redemption) async -> Result<Void, PeerError> {
        await attempt { () async throws(PeerError) -> Void in
            try await members.hold(
                memberId: redemption.memberId, holdId: redemption.holdId, points: redemption.pointsSpent,
                ttlSeconds: holdSeconds, reason: "redemption \(redemption.id)", minTier: redemption.minTier ?? "",
                redemptionId: redemption.id, partnerId: redemption.partnerId)
        }
    }

    /// What `quantity` units cost on a reward's terms, refused past the
    /// largest redemption allowed.
    static func cost(_ terms: ReservedStock, _ quantity: Int64) -> Result<Points, RedemptionError> {
        let (points, overflow) = terms.unitCostPoints.multipliedReportingOverflow(by: quantity)
        return overflow || points > 1_000_000_000_000 ? .failure(.pointsLimit(points)) : .success(points)
    }

    /// The redemption with its stock reserved on `terms`, in memory.
    static func priced(_ redemption: Redemption, _ terms: ReservedStock, _ points: Points) -> Redemption {
        var priced = redemption
        priced.step = .stockReserved
        priced.pointsSpent = points
        priced.minTier = terms.minTier.isEmpty ? nil : terms.minTier
        return priced
    }

    /// Two steps taken together: a refusal wins (the saga must give back),
    /// then an unreachable peer (the steps are repeated).
    static func both(_ first: Result<Void, PeerError>, _ second: Result<Void, PeerError>) -> Result<Void, PeerError> {
        switch (first, second) {
        case (.success, .success): .success(())
        case (.failure(let error), _) where error.reason != nil, (_, .failure(let error)) where error.reason != nil: .failure(error)
        case (.failure(let error), _), (_, .failure(let error)): .failure(error)
        }
    }

    private func attempt<T>(_ body: () async throws(PeerError) -> T) async -> Result<T, PeerError> {
        do {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }

    /// Releases the hold, or refunds it if it was already captured.
    private func giveBackPoints(_ redemption: Redemption) async throws(PeerError) {
        do {
            try await members.release(holdId: redemption.holdId)
        } catch .refused(_, "HOLD_NOT_FOUND", _, _) {
            return
        } catch .refused(_, "HOLD_NOT_HELD", _, _) {
            try await members.refund(holdId: redemption.holdId)
        }
    }

    /// Releases the reservation, or restocks it if it was already committed.
    private func giveBackStock(_ redemption: Redemption) async throws(PeerError) {
        do {
            try await catalog.release(reservationId: redemption.reservationId)
        } catch .refused(_, "RESERVATION_NOT_FOUND", _, _) {
            return
        } catch .refused(_, "RESERVATION_NOT_RESERVED", _, _) {
            try await catalog.restock(reservationId: redemption.reservationId)
        }
    }

    /// On the calling thread, as one statement needing no transaction: a
    /// lookup by key costs less than the two thread hops of an async read
    /// (docs/performance.md). Not async, so that the synchronous read is the
    /// one chosen.
    private func readNow(_ id: String) throws -> Redemption {
        try database.lookups.read { db in try Self.redemption(db, id) }
    }

    private func complete(_ redemption: Redemption) async throws -> Redemption {
        let now = clock.now
        let completed = try await commits.write { db in
            var redemption = redemption
            redemption.step = .completed
            redemption.failure = nil
            redemption.updatedAt = now
            // 80 random bits make a clash all but impossible; drawing again costs nothing.
            var code = VoucherCode.make()
            let taken = try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM redemption WHERE voucher_code = ?)")
            while try Bool.fetchOne(taken, arguments: [code]) == true { code = VoucherCode.make() }
            redemption.voucherCode = code
            try redemption.update(db)
            countOutcome(db, reaching: .completed)
            return redemption
        }
        FaultInjection.after("completed")
        return completed
    }

    private func save(
        _ redemption: Redemption, step: SagaStep, failure: RedemptionFailure? = nil,
        _ change: @escaping @Sendable (inout Redemption) -> Void = { _ in }
    ) async throws -> Redemption {
        let now = clock.now
        let saved = try await commits.write { db in
            var redemption = redemption
            redemption.step = step
            if let failure { redemption.failure = failure }
            redemption.updatedAt = now
            change(&redemption)
            try redemption.update(db)
            countOutcome(db, reaching: step, failure: redemption.failure)
            return redemption
        }
        FaultInjection.after(step.rawValue.lowercased())
        return saved
    }

    /// A redemption that failed only because a peer was unreachable may be
    /// tried again under the same key, with fresh reservation and hold ids.
    static func startNextAttemptIfRetryable(_ db: Database, _ redemption: inout Redemption, now: Instant) throws -> Bool {
        guard redemption.step == .failed, redemption.failure?.retryable == true else { return false }
        redemption.attempt += 1
        redemption.step = .pending
        redemption.failure = nil
        redemption.pointsSpent = 0
        redemption.updatedAt = now
        try redemption.update(db)
        return true
    }

    /// On a cached statement, as are the other look-ups of a saga step: a
    /// query built and prepared afresh each time was a tenth of this
    /// service's CPU under load.
    static func redemption(_ db: Database, _ id: String, scope: AccessScope = .everyone) throws -> Redemption {
        guard let redemption = try Redemption.fetchOne(db.cachedStatement(sql: "SELECT * FROM redemption WHERE id = ?"), arguments: [id]) else {
            throw RedemptionError.redemptionNotFound(id)
        }
        guard scope.includes(ownerPartnerId: redemption.partnerId) else { throw AccessError.notInScope(what: "redemption", id: id) }
        return redemption
    }

    static let unknownFailure = RedemptionFailure(code: 2, reason: "UNKNOWN", message: "the redemption failed", metadata: [:], retryable: false)
}

extension PeerError {
    var asFailure: RedemptionFailure {
        switch self {
        case .refused(let code, let reason, let message, let metadata):
            RedemptionFailure(code: code, reason: reason, message: message, metadata: metadata, retryable: false)
        case .unavailable(let peer, let detail):
            RedemptionFailure(
                code: 14, reason: "PEER_UNAVAILABLE", message: "the \(peer) service could not be reached: \(detail)",
                metadata: ["peer": peer], retryable: true)
        }
    }
}

extension RedemptionError {
    var asFailure: RedemptionFailure {
        RedemptionFailure(code: code.rawValue, reason: reason, message: message, metadata: metadata, retryable: false)
    }
}
