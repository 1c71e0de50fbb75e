import Foundation
import GRDB
import LaurelShared

/// A member's store credit in one currency, in its minor units: cashback
/// given back on purchases, kept apart from points with a ledger of its own.
public struct CreditWallet: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "credit_wallet"

    public var memberId: String
    public var currencyCode: String
    public var available: Int64
    public var held: Int64
    /// Owed after a refund took back cashback already spent.
    public var debt: Int64
    public var lifetimeEarned: Int64

    static func fetch(_ db: Database, memberId: String, currencyCode: String) throws -> CreditWallet {
        try CreditWallet.fetchOne(db, key: ["member_id": memberId, "currency_code": currencyCode])
            ?? CreditWallet(memberId: memberId, currencyCode: currencyCode, available: 0, held: 0, debt: 0, lifetimeEarned: 0)
    }
}

public enum CreditKind: String, Codable, Sendable, CaseIterable {
    case cashback = "CASHBACK"
    case hold = "HOLD"
    case release = "RELEASE"
    case capture = "CAPTURE"
    case expireHold = "EXPIRE_HOLD"
    case refund = "REFUND"
    case reverse = "REVERSE"
}

/// One change to a wallet. Like the points ledger, entries are only
/// appended, and a wallet's deltas sum to its balances.
public struct CreditEntry: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "credit_entry"

    public var id: Int64?
    public var memberId: String
    public var currencyCode: String
    public var kind: CreditKind
    public var availableDelta: Int64
    public var heldDelta: Int64
    public var availableAfter: Int64
    public var heldAfter: Int64
    public var debtDelta: Int64
    public var debtAfter: Int64
    public var reference: String
    public var reason: String
    public var rule: String
    public var programVersion: Int64
    public var createdAt: Instant

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

extension MemberAccounts {
    /// Gives back the member's current tier's share of the eligible spend, in
    /// the purchase's currency, repaying the wallet's debt first.
    func creditCashback(
        _ db: Database, _ member: inout Member, _ purchase: inout PurchaseRecord, eligibleSpendMinor: Int64, program: Program, now: Instant
    ) throws -> Money? {
        guard let basisPoints = program.rules.tier(member.tier)?.cashbackBasisPoints, basisPoints > 0, eligibleSpendMinor > 0 else { return nil }
        let cashback = Self.share(of: eligibleSpendMinor, Int64(basisPoints), 10_000)
        guard cashback > 0 else { return nil }
        let currency = try Currency(purchase.currencyCode, field: "amount.currency_code")
        var wallet = try CreditWallet.fetch(db, memberId: member.id, currencyCode: currency.code)
        let repaid = min(wallet.debt, cashback)
        try postCredit(
            db, &wallet, kind: .cashback, available: cashback - repaid, debt: -repaid, reference: purchase.orderId, reason: "cashback",
            rule: RuleVersion(rule: "cashback", version: program.version), now: now)
        purchase.cashbackMinor = cashback
        try purchase.update(db)
        return Money(currency: currency, minorUnits: cashback)
    }

    /// Takes back the refunded share of a purchase's cashback, cumulative and
    /// rounded down like points, the refund that completes the purchase
    /// taking the rest. Credit already spent becomes wallet debt.
    func reverseCashback(
        _ db: Database, _ member: inout Member, _ purchase: inout PurchaseRecord, refundId: String, reason: String, now: Instant
    ) throws -> Money? {
        guard purchase.cashbackMinor > 0 else { return nil }
        let owed = purchase.refundedMinor == purchase.amountMinor
            ? purchase.cashbackMinor
            : Self.share(of: purchase.cashbackMinor, purchase.refundedMinor, purchase.amountMinor)
        let delta = owed - purchase.cashbackReversedMinor
        guard delta > 0 else { return nil }
        let currency = try Currency(purchase.currencyCode, field: "amount.currency_code")
        var wallet = try CreditWallet.fetch(db, memberId: member.id, currencyCode: currency.code)
        let taken = min(wallet.available, delta)
        try postCredit(
            db, &wallet, kind: .reverse, available: -taken, debt: delta - taken, reference: refundId, reason: reason,
            rule: RuleVersion(rule: "cashback", version: purchase.programVersion), now: now)
        purchase.cashbackReversedMinor = owed
        return Money(currency: currency, minorUnits: delta)
    }

