import LaurelShared

extension Laurel_V1_ApiKey {
    var detailRows: [(String, String)] {
        [
            ("key id", keyID),
            ("name", name),
            ("role", role.displayName),
            ("partner", partnerID),
            ("rate limit", rateLimitDisplay),
            ("created", display(createdAt, isSet: hasCreatedAt)),
            ("revoked", display(revokedAt, isSet: hasRevokedAt)),
        ]
    }

    var rateLimitDisplay: String { rateLimitPerSecond == 0 ? "default" : "\(rateLimitPerSecond)/s" }
}

func keysTable(_ keys: [Laurel_V1_ApiKey]) -> TextTable {
    var table = TextTable(["KEY ID", "NAME", "ROLE", "PARTNER", TextTable.Column("RATE LIMIT", .right), "CREATED", "REVOKED"])
    for key in keys {
        table.append([
            key.keyID, key.name, key.role.displayName, key.partnerID, key.rateLimitDisplay,
            display(key.createdAt, isSet: key.hasCreatedAt), display(key.revokedAt, isSet: key.hasRevokedAt),
        ])
    }
    return table
}
