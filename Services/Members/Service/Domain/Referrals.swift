import Foundation
import GRDB
import LaurelShared

// PLACEHOLDER: replaced by the referrals and bonuses work.
extension MemberAccounts {
    func applyReferralCode(_ db: Database, _ member: inout Member, code: String, scope: AccessScope, now: Instant) throws {}
    func grantEnrolmentBonus(_ db: Database, _ member: inout Member, program: Program, now: Instant) throws {}
    func rewardReferral(_ db: Database, referee member: inout Member, orderId: String, program: Program, now: Instant) throws {}
}

extension MemberAccounts {
    public func grantBirthdayBonuses(batchSize: Int = 500) async throws -> Int { 0 }
}
