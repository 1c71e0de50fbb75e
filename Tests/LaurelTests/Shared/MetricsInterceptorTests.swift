import GRPCCore
import LaurelShared
import MembersService
import Testing

/// How `MetricsInterceptor` classifies the ways a call can end, driven
/// directly, without a transport.
@Suite struct MetricsInterceptorTests {
    struct Unplanned: Error {}

    struct DiscardingWriter: RPCWriterProtocol {
        func write(_ element: String) async throws {}
        func write(contentsOf elements: some Sequence<String>) async throws {}
    }

    static let outcomes: [(error: any Error & Sendable, code: String)] = [
        (InvalidArgument("member_id", "must not be empty"), "INVALID_ARGUMENT"),
        (MembersError.memberNotFound("mbr_x"), "NOT_FOUND"),
        (RPCError(code: .unavailable, message: "down"), "UNAVAILABLE"),
        (InternalFailure(reference: "r"), "INTERNAL"),
        (CancellationError(), "CANCELLED"),
        (Unplanned(), "UNKNOWN"),
    ]

    let metrics = LaurelMetrics()
    let interceptor: MetricsInterceptor

    init() {
        interceptor = MetricsInterceptor(metrics: metrics)
    }

    func call(
        _ method: String, _ next: @escaping @Sendable (StreamingServerRequest<String>, ServerContext) async throws -> StreamingServerResponse<String>
    ) async throws {
        let context = ServerContext(
            descriptor: MethodDescriptor(fullyQualifiedService: "laurel.test.Probe", method: method),
            remotePeer: "in-process", localPeer: "in-process", cancellation: .init())
        let response = try await interceptor.intercept(
            request: StreamingServerRequest(single: ServerRequest(metadata: [:], message: "ping")), context: context, next: next)
        if case .success(let contents) = response.accepted {
            _ = try await contents.producer(RPCWriter(wrapping: DiscardingWriter()))
        }
    }

    func count(_ name: String, _ method: String, code: String? = nil) -> Double? {
        Scrape.samples(in: String(decoding: metrics.exposition(), as: UTF8.self))[rpcSeries(name, "laurel.test.Probe", method, code: code)]
    }

    @Test func errorsThrownByTheHandlerCountUnderTheirStatus() async throws {
        for (error, code) in Self.outcomes {
            await #expect(throws: (any Error).self) { try await call("Throw") { _, _ in throw error } }
            #expect(count("laurel_rpc_requests_total", "Throw", code: code) == 1, "\(error)")
            #expect(count("laurel_rpc_errors_total", "Throw", code: code) == 1, "\(error)")
        }
        #expect(count("laurel_rpc_duration_seconds_count", "Throw") == Double(Self.outcomes.count))
        #expect(count("laurel_rpc_requests_total", "Throw", code: "OK") == 0)
    }

    @Test func errorsThrownWhileStreamingCountUnderTheirStatus() async throws {
        for (error, code) in Self.outcomes {
            await #expect(throws: (any Error).self) {
                try await call("Stream") { _, _ in
                    StreamingServerResponse { writer in
                        try await writer.write("first")
                        throw error
                    }
                }
            }
            #expect(count("laurel_rpc_requests_total", "Stream", code: code) == 1, "\(error)")
            #expect(count("laurel_rpc_errors_total", "Stream", code: code) == 1, "\(error)")
        }
        #expect(count("laurel_rpc_duration_seconds_count", "Stream") == Double(Self.outcomes.count))
    }

    @Test func rejectedAndSuccessfulResponses() async throws {
        try await call("Reject") { _, _ in StreamingServerResponse(error: RPCError(code: .permissionDenied, message: "no")) }
        #expect(count("laurel_rpc_requests_total", "Reject", code: "PERMISSION_DENIED") == 1)
        #expect(count("laurel_rpc_errors_total", "Reject", code: "PERMISSION_DENIED") == 1)

        for _ in 0..<3 {
            try await call("Echo") { request, _ in
                StreamingServerResponse { writer in
                    for try await message in request.messages { try await writer.write(message) }
                    return [:]
                }
            }
        }
        #expect(count("laurel_rpc_requests_total", "Echo", code: "OK") == 3)
        #expect(count("laurel_rpc_errors_total", "Echo", code: "OK") == nil)
        #expect(count("laurel_rpc_duration_seconds_count", "Echo") == 3)
    }
}
