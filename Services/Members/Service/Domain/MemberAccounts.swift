import Foundation
import GRDB
import LaurelShared

/// Enrolment, profiles and the points ledger. Every method is one SQLite
/// transaction: it either commits whole or writes nothing.
public struct MemberAccounts: Sendable {
    public let database: MembersDatabase
    public let clock: WallClock
    /// The programme's rules, versioned in the database.
    public let programs: ProgramBook
    /// Members read in enrolment order before a segment is looked up by an
    /// index instead (see `members(matching:)`); tests make it small.
    public var segmentScanWindow: Int64 = 20_000
    /// Woken after every write, for the event streams.
    public let feed: ChangeFeed
    let pointsMetrics: PointsMetrics
    public let expiryPolicy: ExpiryPolicy
    /// Concurrent writes share one transaction and one fsync.
    let commits: GroupCommit

    /// `groupCommitBatch` is the most writes one transaction takes; 1 turns
    /// group commit off.
    public init(
        database: MembersDatabase, clock: WallClock = .system, program: ProgramRules = .initial(),
        feed: ChangeFeed = ChangeFeed(), metrics: LaurelMetrics = LaurelMetrics(), expiryPolicy: ExpiryPolicy = .never,
        groupCommitBatch: Int = 256
    ) {
        self.database = database
        self.commits = GroupCommit(database.writer, maxBatch: groupCommitBatch, metrics: metrics.storage)
        self.clock = clock
        self.programs = ProgramBook(initial: program)
        self.feed = feed
        self.expiryPolicy = expiryPolicy
        self.pointsMetrics = metrics.points
    }

    /// A write (its own transaction, or its part of a group commit's),
    /// then a wake-up for event readers.
    func write<T: Sendable>(_ updates: @Sendable @escaping (Database) throws -> T) async throws -> T {
        let result = try await commits.write(updates)
        feed.notify()
        return result
    }

    // MARK: Members

    /// A partner's enrolment belongs to that partner.
    public func enroll(_ request: EnrollRequest, scope: AccessScope = .everyone) async throws -> Member {
        let externalId = try Validate.identifier(request.externalId, field: "external_id")
        let email = try Validate.email(request.email)
        let displayName = try Validate.text(request.displayName, field: "display_name", maxLength: 200)
        let birthDate = try request.birthDate.isEmpty ? nil : pastDate(request.birthDate, field: "birth_date")
        let attributes = try Validate.attributes(request.attributes)
        if !request.referralCode.isEmpty { _ = try Validate.identifier(request.referralCode, field: "referral_code") }
        let now = clock.now

        return try await write { db in
            // Another partner's customer: say it exists, but not who it is.
            if case .partner(let partnerId) = scope,
                let owner = try String.fetchOne(db, sql: "SELECT partner_id FROM member WHERE external_id = ?", arguments: [externalId]),
                owner != partnerId
            {
                throw MembersError.memberAlreadyExists(externalId: externalId, memberId: "")
            }
            return try IdempotencyKeys.run(
                db, scope: "enroll", key: externalId, field: "external_id", request: request, now: now,
                conflict: {
                    let existing = try Member.filter(Column("external_id") == externalId).fetchOne(db)
                    return MembersError.memberAlreadyExists(externalId: externalId, memberId: existing?.id ?? "")
                }
            ) {
                let program = try programs.stored(db, now: now)
                var member = Member(
                    id: Identifier.make(prefix: "mbr"), externalId: externalId, email: email, displayName: displayName,
                    birthDate: birthDate, attributes: attributes, status: .active, tier: program.rules.tierOrder.entry,
                    available: 0, held: 0, lifetimeEarned: 0, enrolledAt: now, updatedAt: now, partnerId: scope.partnerId,
                    referralCode: Identifier.randomBase32(count: 10, uppercase: true), birthMonth: birthDate?.month)
                try member.insert(db)
                member.seq = db.lastInsertedRowID
                try Self.saveAttributes(db, member)
                try MemberEvent.append(db, member, .enrolled, tierTo: member.tier, now: now)
                if !request.referralCode.isEmpty {
                    try applyReferralCode(db, &member, code: request.referralCode, scope: scope, now: now)
                }
                try grantEnrolmentBonus(db, &member, program: program, now: now)
                return member
            }
        }
    }

