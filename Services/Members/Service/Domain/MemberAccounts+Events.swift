import Foundation
import GRDB
import LaurelShared

extension MemberAccounts {
    /// Stored events after `cursor`, oldest first, that `scope` may see;
    /// only `memberId`'s when given.
    public func events(after cursor: EventCursor, memberId: String?, scope: AccessScope, limit: Int) async throws -> [MemberEvent] {
        let memberId = try memberId.map { try Validate.identifier($0, field: "member_id") }
        return try await database.writer.read { db in
            var query = MemberEvent.filter(Column("id") > cursor.after)
            if let memberId {
                _ = try Self.member(db, memberId, scope: scope)
                query = query.filter(Column("member_id") == memberId)
            } else if case .partner(let partnerId) = scope {
                query = query.filter(Column("partner_id") == partnerId)
            }
            return try query.order(Column("id")).limit(limit).fetchAll(db)
        }
    }

    /// Calls `deliver` with every event after `cursor` in `scope`, then with
    /// each new one as it is committed, until the feed shuts down or the task
    /// is cancelled. Subscribes before the first read, so nothing committed
    /// in between is missed.
    public func followEvents(
        after cursor: EventCursor, memberId: String?, scope: AccessScope, batchSize: Int = 500,
        deliver: (MemberEvent) async throws -> Void
    ) async throws {
        var cursor = cursor
        let wakeUps = feed.subscribe()
        var iterator = wakeUps.makeAsyncIterator()
        while !Task.isCancelled {
            let batch = try await events(after: cursor, memberId: memberId, scope: scope, limit: batchSize)
            for event in batch {
                try await deliver(event)
                cursor = EventCursor(after: event.id ?? cursor.after)
            }
            if batch.count == batchSize { continue }
            guard await iterator.next() != nil else { return }
        }
    }
}
