import GRDB
import GRPCCore
import LaurelShared
import MembersService
import Testing

/// The members invariant: for every member, the ledger's deltas sum to the
/// balances (and the debt) in the member row, and none is negative.
func expectLedgerBalances(_ database: MembersDatabase, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let mismatches = try await database.writer.read { db in
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
    let lotMismatches = try await database.writer.read { db in
        try Row.fetchAll(db, sql: """
            SELECT m.id, m.available, COALESCE(SUM(l.remaining), 0) AS in_lots
            FROM member m LEFT JOIN point_lot l ON l.member_id = m.id
            GROUP BY m.id HAVING m.available != in_lots
            """)
    }
    #expect(lotMismatches.isEmpty, "point lots and available points disagree: \(lotMismatches)", sourceLocation: sourceLocation)
}

/// The same invariant seen by a client: every ledger page summed against GetBalance.
func expectLedgerBalances(
    members: Laurel_V1_MemberService.Client<some ClientTransport>, memberId: String,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    var available: Int64 = 0
    var held: Int64 = 0
    var debt: Int64 = 0
    var token = ""
    repeat {
        let page = try await members.listLedger(.with {
            $0.memberID = memberId
            $0.pageSize = 7
            $0.pageToken = token
        })
        for entry in page.entries {
            available += entry.availableDelta
            held += entry.heldDelta
            debt += entry.debtDelta
        }
        token = page.nextPageToken
    } while !token.isEmpty
    let balance = try await members.getBalance(.with { $0.memberID = memberId }).balance
    #expect(balance.available == available, sourceLocation: sourceLocation)
    #expect(balance.held == held, sourceLocation: sourceLocation)
    #expect(balance.debt == debt, sourceLocation: sourceLocation)
}