    public func member(_ lookup: MemberLookup, scope: AccessScope = .everyone) async throws -> Member {
        switch lookup {
        case .id(let id):
            _ = try Validate.identifier(id, field: "member_id")
        case .externalId(let id):
            _ = try Validate.identifier(id, field: "external_id")
        }
        return try await database.writer.read { db in
            switch lookup {
            case .id(let id):
                return try Self.member(db, id, scope: scope)
            case .externalId(let externalId):
                guard let member = try Member.filter(Column("external_id") == externalId).fetchOne(db) else {
                    throw MembersError.memberNotFound(externalId)
                }
                try Self.require(member, in: scope)
                return member
            }
        }
    }

    public func update(_ request: UpdateMemberRequest, scope: AccessScope = .everyone) async throws -> Member {
        let memberId = try Validate.identifier(request.memberId, field: "member_id")
        let email = try request.email.map { try Validate.email($0) }
        let displayName = try request.displayName.map { try Validate.text($0, field: "display_name", maxLength: 200) }
        let birthDate: CalendarDate?? = try request.birthDate.map { try $0.isEmpty ? nil : pastDate($0, field: "birth_date") }
        let setAttributes = try Validate.attributes(request.setAttributes, field: "set_attributes")
        if let code = request.referralCode { _ = try Validate.identifier(code, field: "referral_code") }
        let now = clock.now

        return try await write { db in
            var member = try Self.member(db, memberId, scope: scope)
            let program = try programs.stored(db, now: now)
            let tiers = program.rules.tierOrder
            for (field, code) in [("tier", request.tier), ("tier_floor", request.tierFloor)] {
                if let code, !(field == "tier_floor" && code.isEmpty), tiers.rank(of: code) == nil {
                    throw InvalidArgument(field, "must be one of \(tiers.codes.joined(separator: ", "))")
                }
            }
            if let email { member.email = email }
            if let displayName { member.displayName = displayName }
            if let birthDate {
                member.birthDate = birthDate
                member.birthMonth = birthDate?.month
            }
            for key in request.removeAttributes { member.attributes[key] = nil }
            member.attributes.merge(setAttributes) { _, new in new }
            _ = try Validate.attributes(member.attributes, field: "set_attributes")
            if let status = request.status { member.status = status }
            member.updatedAt = now
            try member.update(db)
            if !setAttributes.isEmpty || !request.removeAttributes.isEmpty { try Self.saveAttributes(db, member) }
            if let floor = request.tierFloor { try setTierFloor(db, &member, floor, program: program, now: now) }
            if let tier = request.tier { try assignTier(db, &member, tier, program: program, now: now) }
            if let code = request.referralCode { try applyReferralCode(db, &member, code: code, scope: scope, now: now) }
            return member
        }
    }

    // MARK: Points

