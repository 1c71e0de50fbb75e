import Foundation
import GRDB
import LaurelShared

/// The rewards catalogue, its stock and reservations. Every method is one
/// SQLite transaction: it either commits whole or writes nothing.
public struct RewardCatalog: Sendable {
    public let database: CatalogDatabase
    public let clock: WallClock
    /// Concurrent writes share one transaction and one fsync.
    let commits: GroupCommit

    public init(
        database: CatalogDatabase, clock: WallClock = .system, metrics: LaurelMetrics = LaurelMetrics(), groupCommitBatch: Int = 256
    ) {
        self.database = database
        self.clock = clock
        self.commits = GroupCommit(database.writer, maxBatch: groupCommitBatch, metrics: metrics.storage)
    }

    // MARK: Rewards

    public func create(_ request: CreateRewardRequest) async throws -> Reward {
        let sku = try Validate.identifier(request.sku, field: "sku")
        let name = try Validate.text(request.name, field: "name", maxLength: 200, required: true)
        let description = try Validate.text(request.description, field: "description", maxLength: 4000)
        let costPoints = try Validate.positive(request.costPoints, field: "cost_points")
        if request.unlimitedStock {
            guard request.stock == 0 else { throw InvalidArgument("stock", "must be 0 when unlimited_stock is set") }
        } else {
            guard (0...1_000_000_000).contains(request.stock) else { throw InvalidArgument("stock", "must be between 0 and 1000000000, got \(request.stock)") }
        }
        try Self.validateWindow(from: request.validFrom, until: request.validUntil)
        let value = try Self.validateValue(request)
        let perMemberLimit = try Self.validateLimit(request.perMemberLimit)
        let minTier = request.minTier.isEmpty ? nil : try Validate.identifier(request.minTier, field: "min_tier")
        let now = clock.now

        return try await commits.write { db in
            try IdempotencyKeys.run(
                db, scope: "create_reward", key: sku, field: "sku", request: request, now: now,
                conflict: {
                    let existing = try Reward.filter(Column("sku") == sku).fetchOne(db)
                    return CatalogError.rewardAlreadyExists(sku: sku, rewardId: existing?.id ?? "")
                }
            ) {
                var reward = Reward(
                    id: Identifier.make(prefix: "rwd"), sku: sku, name: name, description: description, kind: request.kind,
                    costPoints: costPoints, unlimitedStock: request.unlimitedStock, stockAvailable: request.stock,
                    stockReserved: 0, stockCommitted: 0, validFrom: request.validFrom, validUntil: request.validUntil,
                    active: request.active ?? true, archived: false, discountPercent: request.discountPercent,
                    valueCurrency: value?.currency.code, valueMinor: value?.minorUnits,
                    productSku: request.kind == .freeProduct ? request.productSku : nil,
                    createdAt: now, updatedAt: now, perMemberLimit: perMemberLimit, minTier: minTier)
                try reward.insert(db)
                reward.seq = db.lastInsertedRowID
                return reward
            }
        }
    }

    public func reward(_ lookup: RewardLookup) async throws -> Reward {
        switch lookup {
        case .id(let id): _ = try Validate.identifier(id, field: "reward_id")
        case .sku(let sku): _ = try Validate.identifier(sku, field: "sku")
        }
        return try await database.writer.read { db in
            switch lookup {
            case .id(let id):
                return try Self.reward(db, id)
            case .sku(let sku):
                guard let reward = try Reward.filter(Column("sku") == sku).fetchOne(db) else { throw CatalogError.rewardNotFound(sku) }
                return reward
            }
        }
    }

