import GRDB
import LaurelShared

// Every points change appends a ledger entry and most append an event;
// a purchase also appends a lot, a purchase row and its earnings. All are
// inserted by hand (HandInserted), each `insert(_:)` chosen over GRDB's
// `insert(_:onConflict:)` wherever the record is inserted. Entries and
// events are also encoded by hand, from the same columns, for the same
// reason as the member row (Member+Row.swift); they are read through
// Codable, on paths that list them.

extension LedgerEntry: HandInserted {
    public static let columns = [
        "id", "member_id", "kind", "available_delta", "held_delta", "available_after", "held_after", "reference", "reason",
        "created_at", "debt_delta", "debt_after", "rule", "program_version",
    ]
    public static let insertSQL = insertStatement()

    public var columnValues: [(any DatabaseValueConvertible)?] {
        [
            id, memberId, kind.rawValue, availableDelta, heldDelta, availableAfter, heldAfter, reference, reason, createdAt, debtDelta,
            debtAfter, rule, programVersion,
        ]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        try encodeColumns(to: &container)
    }

    public mutating func insert(_ db: Database) throws {
        id = try insertRow(db)
    }
}

extension MemberEvent: HandInserted {
    public static let columns = [
        "id", "member_id", "partner_id", "kind", "points", "tier_from", "tier_to", "reference", "redemption_id", "occurred_at", "rule",
    ]
    public static let insertSQL = insertStatement()

    public var columnValues: [(any DatabaseValueConvertible)?] {
        [id, memberId, partnerId, kind.rawValue, points, tierFrom, tierTo, reference, redemptionId, occurredAt, rule]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        try encodeColumns(to: &container)
    }

    public mutating func insert(_ db: Database) throws {
        id = try insertRow(db)
    }
}

extension PointLot: HandInserted {
    static let columns = ["id", "member_id", "reference", "earned_at", "expires_at", "points", "remaining"]
    static let insertSQL = insertStatement()

    var columnValues: [(any DatabaseValueConvertible)?] { [id, memberId, reference, earnedAt, expiresAt, points, remaining] }

    mutating func insert(_ db: Database) throws {
        id = try insertRow(db)
    }
}

extension PurchaseRecord: HandInserted {
    static let columns = [
        "order_id", "member_id", "currency_code", "amount_minor", "points_earned", "ledger_entry_id", "occurred_at", "recorded_at",
        "refunded_minor", "points_reversed", "program_version", "cashback_minor", "cashback_reversed_minor",
    ]
    static let insertSQL = insertStatement()

    var columnValues: [(any DatabaseValueConvertible)?] {
        [
            orderId, memberId, currencyCode, amountMinor, pointsEarned, ledgerEntryId, occurredAt, recordedAt, refundedMinor, pointsReversed,
            programVersion, cashbackMinor, cashbackReversedMinor,
        ]
    }

    func insert(_ db: Database) throws {
        try insertRow(db)
    }
}

extension PurchaseEarningRecord: HandInserted {
    static let columns = ["order_id", "line_no", "rule", "program_version", "points", "reversed"]
    static let insertSQL = insertStatement()

    var columnValues: [(any DatabaseValueConvertible)?] { [orderId, lineNo, rule, programVersion, points, reversed] }

    func insert(_ db: Database) throws {
        try insertRow(db)
    }
}

// Every redemption holds points and then captures them, and a hold takes
// them from the member's lots: holds, lots and the record of what a hold
// took from each lot are written and read by hand too, and settling a hold
// (`Settled`) or taking from a lot sets only what changed. GRDB's update set
// every column, rewriting the indexes on `member_id` and checking its
// foreign key each time.

extension Hold: HandInserted {
    public static let columns = [
        "id", "member_id", "points", "status", "reason", "created_at", "expires_at", "settled_at", "redemption_id", "currency_code",
    ]
    public static let insertSQL = insertStatement()

    public var columnValues: [(any DatabaseValueConvertible)?] {
        [id, memberId, points, status.rawValue, reason, createdAt, expiresAt, settledAt, redemptionId, currencyCode]
    }

    public init(row: Row) throws {
        self.init(
            id: row["id"], memberId: row["member_id"], points: row["points"], status: try row.decoded("status", of: "hold"),
            reason: row["reason"], createdAt: row["created_at"], expiresAt: row["expires_at"], settledAt: row["settled_at"],
            redemptionId: row["redemption_id"], currencyCode: row["currency_code"])
    }

    public func insert(_ db: Database) throws {
        try insertRow(db)
    }
}

extension Hold: Settled {}

extension PointLot {
    init(row: Row) {
        self.init(
            id: row["id"], memberId: row["member_id"], reference: row["reference"], earnedAt: row["earned_at"],
            expiresAt: row["expires_at"], points: row["points"], remaining: row["remaining"])
    }

    /// The one change a lot sees after it is made.
    func updateRemaining(_ db: Database) throws {
        try db.cachedStatement(sql: #"UPDATE "point_lot" SET "remaining"=? WHERE "id"=?"#).execute(arguments: [remaining, id])
    }
}

extension HoldLot: HandInserted {
    static let columns = ["hold_id", "lot_id", "points"]
    static let insertSQL = insertStatement()

    var columnValues: [(any DatabaseValueConvertible)?] { [holdId, lotId, points] }

    func insert(_ db: Database) throws {
        try insertRow(db)
    }
}
