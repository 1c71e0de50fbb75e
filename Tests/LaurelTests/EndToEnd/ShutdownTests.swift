import Foundation
import GRPCCore
import LaurelShared
import Testing

/// SIGTERM while calls are in flight that cannot finish: the process still
/// stops, promptly, and what it left unfinished is finished after.
@Suite(.serialized) struct ShutdownTests {
    /// Members is gone and a redemption waits for it, with a peer deadline
    /// of a minute. Told to stop, redemption fails that call at once rather
    /// than wait the minute for a peer that is not coming back (it waited
    /// 10-15 s when all three stopped together under load, once for every
    /// peer call still to make), and the saga, durable since its first step,
    /// is settled once both are back.
    @Test func redemptionStopsWhileASagaWaitsForAPeerThatIsGoneAndSettlesItOnRestart() async throws {
        // The shutdown grace is longer than the stop below waits, so only
        // the prompt failure of the waiting call lets it exit in time.
        let laurel = try await LaurelCluster.start(
            authCacheSeconds: 600, redemptionArguments: [
                "--peer-timeout-ms", "60000", "--shutdown-grace-seconds", "300",
                // Only start-up recovery, not a round that takes the waiting saga for a crash.
                "--recovery-idle-seconds", "600",
            ])
        var stopped = false
        defer { if !stopped { Task { await laurel.stop() } } }

        // A first redemption, so that catalog and redemption have the keys
        // checked while members is still up.
        let (memberId, rewardId) = try await laurel.withClients { laurel in
            try await laurel.memberRedeemingAMug("shutdown-1", key: "first")
        }

        #expect(await laurel.members.stop() == 0)
        let redeeming = Task {
            try await withClient(port: laurel.redemption.port, apiKey: laurel.operatorKey) { r in
                try await RedemptionClient(wrapping: r).redeem(.with {
                    $0.memberID = memberId; $0.rewardID = rewardId; $0.quantity = 1; $0.idempotencyKey = "while-members-is-gone"
                }).redemption
            }
        }
        // Its first step is durable before any peer is called: once it is
        // listed, the saga is waiting for members.
        try await withClient(port: laurel.redemption.port, apiKey: laurel.operatorKey) { r in
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                let listed = try await RedemptionClient(wrapping: r).listRedemptions(.with { $0.memberID = memberId }).redemptions
                if listed.contains(where: { $0.status == .pending }) { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("the second redemption never showed as pending")
        }

        let status = await laurel.redemption.stop(grace: 30)
        #expect(status == 0, "redemption did not stop by itself within 30 s; log:\n\(laurel.redemption.log)")
        do {
            let redemption = try await redeeming.value
            Issue.record("the redemption waiting for members answered \(redemption.status)")
        } catch let error as RPCError {
            #expect(error.code == .unavailable, "\(error)")
        }

        // Members back, then redemption: its start-up recovery settles the
        // saga (compensated: FAILED), and asking again with the same key
        // ends it either way: that outcome, or a fresh attempt that
        // completes. The three services must agree on whichever it is.
        try await laurel.restart("laurel-members")
        try await laurel.restart("laurel-redemption")
        let settled = try await laurel.withClients { laurel in
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let listed = try await laurel.redemption.listRedemptions(.with { $0.memberID = memberId }).redemptions
                if listed.count == 2, !listed.contains(where: { $0.status == .pending }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            return try await laurel.redemption.redeem(.with {
                $0.memberID = memberId; $0.rewardID = rewardId; $0.quantity = 1; $0.idempotencyKey = "while-members-is-gone"
            }).redemption
        }
        #expect(settled.status == .failed || settled.status == .completed, "\(settled)")
        let both = settled.status == .completed
        try await laurel.expectBalances(memberId: memberId, rewardId: rewardId, points: both ? 100 : 200, stock: both ? (3, 2) : (4, 1))

        stopped = true
        await laurel.stop()
    }

    /// A client that opens a call and never finishes its request would hold
    /// a graceful shutdown up for ever; past `--shutdown-grace-seconds` the
    /// call is cancelled and the process exits cleanly.
    @Test(arguments: TransportChoice.allCases)
    func aCallThatNeverEndsIsCancelledOnceTheShutdownGraceHasPassed(transport: TransportChoice) async throws {
        let data = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let members = try await ServiceProcess.start(
            "laurel-members", dataDirectory: data, arguments: ["--transport", transport.rawValue, "--shutdown-grace-seconds", "1"])
        let key = try #require(members.bootstrapOperatorKey)

        let status = try await withClient(port: members.port, apiKey: key) { client in
            let (sent, sentSignal) = AsyncStream.makeStream(of: Void.self)
            let stalled = Task {
                // One whole GetBalanceRequest, and then the request never ends.
                let request = StreamingClientRequest<[UInt8]> { writer in
                    try await writer.write([0x0a, 0x03] + Array("abc".utf8))
                    sentSignal.yield()
                    try await Task.sleep(for: .seconds(3600))
                }
                return try await client.clientStreaming(
                    request: request, descriptor: MethodDescriptor(fullyQualifiedService: "laurel.v1.MemberService", method: "GetBalance"),
                    serializer: Raw(), deserializer: Raw(), options: .defaults
                ) { _ in () }
            }
            for await _ in sent { break }
            // Streams of a connection are read in order: once a later call
            // on it is answered, the server has the stalled one.
            _ = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init())
            let status = await members.stop(grace: 30)
            _ = await stalled.result
            return status
        }
        #expect(status == 0, "members did not stop by itself within 30 s; log:\n\(members.log)")
    }
}