    public func recordPurchase(_ request: PurchaseRequest, scope: AccessScope = .everyone) async throws -> PurchaseResult {
        let memberId = try Validate.identifier(request.memberId, field: "member_id")
        let orderId = try Validate.identifier(request.orderId, field: "order_id")
        let currency = try Currency(request.currencyCode, field: "amount.currency_code")
        let amount = Money(currency: currency, minorUnits: try Validate.positive(request.amountMinor, field: "amount.minor_units", max: 10_000_000_000_000))
        guard request.lines.count <= 1000 else { throw InvalidArgument("lines", "must have at most 1000 lines") }
        for (index, line) in request.lines.enumerated() {
            _ = try Validate.identifier(line.sku, field: "lines[\(index)].sku")
            _ = try Validate.text(line.category, field: "lines[\(index)].category", maxLength: 128)
            _ = try Validate.positive(line.quantity, field: "lines[\(index)].quantity", max: 1_000_000)
            guard (0...10_000_000_000_000).contains(line.unitPriceMinor) else {
                throw InvalidArgument("lines[\(index)].unit_price_minor", "must be between 0 and 10000000000000, got \(line.unitPriceMinor)")
            }
        }
        let now = clock.now
        if let occurredAt = request.occurredAt, occurredAt > now.adding(seconds: 300) {
            throw InvalidArgument("occurred_at", "must not be in the future")
        }
        let occurredAt = request.occurredAt ?? now
        let fingerprint = try IdempotencyKeys.Fingerprint(request)

        return try await write { db in
            try IdempotencyKeys.run(db, scope: "purchase", key: orderId, field: "order_id", fingerprint: fingerprint, now: now) {
                var member = try Self.member(db, memberId, scope: scope)
                try Self.requireActive(member)
                member.lastPurchaseAt = max(member.lastPurchaseAt ?? occurredAt, occurredAt)
                try Self.addSpend(db, memberId: memberId, currencyCode: currency.code, amount.minorUnits)
                let program = try programs.stored(db, now: now)
                let earning = EarnCalculator(rules: program.rules, campaigns: try Self.campaigns(db, activeAt: occurredAt))
                    .earning(
                        for: member.earner, amount: amount, lines: request.lines,
                        capRoom: try Self.capRoom(db, memberId: memberId, at: occurredAt, rules: program.rules.earn))
                let entries = try earning.byRule.map { rule in
                    try earn(
                        db, &member, rule.points, reference: orderId, reason: "purchase",
                        rule: RuleVersion(rule: rule.rule, version: program.version), now: now)
                }
                var purchase = PurchaseRecord(
                    orderId: orderId, memberId: memberId, currencyCode: currency.code, amountMinor: amount.minorUnits,
                    pointsEarned: earning.points, ledgerEntryId: entries.first?.id, occurredAt: occurredAt, recordedAt: now,
                    programVersion: program.version)
                try purchase.insert(db)
                for (index, line) in request.lines.enumerated() {
                    try PurchaseLineRecord(
                        orderId: orderId, lineNo: index, sku: line.sku, category: line.category,
                        quantity: line.quantity, unitPriceMinor: line.unitPriceMinor
                    ).insert(db)
                }
                try PurchaseEarningRecord.insert(db, earning, orderId: orderId, version: program.version)
                let cashback = try creditCashback(db, &member, &purchase, eligibleSpendMinor: earning.eligibleSpendMinor, program: program, now: now)
                try reconsiderTier(db, &member, program: program, now: now)
                if entries.isEmpty { try member.update(db) }
                if earning.points > 0 { try rewardReferral(db, referee: &member, orderId: orderId, program: program, now: now) }
                return PurchaseResult(
                    pointsEarned: earning.points, balance: member.balance, entries: entries, earning: earning,
                    programVersion: program.version, cashback: cashback)
            }
        }
    }

    /// What the earning caps still allow a member in the day, ISO week and
    /// month (UTC) of a purchase; nil when there is no cap.
    static func capRoom(_ db: Database, memberId: String, at instant: Instant, rules: EarnRules) throws -> Points? {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var room: Points?
        for (cap, period) in [(rules.dailyCap, Calendar.Component.day), (rules.weeklyCap, .weekOfYear), (rules.monthlyCap, .month)] where cap > 0 {
            guard let interval = calendar.dateInterval(of: period, for: instant.date) else { continue }
            let used = try Points.fetchOne(
                db,
                sql: """
                    SELECT COALESCE(SUM(points_earned - points_reversed), 0) FROM purchase
                    WHERE member_id = ? AND occurred_at >= ? AND occurred_at < ?
                    """,
                arguments: [memberId, Instant(interval.start), Instant(interval.end)]) ?? 0
            room = min(room ?? .max, max(0, cap - used))
        }
        return room
    }

