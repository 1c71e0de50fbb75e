import LaurelShared

func statsTables(program: Laurel_V1_ProgramStats, catalog: Laurel_V1_CatalogStats, redemption: Laurel_V1_RedemptionStats) -> [TextTable] {
    let liability = program.hasLiability ? program.liability.display : "(no point value set)"
    var tables: [TextTable] = [
        .details([
            ("members", "\(program.membersTotal)"),
            ("enrolled in range", "\(program.membersEnrolled)"),
            ("active", "\(program.membersActive)"),
            ("points issued", "\(program.pointsIssued)"),
            ("points redeemed", "\(program.pointsRedeemed)"),
            ("points expired", "\(program.pointsExpired)"),
            ("points reversed", "\(program.pointsReversed)"),
            ("points outstanding", "\(program.pointsOutstanding)"),
            ("liability", liability),
            ("redemption rate", String(format: "%.2f%%", Double(program.redemptionRateBasisPoints) / 100)),
            ("rewards", "\(catalog.rewardsTotal) (\(catalog.rewardsActive) active)"),
            ("stock available / reserved", "\(catalog.stockAvailable) / \(catalog.stockReserved)"),
            ("units committed / released", "\(catalog.unitsCommitted) / \(catalog.unitsReleased)"),
            ("redemptions", "\(redemption.redemptionsTotal)"),
            ("points spent on rewards", "\(redemption.pointsSpent)"),
            ("members redeeming", "\(redemption.membersRedeeming)"),
            ("vouchers used", "\(redemption.vouchersUsed)"),
        ])
    ]
    var tiers = TextTable(["TIER", "MEMBERS"])
    for (tier, count) in program.membersByTier.sorted(by: { $0.key < $1.key }) { tiers.append([tier, "\(count)"]) }
    tables.append(tiers)
    var statuses = TextTable(["STATUS", "REDEMPTIONS"])
    for (status, count) in redemption.redemptionsByStatus.sorted(by: { $0.key < $1.key }) { statuses.append([status, "\(count)"]) }
    tables.append(statuses)
    var top = TextTable(["TOP REWARD", "NAME", "REDEMPTIONS", "UNITS", "POINTS"])
    let names = Dictionary(catalog.topRewards.map { ($0.rewardID, $0.name) }, uniquingKeysWith: { first, _ in first })
    for reward in redemption.topRewards {
        top.append([reward.rewardID, names[reward.rewardID] ?? "", "\(reward.redemptions)", "\(reward.units)", "\(reward.points)"])
    }
    tables.append(top)
    return tables
}