    /// The only place a wallet changes: applies the deltas and appends the
    /// matching entry, refusing to take any balance below zero. Store credit
    /// is not points: no point lots, events or points metrics.
    @discardableResult
    func postCredit(
        _ db: Database, _ wallet: inout CreditWallet, kind: CreditKind, available: Int64, held: Int64 = 0, debt: Int64 = 0,
        reference: String, reason: String, rule: RuleVersion? = nil, now: Instant
    ) throws -> CreditEntry {
        let (newAvailable, overflowA) = wallet.available.addingReportingOverflow(available)
        let (newHeld, overflowH) = wallet.held.addingReportingOverflow(held)
        let (newDebt, overflowD) = wallet.debt.addingReportingOverflow(debt)
        // As for points: cashback counts in full even when it repays debt, and
        // a reversal takes back what the purchase had counted.
        let credited: Int64 = kind == .cashback || kind == .reverse ? available - debt : 0
        let (newLifetime, overflowL) = wallet.lifetimeEarned.addingReportingOverflow(credited)
        guard !overflowA, !overflowH, !overflowD, !overflowL, newHeld >= 0, newDebt >= 0 else {
            throw MembersError.balanceLimit(memberId: wallet.memberId)
        }
        guard newAvailable >= 0 else {
            throw MembersError.insufficientCredit(
                memberId: wallet.memberId, currency: wallet.currencyCode, available: wallet.available, requested: -available)
        }
        wallet.available = newAvailable
        wallet.held = newHeld
        wallet.debt = newDebt
        wallet.lifetimeEarned = max(0, newLifetime)
        try wallet.save(db)
        var entry = CreditEntry(
            memberId: wallet.memberId, currencyCode: wallet.currencyCode, kind: kind, availableDelta: available, heldDelta: held,
            availableAfter: newAvailable, heldAfter: newHeld, debtDelta: debt, debtAfter: newDebt, reference: reference, reason: reason,
            rule: rule?.rule ?? "", programVersion: rule?.version ?? 0, createdAt: now)
        try entry.insert(db)
        return entry
    }

    /// `settle` for a hold on store credit: the same moves, on the wallet.
    func settleCredit(_ db: Database, _ hold: Hold, as status: HoldStatus, now: Instant) throws {
        var wallet = try CreditWallet.fetch(db, memberId: hold.memberId, currencyCode: hold.currencyCode)
        let amount = hold.points
        switch status {
        case .captured:
            try postCredit(db, &wallet, kind: .capture, available: 0, held: -amount, reference: hold.id, reason: hold.reason, now: now)
        case .released:
            try postCredit(db, &wallet, kind: .release, available: amount, held: -amount, reference: hold.id, reason: hold.reason, now: now)
        case .expired:
            try postCredit(db, &wallet, kind: .expireHold, available: amount, held: -amount, reference: hold.id, reason: hold.reason, now: now)
        case .refunded:
            try postCredit(db, &wallet, kind: .refund, available: amount, reference: hold.id, reason: hold.reason, now: now)
        case .held:
            preconditionFailure("a hold is never settled as HELD")
        }
    }

    /// Every wallet the member has, by currency.
    static func wallets(_ db: Database, memberId: String) throws -> [CreditWallet] {
        try CreditWallet.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM credit_wallet WHERE member_id = ? ORDER BY currency_code"), arguments: [memberId])
    }

    /// One wallet's entries, newest first.
    public func creditLedger(
        memberId: String, currencyCode: String, pageSize: Int, after token: PageToken?, scope: AccessScope = .everyone
    ) async throws -> Page<CreditEntry> {
        let memberId = try Validate.identifier(memberId, field: "member_id")
        let currency = try Currency(currencyCode, field: "currency_code")
        return try await database.writer.read { db in
            _ = try Self.member(db, memberId, scope: scope)
            let fetched = try CreditEntry
                .filter(Column("member_id") == memberId && Column("currency_code") == currency.code && Column("id") < (token?.after ?? Int64.max))
                .order(Column("id").desc)
                .limit(pageSize + 1)
                .fetchAll(db)
            return Page(fetched: fetched, pageSize: pageSize) { $0.id ?? 0 }
        }
    }
}