    public func update(_ request: UpdateRewardRequest) async throws -> Reward {
        let rewardId = try Validate.identifier(request.rewardId, field: "reward_id")
        let name = try request.name.map { try Validate.text($0, field: "name", maxLength: 200, required: true) }
        let description = try request.description.map { try Validate.text($0, field: "description", maxLength: 4000) }
        let costPoints = try request.costPoints.map { try Validate.positive($0, field: "cost_points") }
        guard request.stockDelta.magnitude <= 1_000_000_000 else { throw InvalidArgument("stock_delta", "must be between -1000000000 and 1000000000") }
        if request.stockDelta != 0 || !request.requestId.isEmpty {
            _ = try Validate.identifier(request.requestId, field: "request_id")
        }
        if request.validFrom != nil && request.clearValidFrom { throw InvalidArgument("remove_valid_from", "cannot be set together with valid_from") }
        if request.validUntil != nil && request.clearValidUntil { throw InvalidArgument("remove_valid_until", "cannot be set together with valid_until") }
        let perMemberLimit = try request.perMemberLimit.map(Self.validateLimit)
        let minTier = try request.minTier.map { $0.isEmpty ? "" : try Validate.identifier($0, field: "min_tier") }
        let now = clock.now

        return try await commits.write { db in
            let apply = {
                var reward = try Self.reward(db, rewardId)
                guard !reward.archived else { throw CatalogError.rewardArchived(rewardId) }
                if let name { reward.name = name }
                if let description { reward.description = description }
                if let costPoints { reward.costPoints = costPoints }
                if let validFrom = request.validFrom { reward.validFrom = validFrom }
                if let validUntil = request.validUntil { reward.validUntil = validUntil }
                if request.clearValidFrom { reward.validFrom = nil }
                if request.clearValidUntil { reward.validUntil = nil }
                try Self.validateWindow(from: reward.validFrom, until: reward.validUntil)
                if let active = request.active { reward.active = active }
                if let perMemberLimit { reward.perMemberLimit = perMemberLimit }
                if let minTier { reward.minTier = minTier.isEmpty ? nil : minTier }
                if request.stockDelta != 0 {
                    guard !reward.unlimitedStock else { throw CatalogError.unlimitedStock(rewardId) }
                    guard reward.stockAvailable + request.stockDelta >= 0 else {
                        throw CatalogError.outOfStock(rewardId: rewardId, available: reward.stockAvailable, requested: -request.stockDelta)
                    }
                    reward.stockAvailable += request.stockDelta
                }
                reward.updatedAt = now
                try reward.update(db)
                return reward
            }
            if request.requestId.isEmpty { return try apply() }
            return try IdempotencyKeys.run(db, scope: "update_reward", key: request.requestId, field: "request_id", request: request, now: now, body: apply)
        }
    }

    public func rewards(filter: RewardFilter, pageSize: Int, after token: PageToken?) async throws -> Page<Reward> {
        let now = clock.now
        return try await database.writer.read { db in
            var query = Reward.filter(Column("seq") > (token?.after ?? 0))
            if !filter.includeArchived || filter.redeemableOnly { query = query.filter(Column("archived") == false) }
            if filter.redeemableOnly {
                query = query
                    .filter(Column("active") == true)
                    .filter(Column("valid_from") == nil || Column("valid_from") <= now)
                    .filter(Column("valid_until") == nil || Column("valid_until") > now)
                    .filter(Column("unlimited_stock") == true || Column("stock_available") > 0)
            }
            let fetched = try query.order(Column("seq")).limit(pageSize + 1).fetchAll(db)
            return Page(fetched: fetched, pageSize: pageSize) { $0.seq ?? 0 }
        }
    }

    /// Archiving is final and idempotent.
    public func archive(rewardId: String) async throws -> Reward {
        let rewardId = try Validate.identifier(rewardId, field: "reward_id")
        let now = clock.now
        return try await commits.write { db in
            var reward = try Self.reward(db, rewardId)
            if !reward.archived {
                reward.archived = true
                reward.active = false
                reward.updatedAt = now
                try reward.update(db)
            }
            return reward
        }
    }

    // MARK: Reservations

