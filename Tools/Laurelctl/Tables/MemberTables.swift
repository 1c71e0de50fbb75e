import LaurelShared

extension Laurel_V1_Member {
    var detailRows: [(String, String)] {
        [
            ("member id", memberID),
            ("external id", externalID),
            ("email", email),
            ("name", displayName),
            ("birth date", birthDate),
            ("tier", tier),
            ("status", status.displayName),
            ("partner", partnerID),
            ("attributes", attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")),
            ("enrolled", display(enrolledAt, isSet: hasEnrolledAt)),
            ("updated", display(updatedAt, isSet: hasUpdatedAt)),
        ]
    }
}

func membersTable(_ members: [Laurel_V1_Member]) -> TextTable {
    var table = TextTable(["MEMBER ID", "EXTERNAL ID", "NAME", "EMAIL", "TIER", "STATUS", "PARTNER", "ENROLLED"])
    for member in members {
        table.append([
            member.memberID, member.externalID, member.displayName, member.email, member.tier,
            member.status.displayName, member.partnerID, display(member.enrolledAt, isSet: member.hasEnrolledAt),
        ])
    }
    return table
}

extension Laurel_V1_Balance {
    var detailRows: [(String, String)] {
        [
            ("member id", memberID),
            ("available", "\(available)"),
            ("held", "\(held)"),
            ("lifetime earned", "\(lifetimeEarned)"),
            ("debt", "\(debt)"),
        ]
    }
}

extension Laurel_V1_LedgerEntry {
    /// The entry's own fields; the balance after it is shown by the response's
    /// balance.
    var detailRows: [(String, String)] {
        [
            ("entry", "\(entryID) \(kind.displayName) \(signed(availableDelta))"),
            ("reference", reference),
            ("reason", reason),
        ]
    }
}

func ledgerTable(_ entries: [Laurel_V1_LedgerEntry]) -> TextTable {
    var table = TextTable([
        TextTable.Column("ENTRY", .right), "CREATED", "KIND",
        TextTable.Column("AVAILABLE", .right), TextTable.Column("HELD", .right), TextTable.Column("DEBT", .right),
        TextTable.Column("AVAILABLE AFTER", .right), TextTable.Column("HELD AFTER", .right),
        TextTable.Column("DEBT AFTER", .right), "REFERENCE", "REASON",
    ])
    for entry in entries {
        table.append([
            "\(entry.entryID)", display(entry.createdAt, isSet: entry.hasCreatedAt), entry.kind.displayName,
            signed(entry.availableDelta), signed(entry.heldDelta), signed(entry.debtDelta),
            "\(entry.availableAfter)", "\(entry.heldAfter)", "\(entry.debtAfter)", entry.reference, entry.reason,
        ])
    }
    return table
}

/// Members as CSV (RFC 4180): a header row, then one row per member; the
/// attributes as one JSON-free "key=value;…" column in key order.
func membersCSV(_ members: [Laurel_V1_Member]) -> String {
    var lines = [
        ["member_id", "external_id", "display_name", "email", "birth_date", "tier", "status", "partner_id", "enrolled_at", "attributes"]
    ]
    for member in members {
        lines.append([
            member.memberID, member.externalID, member.displayName, member.email, member.birthDate, member.tier,
            member.status.displayName, member.partnerID, display(member.enrolledAt, isSet: member.hasEnrolledAt),
            member.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";"),
        ])
    }
    return lines.map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
}

/// Quoted when it holds a comma, a quote or a line break; quotes doubled.
/// Bytes, not Characters: "\r\n" is one Character, equal to neither "\r" nor "\n".
func csvField(_ text: String) -> String {
    guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) else {
        return text
    }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
