import GRDB
import LaurelShared

/// Each step of the saga writes its redemption: through GRDB's update, that
/// was every column, six indexes and a Codable encoding each time, the
/// largest item of the redemption process in profiles. A step sets only
/// what it changed (`NarrowlyUpdated`); inserts and reads stay on Codable,
/// whose encodings `updatedValues()` repeats (`RedemptionRowTests`).
extension Redemption: NarrowlyUpdated {
    /// Every column but `seq` and `id`, the keys.
    public static let updatedColumns = [
        "member_id", "reward_id", "quantity", "idempotency_key", "step", "attempt", "points_spent", "voucher_code", "failure",
        "cancel_reason", "created_at", "updated_at", "min_tier", "voucher_used_at", "voucher_store_id", "voucher_terminal_id",
        "partner_id",
    ]
    public static let storedValuesSQL = storedValuesStatement()

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
