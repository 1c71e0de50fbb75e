import ArgumentParser
import LaurelShared
import SwiftProtobuf

/// The filters of `members list`: every one given must hold.
struct SegmentOptions: ParsableArguments {
    @Option(name: .customLong("tier"), help: "A tier code; repeatable (any of them).") var tiers: [String] = []
    @Option(
        name: .customLong("status"),
        help: ArgumentHelp("A status; repeatable (any of them).", valueName: EnumArgument<Laurel_V1_MemberStatus>.allValueStrings.joined(separator: "|")))
    var statuses: [EnumArgument<Laurel_V1_MemberStatus>] = []
    @Option(name: .customLong("enrolled-from"), help: "Enrolled at or after this time (RFC 3339, or a date).") var enrolledFrom: TimestampArgument?
    @Option(name: .customLong("enrolled-before"), help: "Enrolled before this time.") var enrolledBefore: TimestampArgument?
    @Option(name: .customLong("birth-month"), help: "Born in this month, 1...12.") var birthMonth: Int32?
    @Option(name: .customLong("min-available"), help: "At least this many available points.") var minAvailable: Int64?
    @Option(name: .customLong("max-available"), help: "At most this many available points.") var maxAvailable: Int64?
    @Option(name: .customLong("attribute"), help: ArgumentHelp("Has this attribute value, key=value; repeatable.", valueName: "key=value"))
    var attributes: [AttributeArgument] = []
    @Option(name: .customLong("last-purchase-from"), help: "Last purchase at or after this time.") var lastPurchaseFrom: TimestampArgument?
    @Option(name: .customLong("last-purchase-before"), help: "Last purchase before this time.") var lastPurchaseBefore: TimestampArgument?
    @Option(name: .customLong("spend-currency"), help: "The currency of --min-spend and --max-spend.") var spendCurrency: String?
    @Option(name: .customLong("min-spend"), help: "Lifetime spend (net of refunds) at least this, in minor units.") var minSpend: Int64?
    @Option(name: .customLong("max-spend"), help: "Lifetime spend at most this, in minor units.") var maxSpend: Int64?

    func validate() throws {
        if let birthMonth, !(1...12).contains(birthMonth) { throw ValidationError("--birth-month must be 1...12") }
        if (minSpend != nil || maxSpend != nil) != (spendCurrency != nil) {
            throw ValidationError("--spend-currency goes with --min-spend or --max-spend")
        }
    }

    var filter: Laurel_V1_MemberFilter {
        .with {
            $0.tiers = tiers
            $0.statuses = statuses.map(\.value)
            if let enrolledFrom { $0.enrolledFrom = enrolledFrom.timestamp }
            if let enrolledBefore { $0.enrolledBefore = enrolledBefore.timestamp }
            $0.birthMonth = birthMonth ?? 0
            if let minAvailable { $0.minAvailable = minAvailable }
            if let maxAvailable { $0.maxAvailable = maxAvailable }
            $0.attributes = Dictionary(attributes.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
            if let lastPurchaseFrom { $0.lastPurchaseFrom = lastPurchaseFrom.timestamp }
            if let lastPurchaseBefore { $0.lastPurchaseBefore = lastPurchaseBefore.timestamp }
            $0.spendCurrency = spendCurrency ?? ""
            if let minSpend { $0.minLifetimeSpendMinor = minSpend }
            if let maxSpend { $0.maxLifetimeSpendMinor = maxSpend }
        }
    }
}
