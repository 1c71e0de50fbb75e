import Foundation
import GRDB
import LaurelShared

/// Each step of the saga writes its redemption: through GRDB's update, that
/// was every column, six indexes and a Codable encoding each time, the
/// largest item of the redemption process in profiles. A step sets only
/// what it changed (`NarrowlyUpdated`). Inserts and reads are by hand too
/// (through Codable they were a tenth of the process), with the columns and
/// encodings of the Codable mapping, to which `RedemptionRowTests` holds them.
extension Redemption: NarrowlyUpdated, HandInserted {
    /// Every column but `seq` and `id`, the keys.
    public static let updatedColumns = [
        "member_id", "reward_id", "quantity", "idempotency_key", "step", "attempt", "points_spent", "voucher_code", "failure",
        "cancel_reason", "created_at", "updated_at", "min_tier", "voucher_used_at", "voucher_store_id", "voucher_terminal_id",
        "partner_id",
    ]
    public static let storedValuesSQL = storedValuesStatement()
    /// Every column but `seq`, the rowid, which SQLite assigns.
    public static let columns = ["id"] + updatedColumns
    public static let insertSQL = insertStatement()

    public var columnValues: [(any DatabaseValueConvertible)?] {
        get throws { [id] + (try updatedValues()) }
    }

    public init(row: Row) throws {
        let failureJSON: String? = row["failure"]
        self.init(
            id: row["id"], memberId: row["member_id"], rewardId: row["reward_id"], quantity: row["quantity"],
            idempotencyKey: row["idempotency_key"], step: try row.decoded("step", of: "redemption"), attempt: row["attempt"],
            pointsSpent: row["points_spent"], voucherCode: row["voucher_code"],
            failure: try failureJSON.map { try Self.databaseJSONDecoder(for: "failure").decode(RedemptionFailure.self, from: Data($0.utf8)) },
            cancelReason: row["cancel_reason"], createdAt: row["created_at"], updatedAt: row["updated_at"], minTier: row["min_tier"],
            partnerId: row["partner_id"])
        seq = row["seq"]
        voucherUsedAt = row["voucher_used_at"]
        voucherStoreId = row["voucher_store_id"]
        voucherTerminalId = row["voucher_terminal_id"]
    }

    /// Chosen over GRDB's `insert(_:onConflict:)` wherever a `Redemption`
    /// is inserted; the caller takes `seq` from the connection.
    public func insert(_ db: Database) throws {
        try insertRow(db)
    }

    public func updatedValues() throws -> [DatabaseValue] {
        // The failure as GRDB encodes a nested value: JSON text, by its encoder.
        let failureJSON = try failure.map { String(decoding: try Self.databaseJSONEncoder(for: "failure").encode($0), as: UTF8.self) }
        let values: [(any DatabaseValueConvertible)?] = [
            memberId, rewardId, quantity, idempotencyKey, step.rawValue, attempt, pointsSpent, voucherCode, failureJSON,
            cancelReason, createdAt, updatedAt, minTier, voucherUsedAt, voucherStoreId, voucherTerminalId, partnerId,
        ]
        return values.map { $0?.databaseValue ?? .null }
    }

    /// Chosen over GRDB's `update(_:onConflict:)` wherever a `Redemption` is
    /// updated: sets only what changed, never the keys.
    public func update(_ db: Database) throws {
        try updateChangedColumns(db)
    }
}