    public func adjust(_ request: AdjustRequest) async throws -> AdjustResult {
        let memberId = try Validate.identifier(request.memberId, field: "member_id")
        let requestId = try Validate.identifier(request.requestId, field: "request_id")
        guard request.delta != 0, (-1_000_000_000_000...1_000_000_000_000).contains(request.delta) else {
            throw InvalidArgument("delta", "must be non-zero and at most 1000000000000 either way, got \(request.delta)")
        }
        let reason = try Validate.text(request.reason, field: "reason", maxLength: 500, required: true)
        let now = clock.now

        return try await write { db in
            try IdempotencyKeys.run(db, scope: "adjust", key: requestId, field: "request_id", request: request, now: now) {
                var member = try Self.member(db, memberId)
                if member.status == .closed { throw MembersError.memberNotActive(memberId: memberId, status: member.status) }
                let entry = try post(
                    db, &member, kind: .adjust, available: request.delta, reference: requestId, reason: reason,
                    rule: RuleVersion(rule: "adjustment", version: 0), now: now)
                return AdjustResult(entry: entry, balance: member.balance)
            }
        }
    }

    /// Reads only the balance columns (and the expiring lots): this is the
    /// hottest call at a till, and decoding the whole profile (attributes are
    /// JSON) would double its cost.
    public func balance(memberId: String, scope: AccessScope = .everyone) async throws -> Balance {
        try await balanceAndExpiry(memberId: memberId, scope: scope).0
    }

    /// The balance, what of it expires soon and the store credit in every
    /// currency, read together.
    public func balanceAndExpiry(
        memberId: String, scope: AccessScope = .everyone
    ) async throws -> (Balance, ExpiringPoints, [CreditWallet]) {
        try readBalance(Validate.identifier(memberId, field: "member_id"), scope: scope, now: clock.now)
    }

