import Foundation
import GRDB
import LaurelShared

// PLACEHOLDER: replaced by the store-credit work.
extension MemberAccounts {
    func creditCashback(
        _ db: Database, _ member: inout Member, _ purchase: inout PurchaseRecord, eligibleSpendMinor: Int64, program: Program, now: Instant
    ) throws -> Money? { nil }

    func reverseCashback(_ db: Database, _ member: inout Member, _ purchase: inout PurchaseRecord, now: Instant) throws -> Money? { nil }
}