    public func reserve(_ request: ReserveRequest) async throws -> ReserveResult {
        let rewardId = try Validate.identifier(request.rewardId, field: "reward_id")
        let reservationId = try Validate.identifier(request.reservationId, field: "reservation_id")
        let quantity = try Validate.positive(request.quantity, field: "quantity", max: 1_000_000)
        let ttl = try Validate.ttl(request.ttlSeconds)
        let memberId = request.memberId.isEmpty ? nil : try Validate.identifier(request.memberId, field: "member_id")
        let now = clock.now

        let fingerprint = try IdempotencyKeys.Fingerprint(request)
        let result = try await commits.write { db in
            try IdempotencyKeys.run(db, scope: "reserve", key: reservationId, field: "reservation_id", fingerprint: fingerprint, now: now) {
                guard try Bool.fetchOne(
                    db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM reservation WHERE id = ?)"), arguments: [reservationId]) != true
                else {
                    throw IdempotencyKeyReused(field: "reservation_id", key: reservationId)
                }
                var reward = try Self.reward(db, rewardId)
                if let why = reward.unavailability(at: now) { throw CatalogError.rewardNotAvailable(rewardId: rewardId, why: why) }
                if reward.perMemberLimit > 0 {
                    guard let memberId else {
                        throw InvalidArgument("member_id", "is required: reward \(rewardId) limits the units each member may redeem")
                    }
                    // Counted in the same transaction as the reservation, so concurrent redemptions cannot both fit.
                    let held = try Int64.fetchOne(db, sql: """
                        SELECT COALESCE(SUM(quantity), 0) FROM reservation
                        WHERE reward_id = ? AND member_id = ? AND status IN ('RESERVED', 'COMMITTED')
                        """, arguments: [rewardId, memberId]) ?? 0
                    guard held + quantity <= Int64(reward.perMemberLimit) else {
                        throw CatalogError.perMemberLimitReached(rewardId: rewardId, memberId: memberId, limit: reward.perMemberLimit, held: held)
                    }
                }
                if !reward.unlimitedStock {
                    guard reward.stockAvailable >= quantity else {
                        throw CatalogError.outOfStock(rewardId: rewardId, available: reward.stockAvailable, requested: quantity)
                    }
                    reward.stockAvailable -= quantity
                }
                reward.stockReserved += quantity
                reward.updatedAt = now
                try reward.update(db)
                let reservation = Reservation(
                    id: reservationId, rewardId: rewardId, quantity: quantity, status: .reserved,
                    unitCostPoints: reward.costPoints, createdAt: now,
                    expiresAt: now.adding(seconds: ttl), settledAt: nil, memberId: memberId)
                try reservation.insert(db)
                return ReserveResult(reservation: reservation, reward: reward)
            }
        }
        FaultInjection.after("reserve_committed")
        return result
    }

    /// Gives the reserved units out for good. Committing twice returns the
    /// reservation unchanged; an expired one is refused.
    public func commit(reservationId: String) async throws -> Reservation {
        let reservationId = try Validate.identifier(reservationId, field: "reservation_id")
        let now = clock.now
        // An expired reservation is given back and that is committed, then refused.
        let outcome: Result<Reservation, CatalogError> = try await commits.write { db in
            var reservation = try Self.reservation(db, reservationId)
            switch reservation.status {
            case .reserved where reservation.expiresAt <= now:
                try Self.settle(db, &reservation, as: .expired, now: now)
                return .failure(.reservationExpired(reservationId))
            case .reserved:
                try Self.settle(db, &reservation, as: .committed, now: now)
            case .committed, .restocked:
                break
            case .expired:
                return .failure(.reservationExpired(reservationId))
            case .released:
                return .failure(.reservationNotReserved(reservationId: reservationId, status: reservation.status))
            }
            return .success(reservation)
        }
        FaultInjection.after("commit_committed")
        return try outcome.get()
    }

    /// Returns reserved units to stock. Releasing a released or expired
    /// reservation returns it unchanged.
    public func release(reservationId: String) async throws -> Reservation {
        let reservationId = try Validate.identifier(reservationId, field: "reservation_id")
        let now = clock.now
        return try await commits.write { db in
            var reservation = try Self.reservation(db, reservationId)
            switch reservation.status {
            case .reserved:
                try Self.settle(db, &reservation, as: .released, now: now)
            case .released, .expired:
                break
            case .committed, .restocked:
                throw CatalogError.reservationNotReserved(reservationId: reservationId, status: reservation.status)
            }
            return reservation
        }
    }

    /// Returns committed units to stock (a cancelled redemption). Restocking
    /// twice returns the reservation unchanged.
    public func restock(reservationId: String) async throws -> Reservation {
        let reservationId = try Validate.identifier(reservationId, field: "reservation_id")
        let now = clock.now
        return try await commits.write { db in
            var reservation = try Self.reservation(db, reservationId)
            switch reservation.status {
            case .committed:
                try Self.settle(db, &reservation, as: .restocked, now: now)
            case .restocked:
                break
            case .reserved, .released, .expired:
                throw CatalogError.reservationNotCommitted(reservationId: reservationId, status: reservation.status)
            }
            return reservation
        }
    }

