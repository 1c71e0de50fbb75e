import Foundation
import GRDB
import LaurelShared

/// The member row, mapped by hand. Nearly every call reads its member and
/// every points change writes it back; through Codable that cost a decoder
/// per row, a key conversion per column and the attributes through
/// Foundation's JSON each time: an eighth of a purchase's CPU in profiles.
/// The columns and their encodings are the ones the Codable mapping used
/// (the attributes as sorted-key JSON text, as GRDB writes them), so rows
/// written either way read the same; `MemberRowTests` holds both to it.
extension Member: NarrowlyUpdated {
    public init(row: Row) throws {
        seq = row["seq"]
        id = row["id"]
        externalId = row["external_id"]
        email = row["email"]
        displayName = row["display_name"]
        birthDate = row["birth_date"]
        attributes = try Self.attributes(fromJSON: row["attributes"])
        status = try row.decoded("status", of: "member")
        tier = row["tier"]
        available = row["available"]
        held = row["held"]
        lifetimeEarned = row["lifetime_earned"]
        enrolledAt = row["enrolled_at"]
        updatedAt = row["updated_at"]
        partnerId = row["partner_id"]
        debt = row["debt"]
        referralCode = row["referral_code"]
        referredBy = row["referred_by"]
        tierFloor = row["tier_floor"]
        previousTier = row["previous_tier"]
        tierReviewAt = row["tier_review_at"]
        birthMonth = row["birth_month"]
        birthdayBonusYear = row["birthday_bonus_year"]
        lastPurchaseAt = row["last_purchase_at"]
        erasedAt = row["erased_at"]
    }

    /// Every column, in the order of `columnValues()`.
    static let columns = ["seq", "id"] + updatedColumns

    /// The row's values, in the order of `columns`: the one mapping that
    /// GRDB's insert (through `encode(to:)`) and `update(_:)` both use.
    func columnValues() throws -> [DatabaseValue] {
        [
            seq.databaseValue, id.databaseValue, externalId.databaseValue, email.databaseValue, displayName.databaseValue,
            birthDate.databaseValue, try Self.json(attributes).databaseValue, status.rawValue.databaseValue, tier.databaseValue,
            available.databaseValue, held.databaseValue, lifetimeEarned.databaseValue, enrolledAt.databaseValue,
            updatedAt.databaseValue, partnerId.databaseValue, debt.databaseValue, referralCode.databaseValue,
            referredBy.databaseValue, tierFloor.databaseValue, previousTier.databaseValue, tierReviewAt.databaseValue,
            birthMonth.databaseValue, birthdayBonusYear.databaseValue, lastPurchaseAt.databaseValue, erasedAt.databaseValue,
        ]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        for (column, value) in zip(Self.columns, try columnValues()) { container[column] = value }
    }

    /// Every column but `seq` and `id`, the keys. Ten tables reference
    /// `member.id`, and SQLite checks their foreign keys on every UPDATE that
    /// sets it, even to the same value: it walks each child table's rows of
    /// the member (all of `hold`, which has no index on it), so GRDB's
    /// all-columns update made each points change cost as much as the
    /// member's history. `MemberRowTests` holds this list to the table.
    public static let updatedColumns = [
        "external_id", "email", "display_name", "birth_date", "attributes", "status", "tier", "available", "held",
        "lifetime_earned", "enrolled_at", "updated_at", "partner_id", "debt", "referral_code", "referred_by",
        "tier_floor", "previous_tier", "tier_review_at", "birth_month", "birthday_bonus_year", "last_purchase_at",
        "erased_at",
    ]

    public static let storedValuesSQL = storedValuesStatement()

    public func updatedValues() throws -> [DatabaseValue] {
        Array(try columnValues().dropFirst(2))
    }

    /// Chosen over GRDB's `update(_:onConflict:)` wherever a `Member` is
    /// updated: sets only what changed, never the keys (`NarrowlyUpdated`).
    /// The member has nine indexes, and a points change touches two of them.
    public func update(_ db: Database) throws {
        try updateChangedColumns(db)
    }

    /// Most members have no attributes: "{}" either way, without Foundation.
    static func json(_ attributes: [String: String]) throws -> String {
        if attributes.isEmpty { return "{}" }
        return String(decoding: try attributesEncoder.encode(attributes), as: UTF8.self)
    }

    static func attributes(fromJSON text: String) throws -> [String: String] {
        if text == "{}" { return [:] }
        return try attributesDecoder.decode([String: String].self, from: Data(text.utf8))
    }

    private static let attributesEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    private static let attributesDecoder = JSONDecoder()
}
