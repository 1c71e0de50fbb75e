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
extension Member {
    public init(row: Row) throws {
        seq = row["seq"]
        id = row["id"]
        externalId = row["external_id"]
        email = row["email"]
        displayName = row["display_name"]
        birthDate = row["birth_date"]
        attributes = try Self.attributes(fromJSON: row["attributes"])
        let statusText: String = row["status"]
        guard let status = MemberStatus(rawValue: statusText) else {
            throw DatabaseError(message: "member \(id) has an unknown status '\(statusText)'")
        }
        self.status = status
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

    public func encode(to container: inout PersistenceContainer) throws {
        container["seq"] = seq
        container["id"] = id
        container["external_id"] = externalId
        container["email"] = email
        container["display_name"] = displayName
        container["birth_date"] = birthDate
        container["attributes"] = try Self.json(attributes)
        container["status"] = status.rawValue
        container["tier"] = tier
        container["available"] = available
        container["held"] = held
        container["lifetime_earned"] = lifetimeEarned
        container["enrolled_at"] = enrolledAt
        container["updated_at"] = updatedAt
        container["partner_id"] = partnerId
        container["debt"] = debt
        container["referral_code"] = referralCode
        container["referred_by"] = referredBy
        container["tier_floor"] = tierFloor
        container["previous_tier"] = previousTier
        container["tier_review_at"] = tierReviewAt
        container["birth_month"] = birthMonth
        container["birthday_bonus_year"] = birthdayBonusYear
        container["last_purchase_at"] = lastPurchaseAt
        container["erased_at"] = erasedAt
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
