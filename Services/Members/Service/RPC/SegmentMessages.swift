import LaurelShared
import SwiftProtobuf

extension Laurel_V1_MemberFilter {
    func domain() throws -> MemberFilter {
        var filter = MemberFilter()
        filter.tiers = tiers
        filter.statuses = try statuses.map { status in
            guard let status = MemberStatus(status) else { throw InvalidArgument("filter.statuses", "must be ACTIVE, SUSPENDED or CLOSED") }
            return status
        }
        if hasEnrolledFrom { filter.enrolledFrom = try enrolledFrom.validatedInstant(field: "filter.enrolled_from") }
        if hasEnrolledBefore { filter.enrolledBefore = try enrolledBefore.validatedInstant(field: "filter.enrolled_before") }
        filter.birthMonth = Int(birthMonth)
        if hasMinAvailable { filter.minAvailable = minAvailable }
        if hasMaxAvailable { filter.maxAvailable = maxAvailable }
        filter.attributes = attributes
        if hasLastPurchaseFrom { filter.lastPurchaseFrom = try lastPurchaseFrom.validatedInstant(field: "filter.last_purchase_from") }
        if hasLastPurchaseBefore { filter.lastPurchaseBefore = try lastPurchaseBefore.validatedInstant(field: "filter.last_purchase_before") }
        filter.spendCurrency = spendCurrency
        if hasMinLifetimeSpendMinor { filter.minLifetimeSpendMinor = minLifetimeSpendMinor }
        if hasMaxLifetimeSpendMinor { filter.maxLifetimeSpendMinor = maxLifetimeSpendMinor }
        return filter
    }
}
