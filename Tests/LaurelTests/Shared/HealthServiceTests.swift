import GRPCCore
import LaurelShared
import Testing

/// The standard health service over real gRPC.
@Suite struct HealthServiceTests {
    @Test func checkListAndWatchUntilShutdown() async throws {
        let health = HealthService(services: ["laurel.v1.MemberService"])
        try await withServer([health]) { client, _ in
            let checker = Grpc_Health_V1_Health.Client(wrapping: client)
            #expect(try await checker.check(.with { $0.service = "" }).status == .notServing)
            health.setServing(true)
            #expect(try await checker.check(.with { $0.service = "laurel.v1.MemberService" }).status == .serving)
            let listed = try await checker.list(.init()).statuses.mapValues(\.status)
            #expect(listed == ["": .serving, "laurel.v1.MemberService": .serving])
            var unknownService = Grpc_Health_V1_HealthCheckRequest()
            unknownService.service = "laurel.v1.Nope"
            do {
                let unknown = try await checker.check(unknownService)
                Issue.record("an unknown service was reported: \(unknown)")
            } catch let error as RPCError {
                #expect(error.code == .notFound)
            }

            // Watch sees the current status, every change, and ends on shutdown.
            let seen = try await checker.watch(.with { $0.service = "laurel.v1.MemberService" }) { response in
                var statuses: [ServingStatus] = []
                for try await message in response.messages {
                    statuses.append(message.status)
                    if statuses.count == 1 { health.setServing(false) }
                    if statuses.count == 2 { health.shutDown() }
                }
                return statuses
            }
            #expect(seen == [.serving, .notServing])

            // After shutdown a new Watch gets NOT_SERVING and ends at once.
            let late = try await checker.watch(.with { $0.service = "" }) { response in
                try await response.messages.reduce(into: [ServingStatus]()) { $0.append($1.status) }
            }
            #expect(late == [.notServing])
        }
    }
}
