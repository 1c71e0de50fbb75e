import GRDB

/// A record settled once after it is made (a hold, a reservation): from
/// then on its status and settlement time are all that change, so that is
/// all its update sets. GRDB's update set every column, rewriting each
/// index on them and checking each foreign key they hold.
public protocol Settled: TableRecord {
    associatedtype Status: RawRepresentable<String>
    var id: String { get }
    var status: Status { get }
    var settledAt: Instant? { get }
}

extension Settled {
    public func updateSettlement(_ db: Database) throws {
        try db.cachedStatement(sql: #"UPDATE "\#(Self.databaseTableName)" SET "status"=?, "settled_at"=? WHERE "id"=?"#)
            .execute(arguments: [status.rawValue, settledAt, id])
    }
}
