import Foundation
import GRDB
import LaurelShared
import Synchronization

/// One stored version of the programme.
struct ProgramRecord: Codable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    static let databaseTableName = "program"

    var version: Int64
    var rules: ProgramRules
    var createdAt: Instant

    var program: Program { Program(version: version, updatedAt: createdAt, rules: rules) }
}

/// The current programme, read inside the transaction that applies it. Only
/// this process writes the database, so the decoded rules are kept and only
/// the version number is read again (one indexed lookup), which also makes a
/// purchase in the transaction after an update see the update.
public final class ProgramBook: Sendable {
    /// Stored as version 1 by the first write that needs a programme.
    public let initial: ProgramRules
    private let cached = Mutex<Program?>(nil)

    public init(initial: ProgramRules) {
        self.initial = initial
    }

    /// The current programme; before any is stored, the initial one as the
    /// version 1 it will be stored as.
    func current(_ db: Database) throws -> Program {
        guard let latest = try latestVersion(db) else {
            return Program(version: 1, updatedAt: Instant(millisecondsSince1970: 0), rules: initial)
        }
        return try load(db, version: latest)
    }

    /// The current programme, stored first if it never was, so ledger entries
    /// can name its version.
    func stored(_ db: Database, now: Instant) throws -> Program {
        guard let latest = try latestVersion(db) else {
            let record = ProgramRecord(version: 1, rules: initial, createdAt: now)
            try record.insert(db)
            cached.withLock { $0 = record.program }
            return record.program
        }
        return try load(db, version: latest)
    }

    /// On a cached statement: every purchase asks.
    private func latestVersion(_ db: Database) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(version) FROM program"))
    }

    private func load(_ db: Database, version: Int64) throws -> Program {
        if let program = cached.withLock({ $0 }), program.version == version { return program }
        guard let record = try ProgramRecord.fetchOne(db, key: version) else { throw DatabaseError(message: "programme version \(version) vanished") }
        cached.withLock { $0 = record.program }
        return record.program
    }

    func append(_ db: Database, _ rules: ProgramRules, after current: Program, now: Instant) throws -> Program {
        let record = ProgramRecord(version: current.version + 1, rules: rules, createdAt: now)
        try record.insert(db)
        cached.withLock { $0 = record.program }
        return record.program
    }
}
