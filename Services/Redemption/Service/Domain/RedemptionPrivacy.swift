import GRDB
import LaurelShared

extension Redemptions {
    /// One member's redemptions, oldest first.
    public func redemptions(ofMember memberId: String) async throws -> [Redemption] {
        let memberId = try Validate.identifier(memberId, field: "member_id")
        return try await database.writer.read { db in
            try Redemption.filter(Column("member_id") == memberId).order(Column("seq")).fetchAll(db)
        }
    }

    /// Refused while a redemption of the member is under way: its saga
    /// still needs to know whose points and stock it holds.
    public func requireNothingInFlight(ofMember memberId: String) async throws {
        let memberId = try Validate.identifier(memberId, field: "member_id")
        try await database.writer.read { db in try Self.requireNothingInFlight(db, memberId: memberId) }
    }

    private static func requireNothingInFlight(_ db: Database, memberId: String) throws {
        let unfinished = try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM redemption WHERE member_id = ? AND step NOT IN (?, ?, ?)",
            arguments: [memberId, SagaStep.completed.rawValue, SagaStep.failed.rawValue, SagaStep.cancelled.rawValue]) ?? 0
        guard unfinished == 0 else { throw ErasureBlocked(memberId: memberId, detail: "\(unfinished) redemption(s) are under way") }
    }

    /// Unlinks the member's redemptions (their member becomes "erased") and
    /// removes their voucher codes, keeping reward, quantity, points and
    /// status so the statistics stay right. Idempotent on `requestId`.
    public func eraseRedemptions(ofMember memberId: String, requestId: String, reason: String, keyId: String) async throws -> (count: Int, erasedAt: Instant) {
        let memberId = try Validate.identifier(memberId, field: "member_id")
        let requestId = try Validate.identifier(requestId, field: "request_id")
        let reason = try Validate.text(reason, field: "reason", maxLength: 500, required: true)
        let now = clock.now
        return try await commits.write { db in
            if let previous = try ErasureAudit.previous(db, requestId: requestId, memberId: memberId) {
                return (Int(previous.anonymised), previous.erasedAt)
            }
            try Self.requireNothingInFlight(db, memberId: memberId)
            try db.execute(
                sql: "UPDATE redemption SET member_id = 'erased', voucher_code = NULL, updated_at = ? WHERE member_id = ?",
                arguments: [now, memberId])
            let erased = db.changesCount
            try ErasureAudit(requestId: requestId, memberId: memberId, keyId: keyId, reason: reason, erasedAt: now, anonymised: Int64(erased))
                .insert(db)
            return (erased, now)
        }
    }
}
