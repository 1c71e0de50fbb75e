import Foundation
import GRDB
import LaurelShared

public enum MemberEventKind: String, Codable, Sendable, CaseIterable {
    case enrolled = "ENROLLED"
    case pointsEarned = "POINTS_EARNED"
    case pointsSpent = "POINTS_SPENT"
    case pointsExpired = "POINTS_EXPIRED"
    case pointsAdjusted = "POINTS_ADJUSTED"
    case pointsRefunded = "POINTS_REFUNDED"
    case pointsReversed = "POINTS_REVERSED"
    case tierChanged = "TIER_CHANGED"
    case redemptionCompleted = "REDEMPTION_COMPLETED"
}

/// Something that happened to a member, stored in the same transaction as the
/// change itself, so the event stream is exactly the committed history. Its
/// id is the stream's resume cursor.
public struct MemberEvent: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "member_event"

    public var id: Int64?
    public var memberId: String
    /// Copied from the member so a partner's stream is one indexed scan.
    public var partnerId: String
    public var kind: MemberEventKind
    public var points: Points
    public var tierFrom: String
    public var tierTo: String
    public var reference: String
    public var redemptionId: String
    public var occurredAt: Instant
    /// For points: the rule that earned or reversed them.
    @Defaulted public var rule: String = ""

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    static func append(
        _ db: Database, _ member: Member, _ kind: MemberEventKind, points: Points = 0, reference: String = "",
        tierFrom: String = "", tierTo: String = "", redemptionId: String = "", rule: String = "", now: Instant
    ) throws {
        var event = MemberEvent(
            memberId: member.id, partnerId: member.partnerId, kind: kind, points: points, tierFrom: tierFrom, tierTo: tierTo,
            reference: reference, redemptionId: redemptionId, occurredAt: now, rule: rule)
        try event.insert(db)
    }

    /// The event a ledger entry implies, if any: holds and their release or
    /// expiry move points between available and held without the member
    /// gaining or spending any.
    static func kind(of entry: LedgerKind) -> MemberEventKind? {
        switch entry {
        case .earn, .bonus: .pointsEarned
        case .adjust: .pointsAdjusted
        case .capture: .pointsSpent
        case .refund: .pointsRefunded
        case .reverse: .pointsReversed
        case .expire: .pointsExpired
        case .hold, .release, .expireHold: nil
        }
    }
}

/// Where a reader of the event stream is: after the event with this id.
public struct EventCursor: Sendable, Equatable {
    public var after: Int64

    public init(after: Int64) {
        self.after = after
    }

    public static func decode(_ text: String) throws -> EventCursor {
        if text.isEmpty { return EventCursor(after: 0) }
        guard text.hasPrefix("ev"), let id = Int64(text.dropFirst(2)), id >= 0 else {
            throw InvalidArgument("after_cursor", "is not a cursor this service returned")
        }
        return EventCursor(after: id)
    }

    public static func encode(_ id: Int64) -> String { "ev\(id)" }
}
