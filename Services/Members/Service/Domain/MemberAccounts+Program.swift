import Foundation
import GRDB
import LaurelShared

/// What makes UpdateProgram repeatable: the same key with the same rules and
/// expectation returns the version it made.
struct ProgramUpdate: Codable {
    var rules: ProgramRules
    var expectedVersion: Int64
}

/// What one programme sweep did.
public struct ProgramSweep: Sendable, Equatable {
    public var tiersEvaluated: Int
    public var tiersChanged: Int
    public var birthdayBonuses: Int
}

extension MemberAccounts {
    /// Stores the initial programme as version 1 if none is stored yet.
    public func storeProgram() async throws -> Program {
        let now = clock.now
        return try await database.writer.write { db in try programs.stored(db, now: now) }
    }

    public func program() async throws -> Program {
        try await database.writer.read { db in try programs.current(db) }
    }

    /// Stores `rules` as the next version. Tiers still held by members (or
    /// set as their floor) cannot be removed.
    public func updateProgram(_ rules: ProgramRules, expectedVersion: Int64, requestId: String) async throws -> Program {
        let requestId = try Validate.identifier(requestId, field: "request_id")
        guard expectedVersion >= 0 else { throw InvalidArgument("expected_version", "must not be negative") }
        try rules.validate()
        let now = clock.now
        let update = ProgramUpdate(rules: rules, expectedVersion: expectedVersion)
        return try await write { db in
            try IdempotencyKeys.run(db, scope: "program", key: requestId, field: "request_id", request: update, now: now) {
                let current = try programs.stored(db, now: now)
                if expectedVersion != 0, expectedVersion != current.version {
                    throw MembersError.programVersionConflict(expected: expectedVersion, current: current.version)
                }
                let kept = Set(rules.tiers.tiers.map(\.code))
                for tier in current.rules.tiers.tiers.map(\.code) where !kept.contains(tier) {
                    if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM member WHERE tier = ? OR tier_floor = ?)", arguments: [tier, tier]) == true {
                        throw MembersError.tierInUse(tier)
                    }
                }
                let next = try programs.append(db, rules, after: current, now: now)
                // Review dates exist only while tiers are qualified for.
                if rules.tiers.qualifies {
                    try db.execute(
                        sql: "UPDATE member SET tier_review_at = ? WHERE tier_review_at IS NULL AND tier != ?",
                        arguments: [now.adding(seconds: Int64(rules.tiers.windowDays) * 86_400), rules.tierOrder.entry])
                } else {
                    try db.execute(sql: "UPDATE member SET tier_review_at = NULL WHERE tier_review_at IS NOT NULL")
                }
                return next
            }
        }
    }

    /// Tier reviews due, then birthday bonuses due.
    @discardableResult
    public func runProgramSweep() async throws -> ProgramSweep {
        let tiers = try await evaluateTiers()
        let birthdays = try await grantBirthdayBonuses()
        return ProgramSweep(tiersEvaluated: tiers.evaluated, tiersChanged: tiers.changed, birthdayBonuses: birthdays)
    }
}
