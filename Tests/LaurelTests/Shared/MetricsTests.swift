import Foundation
import GRDB
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LaurelShared
import Logging
import MembersService
import Testing

/// The members service served with the executables' interceptors and an
/// admin endpoint, scraped over real HTTP.
@Suite struct MetricsTests {
    static let members = "laurel.v1.MemberService"
    let metrics = LaurelMetrics()
    let accounts: MemberAccounts
    let health = HealthService(services: [MetricsTests.members])

    init() throws {
        accounts = MemberAccounts(database: try .inMemory(), metrics: metrics)
    }

    func withMembers(_ body: (_ members: MembersClient, _ client: Client, _ metricsPort: Int) async throws -> Void) async throws {
        let endpoint = try await MetricsEndpoint.bind(host: "127.0.0.1", port: 0, metrics: metrics)
        defer { endpoint.close() }
        try await withGRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
            services: [MemberServiceHandler(accounts: accounts), health],
            interceptors: [MetricsInterceptor(metrics: metrics), ErrorMappingInterceptor(logger: Logger(label: "laurel-tests"))]
        ) { server in
            guard let port = try await server.listeningAddress?.ipv4?.port else { throw HarnessFailure("server did not bind") }
            try await withClient(port: port) { client in
                try await body(MembersClient(wrapping: client), client, endpoint.port)
            }
        }
    }

    func enroll(_ members: MembersClient) async throws -> String {
        try await members.enrollMember(.with { $0.externalID = uniqueKey("ext"); $0.email = "ada@example.com" }).member.memberID
    }

    func requests(_ method: String, _ code: String) -> String {
        rpcSeries("laurel_rpc_requests_total", Self.members, method, code: code)
    }

    func errors(_ method: String, _ code: String) -> String {
        rpcSeries("laurel_rpc_errors_total", Self.members, method, code: code)
    }

    @Test func everyCallIsCountedByMethodAndStatusAndTimed() async throws {
        try await withMembers { members, _, metricsPort in
            let member = try await enroll(members)
            for _ in 0..<2 { _ = try await members.getBalance(.with { $0.memberID = member }) }
            await expectRPCError(.notFound, reason: "MEMBER_NOT_FOUND") {
                _ = try await members.getBalance(.with { $0.memberID = "mbr_nobody" })
            }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "lookup") {
                _ = try await members.getMember(.init())
            }

            let scraped = try await scrape(port: metricsPort)
            #expect(scraped.status == 200)
            #expect(scraped.contentType == "text/plain; version=0.0.4; charset=utf-8")
            #expect(scraped.body.contains("# TYPE laurel_rpc_requests_total counter\n"))
            #expect(scraped.body.contains("# TYPE laurel_rpc_duration_seconds histogram\n"))
            let samples = scraped.samples
            #expect(samples[requests("EnrollMember", "OK")] == 1)
            #expect(samples[requests("GetBalance", "OK")] == 2)
            #expect(samples[requests("GetBalance", "NOT_FOUND")] == 1)
            #expect(samples[errors("GetBalance", "NOT_FOUND")] == 1)
            #expect(samples[errors("GetBalance", "OK")] == nil)
            #expect(samples[requests("GetMember", "INVALID_ARGUMENT")] == 1)
            #expect(samples[errors("GetMember", "INVALID_ARGUMENT")] == 1)
            #expect(samples[requests("GetMember", "OK")] == 0)
            #expect(samples[requests("ListMembers", "OK")] == nil, "a method never called has no series")

            let duration = "laurel_rpc_duration_seconds"
            #expect(samples[rpcSeries("\(duration)_count", Self.members, "GetBalance")] == 3)
            #expect(samples[rpcSeries("\(duration)_bucket", Self.members, "GetBalance", le: "+Inf")] == 3)
            #expect(samples[rpcSeries("\(duration)_bucket", Self.members, "GetBalance", le: "10.0")] == 3)
            #expect(samples[rpcSeries("\(duration)_count", Self.members, "GetMember")] == 1)
            #expect(samples[rpcSeries("\(duration)_count", Self.members, "EnrollMember")] == 1)
            let sum = try #require(samples[rpcSeries("\(duration)_sum", Self.members, "GetBalance")])
            #expect(sum > 0 && sum < 30)
            let bounds = ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                          "1.0", "2.5", "5.0", "10.0", "+Inf"]
            let buckets = try bounds.map { try #require(samples[rpcSeries("\(duration)_bucket", Self.members, "GetBalance", le: $0)]) }
            #expect(buckets == buckets.sorted(), "buckets are cumulative")
        }
    }

    @Test func pointsAreCountedOnceAndOnlyWhenCommitted() async throws {
        try await withMembers { members, _, metricsPort in
            let member = try await enroll(members)
            let purchase = Laurel_V1_RecordPurchaseRequest.with {
                $0.memberID = member
                $0.orderID = uniqueKey("order")
                $0.amount = .with { $0.currencyCode = "USD"; $0.minorUnits = 4_999 }
            }
            #expect(try await members.recordPurchase(purchase).pointsEarned == 49)
            // The replay returns the first result and must not count again.
            #expect(try await members.recordPurchase(purchase).pointsEarned == 49)
            let adjust = Laurel_V1_AdjustPointsRequest.with { $0.memberID = member; $0.delta = 10; $0.reason = "goodwill"; $0.requestID = "a1" }
            _ = try await members.adjustPoints(adjust)
            _ = try await members.adjustPoints(.with { $0.memberID = member; $0.delta = -5; $0.reason = "correction"; $0.requestID = "a2" })
            // A refused call rolls back: nothing issued.
            await expectRPCError(.alreadyExists, reason: "IDEMPOTENCY_KEY_REUSED") {
                _ = try await members.adjustPoints(.with { $0.memberID = member; $0.delta = 99; $0.reason = "goodwill"; $0.requestID = "a1" })
            }

            // The EARN entry is written, then the purchase row fails: the
            // transaction rolls back, and so must the count.
            try await accounts.database.writer.write { db in
                try db.execute(sql: """
                    CREATE TRIGGER doomed_purchase BEFORE INSERT ON purchase WHEN NEW.order_id = 'doomed'
                    BEGIN SELECT RAISE(ABORT, 'injected failure'); END
                    """)
            }
            await expectRPCError(.internalError, reason: "INTERNAL") {
                var doomed = purchase
                doomed.orderID = "doomed"
                _ = try await members.recordPurchase(doomed)
            }

            _ = try await members.holdPoints(.with { $0.memberID = member; $0.holdID = "h1"; $0.points = 30 })
            _ = try await members.captureHold(.with { $0.holdID = "h1" })
            _ = try await members.captureHold(.with { $0.holdID = "h1" })
            await expectRPCError(.failedPrecondition, reason: "INSUFFICIENT_POINTS") {
                _ = try await members.holdPoints(.with { $0.memberID = member; $0.holdID = "h2"; $0.points = 1_000 })
            }
            _ = try await members.holdPoints(.with { $0.memberID = member; $0.holdID = "h3"; $0.points = 4 })
            _ = try await members.releaseHold(.with { $0.holdID = "h3" })

            var samples = try await scrape(port: metricsPort).samples
            #expect(samples["laurel_points_issued_total"] == 59)
            #expect(samples["laurel_points_redeemed_total"] == 30)
            #expect(samples["laurel_points_refunded_total"] == 0)
            #expect(samples[requests("CaptureHold", "OK")] == 2)
            #expect(samples[requests("HoldPoints", "FAILED_PRECONDITION")] == 1)
            #expect(samples[requests("RecordPurchase", "INTERNAL")] == 1)

            _ = try await members.refundHold(.with { $0.holdID = "h1" })
            _ = try await members.refundHold(.with { $0.holdID = "h1" })
            samples = try await scrape(port: metricsPort).samples
            #expect(samples["laurel_points_refunded_total"] == 30)
            #expect(samples["laurel_points_redeemed_total"] == 30)
            #expect(try await members.getBalance(.with { $0.memberID = member }).balance.available == 54)
        }
    }

    /// A stream is counted and timed when it ends, not when its handler
    /// returns the response.
    @Test func aServerStreamIsCountedWhenItEnds() async throws {
        try await withMembers { _, client, metricsPort in
            let watch = rpcSeries("laurel_rpc_requests_total", "grpc.health.v1.Health", "Watch", code: "OK")
            let watchCount = rpcSeries("laurel_rpc_duration_seconds_count", "grpc.health.v1.Health", "Watch")
            let seen = try await Grpc_Health_V1_Health.Client(wrapping: client).watch(.with { $0.service = Self.members }) { response in
                var statuses: [ServingStatus] = []
                for try await message in response.messages {
                    statuses.append(message.status)
                    let samples = try await scrape(port: metricsPort).samples
                    #expect(samples[watch] == 0)
                    #expect(samples[watchCount] == 0)
                    health.shutDown()
                }
                return statuses
            }
            #expect(seen == [.notServing])
            let samples = try await scrape(port: metricsPort).samples
            #expect(samples[watch] == 1)
            #expect(samples[watchCount] == 1)
        }
    }

    @Test func onlyGetMetricsIsServed() async throws {
        try await withMembers { _, _, metricsPort in
            for path in ["/", "/metrics/x", "/health", "/metricsx"] {
                let answer = try await scrape(port: metricsPort, path: path)
                #expect(answer.status == 404, "\(path)")
            }
            #expect(try await scrape(port: metricsPort, path: "/metrics", method: "POST").status == 404)
            #expect(try await scrape(port: metricsPort, path: "/metrics?name[]=x").status == 200)
        }
    }
}
