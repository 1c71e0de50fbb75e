import GRDB
import LaurelShared

/// Every redemption reserves stock and then commits it: the reservation is
/// written and read by hand, with the columns and encodings of its Codable
/// mapping (`ReservationRowTests` holds the two together), and settling it
/// sets only its status and time (`Settled`): GRDB's update rewrote the
/// reservation's five indexes and checked its reward's foreign key each time.
extension Reservation: HandInserted {
    public static let columns = [
        "id", "reward_id", "quantity", "status", "unit_cost_points", "created_at", "expires_at", "settled_at", "member_id",
    ]
    public static let insertSQL = insertStatement()

    public var columnValues: [(any DatabaseValueConvertible)?] {
        [id, rewardId, quantity, status.rawValue, unitCostPoints, createdAt, expiresAt, settledAt, memberId]
    }

    public init(row: Row) throws {
        self.init(
            id: row["id"], rewardId: row["reward_id"], quantity: row["quantity"], status: try row.decoded("status", of: "reservation"),
            unitCostPoints: row["unit_cost_points"], createdAt: row["created_at"], expiresAt: row["expires_at"],
            settledAt: row["settled_at"], memberId: row["member_id"])
    }

    public func insert(_ db: Database) throws {
        try insertRow(db)
    }
}

extension Reservation: Settled {}
