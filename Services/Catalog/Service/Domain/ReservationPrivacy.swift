import GRDB
import LaurelShared

extension RewardCatalog {
    /// One member's reservations, oldest first.
    public func reservations(ofMember memberId: String) async throws -> [Reservation] {
        let memberId = try Validate.identifier(memberId, field: "member_id")
        return try await database.writer.read { db in
            try Reservation.filter(Column("member_id") == memberId).order(Column("created_at"), Column("id")).fetchAll(db)
        }
    }

    /// Unlinks the member's reservations from them (their member becomes
    /// "erased"), keeping their quantities
    /// for the stock figures. Idempotent on `requestId`; refused while stock
    /// is still reserved for them. Returns how many were unlinked.
    public func eraseReservations(ofMember memberId: String, requestId: String, reason: String, keyId: String) async throws -> Int {
        let memberId = try Validate.identifier(memberId, field: "member_id")
        let requestId = try Validate.identifier(requestId, field: "request_id")
        let now = clock.now
        return try await commits.write { db in
            if let previous = try ErasureAudit.previous(db, requestId: requestId, memberId: memberId) { return Int(previous.anonymised) }
            let reserved = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM reservation WHERE member_id = ? AND status = 'RESERVED'", arguments: [memberId]) ?? 0
            guard reserved == 0 else { throw ErasureBlocked(memberId: memberId, detail: "\(reserved) reservation(s) are pending") }
            try db.execute(sql: "UPDATE reservation SET member_id = 'erased' WHERE member_id = ?", arguments: [memberId])
            let erased = db.changesCount
            try ErasureAudit(requestId: requestId, memberId: memberId, keyId: keyId, reason: reason, erasedAt: now, anonymised: Int64(erased))
                .insert(db)
            return erased
        }
    }
}