    /// Runs on the caller's thread, not as an `await read`: a primary-key
    /// lookup on a cached statement costs less than the two thread hops of an
    /// async read (see docs/performance.md).
    ///
    /// One statement answers the common case, a member without store credit:
    /// SQLite runs a statement on one snapshot, so it needs no transaction,
    /// and BEGIN and COMMIT cost as much as the lookup itself. A member with
    /// wallets is read again in a transaction, wallets included.
    private func readBalance(_ memberId: String, scope: AccessScope, now: Instant) throws -> (Balance, ExpiringPoints, [CreditWallet]) {
        let soon = now.adding(seconds: 30 * 86_400)
        let quick = try database.lookups.read { db in
            try db.lookUpRow(
                cached: """
                    SELECT available, held, lifetime_earned, debt, partner_id,
                        (SELECT COALESCE(SUM(CASE WHEN expires_at <= ?1 THEN remaining ELSE 0 END), 0) FROM point_lot
                            WHERE member_id = ?2 AND remaining > 0 AND expires_at IS NOT NULL),
                        (SELECT MIN(expires_at) FROM point_lot WHERE member_id = ?2 AND remaining > 0 AND expires_at IS NOT NULL),
                        EXISTS (SELECT 1 FROM credit_wallet WHERE member_id = ?2)
                    FROM member WHERE id = ?2
                    """,
                bind: { $0.bind(soon, at: 1); $0.bind(memberId, at: 2) },
                read: { row in
                    (balance: Balance(
                        memberId: memberId, available: row.int64(0), held: row.int64(1), lifetimeEarned: row.int64(2), debt: row.int64(3)),
                     ownerPartnerId: row.string(4) ?? "",
                     expiring: ExpiringPoints(within30Days: row.int64(5), nextExpiry: row.instant(6)),
                     hasWallets: row.bool(7))
                })
        }
        guard let quick else { throw MembersError.memberNotFound(memberId) }
        guard scope.includes(ownerPartnerId: quick.ownerPartnerId) else { throw AccessError.notInScope(what: "member", id: memberId) }
        guard quick.hasWallets else { return (quick.balance, quick.expiring, []) }
        return try database.writer.read { db in
            guard let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT available, held, lifetime_earned, debt FROM member WHERE id = ?"),
                arguments: [memberId])
            else {
                throw MembersError.memberNotFound(memberId)
            }
            let balance = Balance(memberId: memberId, available: row[0], held: row[1], lifetimeEarned: row[2], debt: row[3])
            return (balance, try expiring(db, memberId: memberId, now: now), try Self.wallets(db, memberId: memberId))
        }
    }

    /// Newest first.
    public func ledger(memberId: String, pageSize: Int, after token: PageToken?, scope: AccessScope = .everyone) async throws -> Page<LedgerEntry> {
        let memberId = try Validate.identifier(memberId, field: "member_id")
        return try await database.writer.read { db in
            _ = try Self.member(db, memberId, scope: scope)
            let fetched = try LedgerEntry
                .filter(Column("member_id") == memberId && Column("id") < (token?.after ?? Int64.max))
                .order(Column("id").desc)
                .limit(pageSize + 1)
                .fetchAll(db)
            return Page(fetched: fetched, pageSize: pageSize) { $0.id ?? 0 }
        }
    }

    // MARK: Holds

    public func hold(_ request: HoldRequest) async throws -> HoldResult {
        let memberId = try Validate.identifier(request.memberId, field: "member_id")
        let holdId = try Validate.identifier(request.holdId, field: "hold_id")
        let points: Points
        if let credit = request.credit {
            guard request.points == 0 else { throw InvalidArgument("points", "must be 0 when credit is set, got \(request.points)") }
            points = try Validate.positive(credit.minorUnits, field: "credit.minor_units", max: 10_000_000_000_000)
        } else {
            points = try Validate.positive(request.points, field: "points")
        }
        let ttl = try Validate.ttl(request.ttlSeconds)
        let reason = try Validate.text(request.reason, field: "reason", maxLength: 500)
        let now = clock.now

        let partnerScope: AccessScope = request.partnerId.isEmpty ? .everyone : .partner(request.partnerId)
        let fingerprint = try IdempotencyKeys.Fingerprint(request)
        let result = try await write { db in
            try IdempotencyKeys.run(db, scope: "hold", key: holdId, field: "hold_id", fingerprint: fingerprint, now: now) {
                var member = try Self.member(db, memberId, scope: partnerScope)
                try Self.requireActive(member)
                if !request.minTier.isEmpty {
                    let tiers = try programs.current(db).rules.tierOrder
                    guard let minRank = tiers.rank(of: request.minTier) else { throw MembersError.unknownTier(request.minTier) }
                    if (tiers.rank(of: member.tier) ?? -1) < minRank {
                        throw MembersError.tierTooLow(memberId: memberId, tier: member.tier, minTier: request.minTier)
                    }
                }
                guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM hold WHERE id = ?)"), arguments: [holdId]) != true else {
                    throw IdempotencyKeyReused(field: "hold_id", key: holdId)
                }
                if let credit = request.credit {
                    var wallet = try CreditWallet.fetch(db, memberId: memberId, currencyCode: credit.currency.code)
                    try postCredit(db, &wallet, kind: .hold, available: -points, held: points, reference: holdId, reason: reason, now: now)
                } else {
                    try post(db, &member, kind: .hold, available: -points, held: points, reference: holdId, reason: reason, now: now)
                }
                let hold = Hold(
                    id: holdId, memberId: memberId, points: points, status: .held, reason: reason,
                    createdAt: now, expiresAt: now.adding(seconds: ttl), settledAt: nil, redemptionId: request.redemptionId,
                    currencyCode: request.credit?.currency.code ?? "")
                try hold.insert(db)
                return HoldResult(hold: hold, balance: member.balance)
            }
        }
        FaultInjection.after("hold_committed")
        return result
    }

    /// Spends the held points. Capturing a captured hold returns it unchanged.
    public func capture(holdId: String) async throws -> HoldResult {
        let holdId = try Validate.identifier(holdId, field: "hold_id")
        let now = clock.now
        // An expired hold is given back and that is committed, then refused.
        let outcome: Result<HoldResult, MembersError> = try await write { db in
            var hold = try Self.hold(db, holdId)
            var member = try Self.member(db, hold.memberId)
            switch hold.status {
            case .held where hold.expiresAt <= now:
                try settle(db, &hold, &member, as: .expired, now: now)
                return .failure(.holdExpired(holdId))
            case .held:
                try settle(db, &hold, &member, as: .captured, now: now)
            case .captured, .refunded:
                break
            case .expired:
                return .failure(.holdExpired(holdId))
            case .released:
                return .failure(.holdNotHeld(holdId: holdId, status: hold.status))
            }
            return .success(HoldResult(hold: hold, balance: member.balance))
        }
        FaultInjection.after("capture_committed")
        return try outcome.get()
    }

    /// Gives held points back. Releasing a released or expired hold returns it unchanged.
    public func release(holdId: String) async throws -> HoldResult {
        let holdId = try Validate.identifier(holdId, field: "hold_id")
        let now = clock.now
        return try await write { db in
            var hold = try Self.hold(db, holdId)
            var member = try Self.member(db, hold.memberId)
            switch hold.status {
            case .held:
                try settle(db, &hold, &member, as: .released, now: now)
            case .released, .expired:
                break
            case .captured, .refunded:
                throw MembersError.holdNotHeld(holdId: holdId, status: hold.status)
            }
            return HoldResult(hold: hold, balance: member.balance)
        }
    }

    /// Returns the points of a captured hold. Refunding a refunded hold returns it unchanged.
    public func refund(holdId: String) async throws -> HoldResult {
        let holdId = try Validate.identifier(holdId, field: "hold_id")
        let now = clock.now
        return try await write { db in
            var hold = try Self.hold(db, holdId)
            var member = try Self.member(db, hold.memberId)
            switch hold.status {
            case .captured:
                try settle(db, &hold, &member, as: .refunded, now: now)
            case .refunded:
                break
            case .held, .released, .expired:
                throw MembersError.holdNotCaptured(holdId: holdId, status: hold.status)
            }
            return HoldResult(hold: hold, balance: member.balance)
        }
    }

    /// Gives back the points of holds past their expiry, a batch per
    /// transaction; returns how many expired.
    @discardableResult
    public func expireHolds(batchSize: Int = 500) async throws -> Int {
        let clock = self.clock
        return try await sweepInBatches(database.writer, batchSize: batchSize) { db, limit in
            let now = clock.now
            let due = try Hold
                .filter(Column("status") == HoldStatus.held.rawValue && Column("expires_at") <= now)
                .limit(limit)
                .fetchAll(db)
            for var hold in due {
                var member = try Self.member(db, hold.memberId)
                try settle(db, &hold, &member, as: .expired, now: now)
            }
            return due.count
        }
    }

    public func hold(id: String) async throws -> Hold {
        let holdId = try Validate.identifier(id, field: "hold_id")
        return try await database.writer.read { db in try Self.hold(db, holdId) }
    }

    // MARK: Ledger primitives

    /// The only place balances change: applies the deltas to the member row and
    /// appends the matching ledger entry, refusing to take either balance
    /// below zero.
    /// Every entry that changes what the member has (not just where it is
    /// held) is also a stored event.
    @discardableResult
    func post(
        _ db: Database, _ member: inout Member, kind: LedgerKind, available: Points, held: Points = 0, debt: Points = 0,
        reference: String, reason: String, rule: RuleVersion? = nil, now: Instant
    ) throws -> LedgerEntry {
        let (newAvailable, overflowA) = member.available.addingReportingOverflow(available)
        let (newHeld, overflowH) = member.held.addingReportingOverflow(held)
        let (newDebt, overflowD) = member.debt.addingReportingOverflow(debt)
        // Earnings count in full even when part repays debt; a reversal takes
        // back what the purchase had counted.
        let credited: Points = switch kind {
        case .earn, .bonus, .reverse: available - debt
        case .adjust: max(available, 0)
        default: 0
        }
        let (newLifetime, overflowL) = member.lifetimeEarned.addingReportingOverflow(credited)
        guard !overflowA, !overflowH, !overflowL, !overflowD, newDebt >= 0 else { throw MembersError.balanceLimit(memberId: member.id) }
        guard newAvailable >= 0 else {
            throw MembersError.insufficientPoints(memberId: member.id, available: member.available, requested: -available)
        }
        member.available = newAvailable
        member.held = newHeld
        member.lifetimeEarned = max(0, newLifetime)
        member.debt = newDebt
        member.updatedAt = now
        try member.update(db)
        var entry = LedgerEntry(
            memberId: member.id, kind: kind, availableDelta: available, heldDelta: held,
            availableAfter: newAvailable, heldAfter: newHeld, reference: reference, reason: reason, createdAt: now,
            debtDelta: debt, debtAfter: newDebt, rule: rule?.rule ?? "", programVersion: rule?.version ?? 0)
        try entry.insert(db)
        try moveLots(db, member, kind: kind, available: available, reference: reference, now: now)
        if let event = MemberEvent.kind(of: kind) {
            let points = kind == .capture ? held : available - debt
            try MemberEvent.append(db, member, event, points: points, reference: reference, rule: rule?.rule ?? "", now: now)
        }
        countPoints(db, kind, available: kind == .earn || kind == .bonus ? available - debt : available, held: held)
        return entry
    }

    /// Credits earned points, repaying any debt first.
    @discardableResult
    func earn(
        _ db: Database, _ member: inout Member, _ points: Points, kind: LedgerKind = .earn, reference: String, reason: String,
        rule: RuleVersion, now: Instant
    ) throws -> LedgerEntry {
        let repaid = min(member.debt, points)
        return try post(
            db, &member, kind: kind, available: points - repaid, debt: -repaid, reference: reference, reason: reason, rule: rule, now: now)
    }

    /// Ends a HELD hold: captured spends the points, released and expired give
    /// them back; refunded gives back the points of a captured hold. A hold on
    /// store credit does the same in its wallet and leaves the points alone.
    func settle(_ db: Database, _ hold: inout Hold, _ member: inout Member, as status: HoldStatus, now: Instant) throws {
        if hold.currencyCode.isEmpty {
            try settlePoints(db, hold, &member, as: status, now: now)
        } else {
            try settleCredit(db, hold, as: status, now: now)
        }
        hold.status = status
        hold.settledAt = now
        try hold.updateSettlement(db)
    }

    private func settlePoints(_ db: Database, _ hold: Hold, _ member: inout Member, as status: HoldStatus, now: Instant) throws {
        switch status {
        case .captured:
            try post(db, &member, kind: .capture, available: 0, held: -hold.points, reference: hold.id, reason: hold.reason, now: now)
            if !hold.redemptionId.isEmpty {
                try MemberEvent.append(
                    db, member, .redemptionCompleted, points: -hold.points, reference: hold.id, redemptionId: hold.redemptionId, now: now)
            }
        case .released:
            try post(db, &member, kind: .release, available: hold.points, held: -hold.points, reference: hold.id, reason: hold.reason, now: now)
        case .expired:
            try post(db, &member, kind: .expireHold, available: hold.points, held: -hold.points, reference: hold.id, reason: hold.reason, now: now)
        case .refunded:
            try post(db, &member, kind: .refund, available: hold.points, reference: hold.id, reason: hold.reason, now: now)
        case .held:
            preconditionFailure("a hold is never settled as HELD")
        }
    }

    static func member(_ db: Database, _ id: String, scope: AccessScope = .everyone) throws -> Member {
        // A cached statement: nearly every call reads its member.
        guard let member = try Member.fetchOne(db.cachedStatement(sql: "SELECT * FROM member WHERE id = ?"), arguments: [id]) else {
            throw MembersError.memberNotFound(id)
        }
        try require(member, in: scope)
        return member
    }

    static func require(_ member: Member, in scope: AccessScope) throws {
        guard scope.includes(ownerPartnerId: member.partnerId) else { throw AccessError.notInScope(what: "member", id: member.id) }
    }

    static func hold(_ db: Database, _ id: String) throws -> Hold {
        // Cached: every capture, release and refund reads its hold.
        guard let hold = try Hold.fetchOne(db.cachedStatement(sql: "SELECT * FROM hold WHERE id = ?"), arguments: [id]) else {
            throw MembersError.holdNotFound(id)
        }
        return hold
    }

    static func requireActive(_ member: Member) throws {
        guard member.status == .active else {
            throw MembersError.memberNotActive(memberId: member.id, status: member.status)
        }
    }

    private func pastDate(_ text: String, field: String) throws -> CalendarDate {
        let date = try CalendarDate(parsing: text, field: field)
        guard date <= CalendarDate(clock.now.date) else { throw InvalidArgument(field, "must not be in the future") }
        return date
    }
}
