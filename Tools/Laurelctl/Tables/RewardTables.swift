import LaurelShared

extension Laurel_V1_Reward {
    var detailRows: [(String, String)] {
        [
            ("reward id", rewardID),
            ("sku", sku),
            ("name", name),
            ("description", description_p),
            ("kind", kind.displayName),
            ("cost points", "\(costPoints)"),
            ("stock", unlimitedStock ? "unlimited" : "\(stockAvailable) available"),
            ("reserved", "\(stockReserved)"),
            ("committed", "\(stockCommitted)"),
            ("valid from", display(validFrom, isSet: hasValidFrom)),
            ("valid until", display(validUntil, isSet: hasValidUntil)),
            ("active", "\(active)"),
            ("archived", "\(archived)"),
            ("discount percent", discountPercent == 0 ? "" : "\(discountPercent)"),
            ("value", hasValue ? value.display : ""),
            ("product sku", productSku),
            ("per member limit", perMemberLimitDisplay),
            ("min tier", minTier),
            ("created", display(createdAt, isSet: hasCreatedAt)),
            ("updated", display(updatedAt, isSet: hasUpdatedAt)),
        ]
    }

    var perMemberLimitDisplay: String { perMemberLimit == 0 ? "none" : "\(perMemberLimit)" }
}

func rewardsTable(_ rewards: [Laurel_V1_Reward]) -> TextTable {
    var table = TextTable([
        "REWARD ID", "SKU", "NAME", "KIND", TextTable.Column("COST", .right), TextTable.Column("AVAILABLE", .right),
        TextTable.Column("RESERVED", .right), TextTable.Column("COMMITTED", .right), "ACTIVE", "VALID FROM",
        "VALID UNTIL", TextTable.Column("LIMIT", .right), "MIN TIER",
    ])
    for reward in rewards {
        table.append([
            reward.rewardID, reward.sku, reward.name, reward.kind.displayName, "\(reward.costPoints)",
            reward.unlimitedStock ? "unlimited" : "\(reward.stockAvailable)", "\(reward.stockReserved)",
            "\(reward.stockCommitted)", reward.archived ? "archived" : "\(reward.active)",
            display(reward.validFrom, isSet: reward.hasValidFrom), display(reward.validUntil, isSet: reward.hasValidUntil),
            reward.perMemberLimitDisplay, reward.minTier,
        ])
    }
    return table
}
