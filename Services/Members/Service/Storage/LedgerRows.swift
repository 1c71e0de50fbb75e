import GRDB
import LaurelShared

// Every points change appends a ledger entry and most append an event:
// written by hand for the same reason as the member row (Member+Row.swift).
// They are read through Codable, on paths that list them.

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
