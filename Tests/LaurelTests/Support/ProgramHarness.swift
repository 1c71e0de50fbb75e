import Foundation
import GRPCCore
import LaurelShared
import MembersService
import Testing

typealias ProgramClient = Laurel_V1_ProgramService.Client<Transport>

/// A members service on a clock the test moves, served with ProgramService
/// over real gRPC; after each test its ledger must still sum to its balances.
struct ProgramHarness {
    /// Monday 2026-03-02T00:00Z.
    static let monday = Instant(millisecondsSince1970: 1_772_409_600_000)

    let clock: TestClock
    let accounts: MemberAccounts

    init(start: Instant = monday, expiryPolicy: ExpiryPolicy = .never) throws {
        clock = TestClock(start)
        accounts = MemberAccounts(database: try .inMemory(), clock: clock.wallClock, expiryPolicy: expiryPolicy)
    }

    func serve(segmentScanWindow: Int64? = nil, _ body: (MembersClient, ProgramClient) async throws -> Void) async throws {
        var accounts = accounts
        if let segmentScanWindow { accounts.segmentScanWindow = segmentScanWindow }
        try await withServer([MemberServiceHandler(accounts: accounts), ProgramServiceHandler(accounts: accounts)]) { client, _ in
            try await body(Laurel_V1_MemberService.Client(wrapping: client), Laurel_V1_ProgramService.Client(wrapping: client))
        }
        try await expectLedgerBalances(accounts.database)
    }
}
