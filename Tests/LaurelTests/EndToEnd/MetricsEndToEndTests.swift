import Foundation
import GRPCCore
import LaurelShared
import Testing

/// The built `laurel-members` with `--metrics-port 0`, scraped over HTTP.
@Suite(.serialized) struct MetricsEndToEndTests {
    @Test func theMembersExecutableServesItsMetrics() async throws {
        let data = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let members = try await ServiceProcess.start("laurel-members", dataDirectory: data, arguments: ["--metrics-port", "0"])
        var stopped = false
        defer { if !stopped { Task { [members] in await members.stop() } } }
        let metricsPort = try #require(members.metricsPort)
        #expect(metricsPort != members.port)

        let operatorKey = try #require(members.bootstrapOperatorKey)
        try await withClient(port: members.port, apiKey: operatorKey) { client in
            let service = MembersClient(wrapping: client)
            let member = try await service.enrollMember(.with { $0.externalID = "e2e-metrics"; $0.email = "ada@example.com" }).member
            _ = try await service.recordPurchase(.with {
                $0.memberID = member.memberID
                $0.orderID = "till-1/receipt-1"
                $0.amount = .with { $0.currencyCode = "EUR"; $0.minorUnits = 12_000 }
            })
            _ = try await service.holdPoints(.with { $0.memberID = member.memberID; $0.holdID = "h1"; $0.points = 20 })
            _ = try await service.captureHold(.with { $0.holdID = "h1" })
            await expectRPCError(.notFound, reason: "MEMBER_NOT_FOUND") {
                _ = try await service.getBalance(.with { $0.memberID = "mbr_nobody" })
            }
        }
        try await withClient(port: members.port) { client in
            await expectRPCError(.unauthenticated, reason: "API_KEY_MISSING") {
                _ = try await MembersClient(wrapping: client).getBalance(.with { $0.memberID = "mbr_nobody" })
            }
        }

        let scraped = try await scrape(port: metricsPort)
        #expect(scraped.status == 200)
        #expect(scraped.contentType == "text/plain; version=0.0.4; charset=utf-8")
        let samples = scraped.samples
        let service = "laurel.v1.MemberService"
        #expect(samples[rpcSeries("laurel_rpc_requests_total", service, "EnrollMember", code: "OK")] == 1)
        #expect(samples[rpcSeries("laurel_rpc_requests_total", service, "RecordPurchase", code: "OK")] == 1)
        #expect(samples[rpcSeries("laurel_rpc_requests_total", service, "GetBalance", code: "NOT_FOUND")] == 1)
        #expect(samples[rpcSeries("laurel_rpc_errors_total", service, "GetBalance", code: "NOT_FOUND")] == 1)
        #expect(samples[rpcSeries("laurel_rpc_duration_seconds_count", service, "CaptureHold")] == 1)
        // Refused by the access check: counted too.
        #expect(samples[rpcSeries("laurel_rpc_requests_total", service, "GetBalance", code: "UNAUTHENTICATED")] == 1)
        #expect(samples["laurel_points_issued_total"] == 120)
        #expect(samples["laurel_points_redeemed_total"] == 20)
        // The four writes, each waited for and committed, and every commit timed.
        #expect(samples["laurel_db_write_wait_seconds_count"] == 4)
        #expect(samples["laurel_db_commit_writes_sum"] == 4)
        let commits = try #require(samples["laurel_db_commit_writes_count"])
        #expect((1...4).contains(commits))
        #expect(samples["laurel_db_commit_duration_seconds_count"] == commits)
        #expect(try await scrape(port: metricsPort, path: "/").status == 404)

        stopped = true
        #expect(await members.stop() == 0)
        await #expect(throws: (any Error).self) { _ = try await scrape(port: metricsPort) }
    }

    @Test func everyServiceTimesTheCommitsOfItsWrites() async throws {
        try await LaurelCluster.withCluster(arguments: ["--metrics-port", "0"]) { laurel in
            _ = try await laurel.withClients { laurel in try await laurel.memberRedeemingAMug("e2e-commits", key: "commits") }
            for service in [laurel.members, laurel.catalog, laurel.redemption] {
                let samples = try await scrape(port: try #require(service.metricsPort)).samples
                let writes = try #require(samples["laurel_db_commit_writes_sum"], "\(service.name)")
                #expect(writes >= 1, "\(service.name)")
                #expect(samples["laurel_db_write_wait_seconds_count"] == writes, "\(service.name)")
                #expect(samples["laurel_db_commit_duration_seconds_count"] == samples["laurel_db_commit_writes_count"], "\(service.name)")
            }
        }
    }
}
