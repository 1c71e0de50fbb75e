import GRDB
import LaurelShared

// Every points change appends a ledger entry and most append an event:
// written by hand for the same reason as the member row (Member+Row.swift).
// They are read through Codable, on paths that list them. A purchase also
// appends a lot, a purchase row and its earnings.

extension LedgerEntry {
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["member_id"] = memberId
        container["kind"] = kind.rawValue
        container["available_delta"] = availableDelta
        container["held_delta"] = heldDelta
        container["available_after"] = availableAfter
        container["held_after"] = heldAfter
        container["reference"] = reference
        container["reason"] = reason
        container["created_at"] = createdAt
        container["debt_delta"] = debtDelta
        container["debt_after"] = debtAfter
        container["rule"] = rule
        container["program_version"] = programVersion
    }
}

extension MemberEvent {
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["member_id"] = memberId
        container["partner_id"] = partnerId
        container["kind"] = kind.rawValue
        container["points"] = points
        container["tier_from"] = tierFrom
        container["tier_to"] = tierTo
        container["reference"] = reference
        container["redemption_id"] = redemptionId
        container["occurred_at"] = occurredAt
        container["rule"] = rule
    }
}

// Inserted by hand too (HandInserted): each is chosen over GRDB's
// `insert(_:onConflict:)` wherever the record is inserted.

extension LedgerEntry: HandInserted {
    public static let insertSQL = """
        INSERT INTO ledger_entry (id, member_id, kind, available_delta, held_delta, available_after, held_after, reference, reason,
            created_at, debt_delta, debt_after, rule, program_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    public var insertValues: StatementArguments {
        [
            id, memberId, kind.rawValue, availableDelta, heldDelta, availableAfter, heldAfter, reference, reason, createdAt, debtDelta,
            debtAfter, rule, programVersion,
        ]
    }

    public mutating func insert(_ db: Database) throws {
        id = try insertRow(db)
    }
}

extension MemberEvent: HandInserted {
    public static let insertSQL = """
        INSERT INTO member_event (id, member_id, partner_id, kind, points, tier_from, tier_to, reference, redemption_id, occurred_at, rule)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    public var insertValues: StatementArguments {
        [id, memberId, partnerId, kind.rawValue, points, tierFrom, tierTo, reference, redemptionId, occurredAt, rule]
    }

    public mutating func insert(_ db: Database) throws {
        id = try insertRow(db)
    }
}

extension PointLot: HandInserted {
    static let insertSQL = """
        INSERT INTO point_lot (id, member_id, reference, earned_at, expires_at, points, remaining) VALUES (?, ?, ?, ?, ?, ?, ?)
        """

    var insertValues: StatementArguments { [id, memberId, reference, earnedAt, expiresAt, points, remaining] }

    mutating func insert(_ db: Database) throws {
        id = try insertRow(db)
    }
}

extension PurchaseRecord: HandInserted {
    static let insertSQL = """
        INSERT INTO purchase (order_id, member_id, currency_code, amount_minor, points_earned, ledger_entry_id, occurred_at, recorded_at,
            refunded_minor, points_reversed, program_version, cashback_minor, cashback_reversed_minor)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    var insertValues: StatementArguments {
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
    static let insertSQL = """
        INSERT INTO purchase_earning (order_id, line_no, rule, program_version, points, reversed) VALUES (?, ?, ?, ?, ?, ?)
        """

    var insertValues: StatementArguments { [orderId, lineNo, rule, programVersion, points, reversed] }

    func insert(_ db: Database) throws {
        try insertRow(db)
    }
}