    public func reservation(id: String) async throws -> Reservation {
        let reservationId = try Validate.identifier(id, field: "reservation_id")
        return try await database.writer.read { db in try Self.reservation(db, reservationId) }
    }

    /// Returns the stock of reservations past their expiry, a batch per
    /// transaction; returns how many expired.
    @discardableResult
    public func expireReservations(batchSize: Int = 500) async throws -> Int {
        let clock = self.clock
        return try await sweepInBatches(database.writer, batchSize: batchSize) { db, limit in
            let now = clock.now
            let due = try Reservation
                .filter(Column("status") == ReservationStatus.reserved.rawValue && Column("expires_at") <= now)
                .limit(limit)
                .fetchAll(db)
            for var reservation in due {
                try Self.settle(db, &reservation, as: .expired, now: now)
            }
            return due.count
        }
    }

    // MARK: Primitives

    /// The only place stock moves between the reward's counters.
    static func settle(_ db: Database, _ reservation: inout Reservation, as status: ReservationStatus, now: Instant) throws {
        var reward = try Self.reward(db, reservation.rewardId)
        let quantity = reservation.quantity
        switch status {
        case .committed:
            reward.stockReserved -= quantity
            reward.stockCommitted += quantity
        case .released, .expired:
            reward.stockReserved -= quantity
            if !reward.unlimitedStock { reward.stockAvailable += quantity }
        case .restocked:
            reward.stockCommitted -= quantity
            if !reward.unlimitedStock { reward.stockAvailable += quantity }
        case .reserved:
            preconditionFailure("a reservation is never settled as RESERVED")
        }
        reward.updatedAt = now
        try reward.update(db)
        reservation.status = status
        reservation.settledAt = now
        try reservation.updateSettlement(db)
    }

    /// Cached statements: every reservation reads both.
    static func reward(_ db: Database, _ id: String) throws -> Reward {
        guard let reward = try Reward.fetchOne(db.cachedStatement(sql: "SELECT * FROM reward WHERE id = ?"), arguments: [id]) else {
            throw CatalogError.rewardNotFound(id)
        }
        return reward
    }

    static func reservation(_ db: Database, _ id: String) throws -> Reservation {
        guard let reservation = try Reservation.fetchOne(db.cachedStatement(sql: "SELECT * FROM reservation WHERE id = ?"), arguments: [id])
        else { throw CatalogError.reservationNotFound(id) }
        return reservation
    }

    static func validateLimit(_ limit: Int) throws(InvalidArgument) -> Int {
        guard (0...1_000_000).contains(limit) else { throw InvalidArgument("per_member_limit", "must be between 0 and 1000000, got \(limit)") }
        return limit
    }

    static func validateWindow(from: Instant?, until: Instant?) throws(InvalidArgument) {
        if let from, let until, from >= until {
            throw InvalidArgument("valid_until", "must be after valid_from")
        }
    }

    /// Each kind carries exactly the value fields it needs.
    static func validateValue(_ request: CreateRewardRequest) throws(InvalidArgument) -> Money? {
        let kind = request.kind
        if kind == .discountPercent {
            guard (1...100).contains(request.discountPercent) else {
                throw InvalidArgument("discount_percent", "must be between 1 and 100 for DISCOUNT_PERCENT, got \(request.discountPercent)")
            }
        } else if request.discountPercent != 0 {
            throw InvalidArgument("discount_percent", "applies only to DISCOUNT_PERCENT")
        }
        if kind == .freeProduct {
            _ = try Validate.identifier(request.productSku, field: "product_sku")
        } else if !request.productSku.isEmpty {
            throw InvalidArgument("product_sku", "applies only to FREE_PRODUCT")
        }
        if kind.hasMoneyValue {
            let currency = try Currency(request.valueCurrency, field: "value.currency_code")
            return Money(currency: currency, minorUnits: try Validate.positive(request.valueMinor, field: "value.minor_units"))
        }
        guard request.valueCurrency.isEmpty, request.valueMinor == 0 else {
            throw InvalidArgument("value", "applies only to DISCOUNT_AMOUNT, GIFT_CARD and CASHBACK")
        }
        return nil
    }
}
