import Foundation
import GRPCCore
import LaurelShared
import MembersService
import Synchronization
import Testing

/// WatchMemberEvents: stored events, resumable by cursor, scoped to a
/// partner, live, and ended by graceful shutdown.
@Suite struct EventStreamTests {
    /// A stream that outlives this is a failed test, not a hung one.
    static let options: CallOptions = {
        var options = CallOptions.defaults
        options.timeout = .seconds(10)
        return options
    }()

    /// Reads events until `count` have arrived (or the stream ends).
    func read(
        _ members: MembersClient, after cursor: String = "", memberId: String = "", count: Int
    ) async throws -> [Laurel_V1_MemberEvent] {
        try await members.watchMemberEvents(.with { $0.afterCursor = cursor; $0.memberID = memberId }, options: Self.options) { response in
            var events: [Laurel_V1_MemberEvent] = []
            for try await event in response.messages {
                events.append(event)
                if events.count == count { break }
            }
            return events
        }
    }

    func purchase(_ members: MembersClient, _ memberId: String, minor: Int64) async throws {
        _ = try await members.recordPurchase(.with {
            $0.memberID = memberId
            $0.orderID = uniqueKey("order")
            $0.amount = .with { $0.currencyCode = "USD"; $0.minorUnits = minor }
        })
    }

    @Test func aPartnerFollowsItsMembersAcrossAReconnectMissingNothing() async throws {
        try await LaurelCluster.withCluster { laurel in
            let acme = try await laurel.createKey(.partner, partnerId: "acme")
            let globex = try await laurel.createKey(.partner, partnerId: "globex")
            let rewardId = try await laurel.withClients { op in
                try await op.catalog.createReward(.with {
                    $0.sku = "MUG"; $0.name = "Mug"; $0.kind = .freeProduct; $0.productSku = "MUG"; $0.costPoints = 20; $0.stock = 5
                }).reward.rewardID
            }
            let memberId = try await laurel.withClients(apiKey: acme) { p in
                try await p.members.enrollMember(.with { $0.externalID = "a-1" }).member.memberID
            }
            try await laurel.withClients(apiKey: globex) { p in
                let other = try await p.members.enrollMember(.with { $0.externalID = "g-1" }).member.memberID
                try await purchase(p.members, other, minor: 9_900)
            }

            // First connection: enrolment and a purchase, then the connection goes.
            let first = try await laurel.withClients(apiKey: acme) { p in
                try await purchase(p.members, memberId, minor: 5_000)
                return try await read(p.members, count: 2)
            }
            #expect(first.map(\.kind) == [.enrolled, .pointsEarned])
            #expect(first.allSatisfy { $0.memberID == memberId })
            #expect(first[1].points == 50)

            // Meanwhile: a redemption, a tier change and an adjustment.
            try await laurel.withClients(apiKey: acme) { p in
                _ = try await p.redemption.redeem(.with { $0.memberID = memberId; $0.rewardID = rewardId; $0.quantity = 1; $0.idempotencyKey = "r-1" })
            }
            try await laurel.withClients { op in
                _ = try await op.members.updateMember(.with { $0.memberID = memberId; $0.tier = "GOLD" })
                _ = try await op.members.adjustPoints(.with { $0.memberID = memberId; $0.delta = 5; $0.reason = "sorry"; $0.requestID = "adj-1" })
            }

            // Reconnecting after the last cursor gives exactly what happened since, then live events.
            try await laurel.withClients(apiKey: acme) { p in
                let resumed = try await p.members.watchMemberEvents(.with { $0.afterCursor = first[1].cursor }, options: Self.options) { response in
                    var events: [Laurel_V1_MemberEvent] = []
                    for try await event in response.messages {
                        events.append(event)
                        if events.count == 4 {
                            // Now live: a purchase made while the stream is open.
                            try await purchase(p.members, memberId, minor: 1_000)
                        }
                        if events.count == 5 { break }
                    }
                    return events
                }
                #expect(resumed.map(\.kind) == [.pointsSpent, .redemptionCompleted, .tierChanged, .pointsAdjusted, .pointsEarned])
                #expect(resumed[0].points == -20 && resumed[1].points == -20)
                #expect(!resumed[1].redemptionID.isEmpty)
                #expect(resumed[2].tierFrom == "BASE" && resumed[2].tierTo == "GOLD")
                #expect(resumed.last?.points == 10)
                #expect(Set((first + resumed).map(\.cursor)).count == 7)
            }

            // The operator sees every member's events (7 + 2); globex only its own.
            try await laurel.withClients { op in
                let everyone = try await read(op.members, count: 9)
                #expect(Set(everyone.map(\.memberID)).count == 2)
            }
            try await laurel.withClients(apiKey: globex) { p in
                let events = try await read(p.members, count: 2)
                #expect(events.map(\.kind) == [.enrolled, .pointsEarned])
                #expect(events.allSatisfy { $0.memberID != memberId })
                await expectRPCError(.permissionDenied, reason: "MEMBER_NOT_IN_SCOPE") {
                    _ = try await read(p.members, memberId: memberId, count: 1)
                }
                await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "after_cursor") {
                    _ = try await read(p.members, after: "yesterday", count: 1)
                }
            }
        }
    }

    @Test func gracefulShutdownEndsOpenStreamsAndTheProcessExitsCleanly() async throws {
        let laurel = try await LaurelCluster.start()
        let members = laurel.members
        let ended = try await laurel.withClients { op in
            _ = try await op.members.enrollMember(.with { $0.externalID = "x-1" })
            return try await op.members.watchMemberEvents(.init(), options: Self.options) { response in
                var events = 0
                for try await _ in response.messages {
                    events += 1
                    // SIGTERM while the stream is open and idle: it must end, not hold shutdown up.
                    Task { await members.stop() }
                }
                return events
            }
        }
        #expect(ended == 1)
        #expect(await members.waitForExit(timeout: 10))
        await laurel.stop()
    }

    @Test func aStreamWhoseDeadlinePassesEndsDeadlineExceeded() async throws {
        let accounts = MemberAccounts(database: try .inMemory())
        try await withServer([MemberServiceHandler(accounts: accounts)]) { client, _ in
            let members = MembersClient(wrapping: client)
            _ = try await members.enrollMember(.with { $0.externalID = "d-1" })
            // The deadline as the server sees it, with none kept by this
            // client: what reaches it is what the server ends the call with.
            let started = ContinuousClock.now
            do {
                try await members.watchMemberEvents(.init(), metadata: ["grpc-timeout": "300m"]) { response in
                    for try await _ in response.messages {}
                }
                Issue.record("the stream ended OK")
            } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded, "\(error)")
            }
            #expect(ContinuousClock.now - started >= .milliseconds(300))
        }
    }

    @Test func aCancelledWatchStopsFollowing() async throws {
        let accounts = MemberAccounts(database: try .inMemory())
        try await withServer([MemberServiceHandler(accounts: accounts)]) { client, _ in
            let members = MembersClient(wrapping: client)
            _ = try await members.enrollMember(.with { $0.externalID = "c-1" })
            let watcher = Task {
                try await members.watchMemberEvents(.init()) { response in
                    for try await _ in response.messages {}
                }
            }
            var waited = 0
            while accounts.feed.subscriberCount == 0 && waited < 500 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            #expect(accounts.feed.subscriberCount == 1)
            watcher.cancel()
            _ = await watcher.result
            waited = 0
            while accounts.feed.subscriberCount > 0 && waited < 500 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            #expect(accounts.feed.subscriberCount == 0)
        }
    }
}
