import LaurelShared

extension Laurel_V1_Redemption {
    var detailRows: [(String, String)] {
        var rows = [
            ("redemption id", redemptionID),
            ("member id", memberID),
            ("reward id", rewardID),
            ("quantity", "\(quantity)"),
            ("status", status.displayName),
            ("points spent", "\(pointsSpent)"),
            ("voucher code", voucherCode),
            ("voucher status", voucherStatus == .unspecified ? "" : voucherStatus.displayName),
            ("idempotency key", idempotencyKey),
            ("failure reason", failureReason),
            ("cancel reason", cancelReason),
            ("partner", partnerID),
            ("created", display(createdAt, isSet: hasCreatedAt)),
            ("updated", display(updatedAt, isSet: hasUpdatedAt)),
        ]
        if hasVoucherUsedAt {
            rows.append(("voucher used", "\(voucherUsedAt.display) at \(voucherStoreID)/\(voucherTerminalID)"))
        }
        return rows
    }
}

func redemptionsTable(_ redemptions: [Laurel_V1_Redemption]) -> TextTable {
    var table = TextTable([
        "REDEMPTION ID", "CREATED", "REWARD ID", TextTable.Column("QTY", .right), "STATUS",
        TextTable.Column("POINTS", .right), "VOUCHER", "VOUCHER STATUS", "FAILURE",
    ])
    for redemption in redemptions {
        table.append([
            redemption.redemptionID, display(redemption.createdAt, isSet: redemption.hasCreatedAt), redemption.rewardID,
            "\(redemption.quantity)", redemption.status.displayName, "\(redemption.pointsSpent)", redemption.voucherCode,
            redemption.voucherStatus == .unspecified ? "" : redemption.voucherStatus.displayName, redemption.failureReason,
        ])
    }
    return table
}
