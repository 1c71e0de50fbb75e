import GRDB
import LaurelShared

/// Everything members holds about one member (see ExportMemberData).
public struct MemberExport: Sendable {
    public var member: Member
    public var wallets: [CreditWallet]
    /// Oldest first.
    public var ledger: [LedgerEntry]
    public var creditLedger: [CreditEntry]
    public var holds: [Hold]
    public var purchases: [ExportedPurchase]
    public var events: [MemberEvent]
    /// The members this one referred.
    public var referees: [String]
}

public struct ExportedPurchase: Sendable, Equatable {
    public var orderId: String
    public var amount: Money
    public var lines: [PurchaseLine]
    public var pointsEarned: Points
    public var pointsReversed: Points
    public var refunded: Money
    public var occurredAt: Instant
}

extension MemberAccounts {
    public func exportData(memberId: String) async throws -> MemberExport {
        let memberId = try Validate.identifier(memberId, field: "member_id")
        return try await database.writer.read { db in
            let member = try Self.member(db, memberId)
            let byMember = Column("member_id") == memberId
            let lines = Dictionary(
                grouping: try PurchaseLineRecord.fetchAll(
                    db,
                    sql: """
                        SELECT l.* FROM purchase_line l JOIN purchase p ON p.order_id = l.order_id
                        WHERE p.member_id = ? ORDER BY l.order_id, l.line_no
                        """,
                    arguments: [memberId]),
                by: \.orderId)
            let purchases = try PurchaseRecord.filter(byMember).order(Column("occurred_at"), Column("order_id")).fetchAll(db).map { purchase in
                let currency = try Currency(purchase.currencyCode, field: "currency_code")
                return ExportedPurchase(
                    orderId: purchase.orderId, amount: Money(currency: currency, minorUnits: purchase.amountMinor),
                    lines: (lines[purchase.orderId] ?? []).map {
                        PurchaseLine(sku: $0.sku, category: $0.category, quantity: $0.quantity, unitPriceMinor: $0.unitPriceMinor)
                    },
                    pointsEarned: purchase.pointsEarned, pointsReversed: purchase.pointsReversed,
                    refunded: Money(currency: currency, minorUnits: purchase.refundedMinor), occurredAt: purchase.occurredAt)
            }
            return MemberExport(
                member: member,
                wallets: try Self.wallets(db, memberId: memberId),
                ledger: try LedgerEntry.filter(byMember).order(Column("id")).fetchAll(db),
                creditLedger: try CreditEntry.filter(byMember).order(Column("id")).fetchAll(db),
                holds: try Hold.filter(byMember).order(Column("created_at"), Column("id")).fetchAll(db),
                purchases: purchases,
                events: try MemberEvent.filter(byMember).order(Column("id")).fetchAll(db),
                referees: try String.fetchAll(
                    db, sql: "SELECT referee_id FROM referral WHERE referrer_id = ? ORDER BY created_at, referee_id", arguments: [memberId]))
        }
    }

    /// Removes the member's personal data — profile, birth date, attributes,
    /// external id, referral code, and the enrolment request kept for
    /// idempotency — and closes the member, keeping every amount so the
    /// ledger, balances and statistics stay right. Idempotent on
    /// `requestId`; refused while points are held.
    public func erase(memberId: String, requestId: String, reason: String, keyId: String) async throws -> (member: Member, erasedAt: Instant) {
        let memberId = try Validate.identifier(memberId, field: "member_id")
        let requestId = try Validate.identifier(requestId, field: "request_id")
        let reason = try Validate.text(reason, field: "reason", maxLength: 500, required: true)
        let now = clock.now
        return try await write { db in
            if let previous = try ErasureAudit.previous(db, requestId: requestId, memberId: memberId) {
                return (try Self.member(db, memberId), previous.erasedAt)
            }
            var member = try Self.member(db, memberId)
            if member.erasedAt == nil {
                let held = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM hold WHERE member_id = ? AND status = 'HELD'", arguments: [memberId]) ?? 0
                guard held == 0 else { throw ErasureBlocked(memberId: memberId, detail: "\(held) hold(s) are pending") }
                // The enrolment's stored request and answer hold the profile.
                try db.execute(sql: "DELETE FROM idempotency_key WHERE scope = 'enroll' AND key = ?", arguments: [member.externalId])
                member.externalId = "erased:\(member.id)"
                member.email = ""
                member.displayName = ""
                member.birthDate = nil
                member.birthMonth = nil
                member.attributes = [:]
                member.referralCode = nil
                member.status = .closed
                member.erasedAt = now
                member.updatedAt = now
                try member.update(db)
                try Self.saveAttributes(db, member)
            }
            let erasedAt = member.erasedAt ?? now
            try ErasureAudit(requestId: requestId, memberId: memberId, keyId: keyId, reason: reason, erasedAt: erasedAt, anonymised: 1)
                .insert(db)
            return (member, erasedAt)
        }
    }
}
