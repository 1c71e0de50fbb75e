import GRDB
import GRPCCore
import LaurelShared
import MembersService
import Testing

/// The members invariant: for every member, the ledger's deltas sum to the
/// balances (and the debt) in the member row, and none is negative; the same
/// for every store-credit wallet (see `expectCreditBalances`).
func expectLedgerBalances(_ database: MembersDatabase, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let mismatches = try database.writer.read { db in
        try Row.fetchAll(db, sql: """
            SELECT m.id, m.available, m.held, m.debt,
                   COALESCE(SUM(l.available_delta), 0) AS ledger_available,
                   COALESCE(SUM(l.held_delta), 0) AS ledger_held,
                   COALESCE(SUM(l.debt_delta), 0) AS ledger_debt
            FROM member m LEFT JOIN ledger_entry l ON l.member_id = m.id
            GROUP BY m.id
            HAVING m.available != ledger_available OR m.held != ledger_held OR m.debt != ledger_debt
                OR m.available < 0 OR m.held < 0 OR m.debt < 0
            """)
    }
    #expect(mismatches.isEmpty, "ledger and balance disagree: \(mismatches)", sourceLocation: sourceLocation)
    let lotMismatches = try database.writer.read { db in
        try Row.fetchAll(db, sql: """
            SELECT m.id, m.available, COALESCE(SUM(l.remaining), 0) AS in_lots
            FROM member m LEFT JOIN point_lot l ON l.member_id = m.id
            GROUP BY m.id HAVING m.available != in_lots
            """)
    }
    #expect(lotMismatches.isEmpty, "point lots and available points disagree: \(lotMismatches)", sourceLocation: sourceLocation)
    try await expectCreditBalances(database, sourceLocation: sourceLocation)
}

/// For every wallet, its entries' deltas sum to its balances and its open
/// holds to what it has held; no entry is outside a wallet.
func expectCreditBalances(_ database: MembersDatabase, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let (mismatches, heldMismatches, strays) = try database.writer.read { db in
        (
            try Row.fetchAll(db, sql: """
                SELECT w.member_id, w.currency_code, w.available, w.held, w.debt,
                       COALESCE(SUM(e.available_delta), 0) AS ledger_available,
                       COALESCE(SUM(e.held_delta), 0) AS ledger_held,
                       COALESCE(SUM(e.debt_delta), 0) AS ledger_debt
                FROM credit_wallet w
                LEFT JOIN credit_entry e ON e.member_id = w.member_id AND e.currency_code = w.currency_code
                GROUP BY w.member_id, w.currency_code
                HAVING w.available != ledger_available OR w.held != ledger_held OR w.debt != ledger_debt
                    OR w.available < 0 OR w.held < 0 OR w.debt < 0
                """),
            try Row.fetchAll(db, sql: """
                SELECT w.member_id, w.currency_code, w.held, COALESCE(SUM(h.points), 0) AS in_holds
                FROM credit_wallet w
                LEFT JOIN hold h ON h.member_id = w.member_id AND h.currency_code = w.currency_code AND h.status = 'HELD'
                GROUP BY w.member_id, w.currency_code HAVING w.held != in_holds
                """),
            try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM credit_entry e WHERE NOT EXISTS (
                    SELECT 1 FROM credit_wallet w WHERE w.member_id = e.member_id AND w.currency_code = e.currency_code)
                """) ?? 0
        )
    }
    #expect(mismatches.isEmpty, "store-credit ledger and wallet disagree: \(mismatches)", sourceLocation: sourceLocation)
    #expect(heldMismatches.isEmpty, "open credit holds and held credit disagree: \(heldMismatches)", sourceLocation: sourceLocation)
    #expect(strays == 0, "store-credit entries without a wallet", sourceLocation: sourceLocation)
}

/// The same invariant seen by a client: every ledger page summed against
/// GetBalance, for the points and for each currency of store credit.
func expectLedgerBalances(
    members: Laurel_V1_MemberService.Client<some ClientTransport>, memberId: String,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let response = try await members.getBalance(.with { $0.memberID = memberId })
    let points = try await ledgerSums(members: members, memberId: memberId, currencyCode: "")
    #expect(points.available == response.balance.available, sourceLocation: sourceLocation)
    #expect(points.held == response.balance.held, sourceLocation: sourceLocation)
    #expect(points.debt == response.balance.debt, sourceLocation: sourceLocation)
    for credit in response.storeCredit {
        let sums = try await ledgerSums(members: members, memberId: memberId, currencyCode: credit.currencyCode)
        #expect(sums.available == credit.availableMinor, "\(credit.currencyCode)", sourceLocation: sourceLocation)
        #expect(sums.held == credit.heldMinor, "\(credit.currencyCode)", sourceLocation: sourceLocation)
        #expect(sums.debt == credit.debtMinor, "\(credit.currencyCode)", sourceLocation: sourceLocation)
    }
}

/// The deltas of every page of one ledger: the points' ("") or a currency's.
func ledgerSums(
    members: Laurel_V1_MemberService.Client<some ClientTransport>, memberId: String, currencyCode: String
) async throws -> (available: Int64, held: Int64, debt: Int64) {
    var sums: (available: Int64, held: Int64, debt: Int64) = (0, 0, 0)
    var token = ""
    repeat {
        let page = try await members.listLedger(.with {
            $0.memberID = memberId
            $0.pageSize = 7
            $0.pageToken = token
            $0.currencyCode = currencyCode
        })
        for entry in page.entries {
            sums.available += entry.availableDelta
            sums.held += entry.heldDelta
            sums.debt += entry.debtDelta
        }
        token = page.nextPageToken
    } while !token.isEmpty
    return sums
}
