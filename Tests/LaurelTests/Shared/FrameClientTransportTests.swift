import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
@testable import LaurelShared
import Synchronization
import Testing

/// Laurel's own client transport against both server transports (its own
/// and grpc-swift-nio-transport's): what gRPC over HTTP/2 asks of a client
/// beyond a small unary call.
@Suite struct FrameClientTransportTests {
    typealias FrameClient = GRPCClient<FrameClientTransport>

    @Test(arguments: TransportChoice.allCases)
    func metadataStatusesAndMessagesGoBothWays(server: TransportChoice) async throws {
        try await withEcho(on: server) { client, _ in
            try await expectMetadataEchoed(on: client)
            // An error status, its message percent-encoded on the wire.
            let error = await expectFailure(.failedPrecondition, calling: Echo.fail, with: Array("100% über".utf8), on: client)
            #expect(error?.message == "100% über")
            #expect(error.map { Array($0.metadata[stringValues: "reason"]) } == ["BECAUSE"])
            // A trailers-only answer.
            await expectFailure(.unimplemented, calling: Echo.method("Nothing"), with: [], on: client)
        }
    }

    @Test(arguments: TransportChoice.allCases)
    func manyCallsAtOnceShareOneConnection(server: TransportChoice) async throws {
        try await withEcho(on: server) { client, _ in try await expectEchoes(300, atOnceOn: client) }
    }

    @Test(arguments: TransportChoice.allCases)
    func megabytesEachWayKeepBothWindowsOpen(server: TransportChoice) async throws {
        try await withEcho(on: server) { client, _ in
            let body = (0..<3_000_000).map { UInt8($0 % 253) }
            try await client.unary(
                request: ClientRequest(message: body), descriptor: Echo.unary, serializer: Raw(), deserializer: Raw(), options: .defaults
            ) { response in
                let message = try response.message
                #expect(message == body)
            }
            // 100 answers of 64 KiB in one stream.
            let count = try await client.serverStreaming(
                request: ClientRequest(message: Echo.encode(100, 65_536)), descriptor: Echo.expand, serializer: Raw(), deserializer: Raw(), options: .defaults
            ) { response in
                var count = 0
                for try await message in response.messages {
                    #expect(message.count == 65_536 && message.first == UInt8(count % 251))
                    count += 1
                }
                return count
            }
            #expect(count == 100)
        }
    }

    /// A call given up while its answers still arrive is reset; HTTP/2
    /// drops the frames that follow but they used the connection's window
    /// all the same, and it must be given back: counting only the frames read
    /// stalled the connection after a few such calls.
    @Test(arguments: TransportChoice.allCases)
    func answersDroppedAfterAResetLeaveTheConnectionsWindow(server: TransportChoice) async throws {
        try await withEcho(on: server) { client, _ in
            // A stalled connection never answers; the deadline only ends the
            // test, generously, since the whole suite shares two cores.
            var options = CallOptions.defaults
            options.timeout = .seconds(30)
            for _ in 0..<12 {
                let first = try await client.serverStreaming(
                    request: ClientRequest(message: Echo.encode(100, 65_536)), descriptor: Echo.expand, serializer: Raw(), deserializer: Raw(),
                    options: options
                ) { response in
                    for try await message in response.messages { return message.count }
                    return 0
                }
                #expect(first == 65_536)
            }
            // Four times the connection's window, all read.
            let count = try await client.serverStreaming(
                request: ClientRequest(message: Echo.encode(4, 65_536)), descriptor: Echo.expand, serializer: Raw(), deserializer: Raw(),
                options: options
            ) { response in
                var count = 0
                for try await _ in response.messages { count += 1 }
                return count
            }
            #expect(count == 4)
        }
    }

    @Test(arguments: TransportChoice.allCases)
    func bothDirectionsStreamAtOnce(server: TransportChoice) async throws {
        try await withEcho(on: server) { client, _ in
            let echoed = try await client.bidirectionalStreaming(
                request: StreamingClientRequest(of: [UInt8].self) { writer in
                    for n in 0..<50 { try await writer.write([UInt8(n)]) }
                },
                descriptor: Echo.bidi, serializer: Raw(), deserializer: Raw(), options: .defaults
            ) { response in
                var seen: [UInt8] = []
                for try await message in response.messages { seen += message }
                return seen
            }
            #expect(echoed == (0..<50).map { UInt8($0) })
        }
    }

    @Test(arguments: TransportChoice.allCases)
    func aDeadlineResetsTheStreamAndReachesTheHandler(server: TransportChoice) async throws {
        let (events, sink) = AsyncStream.makeStream(of: String.self)
        try await withEcho(on: server, events: sink) { client, _ in
            try await expectDeadlineReachesTheHandler(on: client, events: events)
            // The connection serves on.
            try await expectEchoes(1, atOnceOn: client)
        }
    }

    @Test func withNoServerACallFailsAtOnceOrWhenItsDeadlinePasses() async throws {
        let port = try await closedPort()
        try await withFrameClient(port: port) { client in
            var options = CallOptions.defaults
            options.waitForReady = false
            await expectFailure(.unavailable, calling: Echo.unary, with: [], on: client, options: options)
            options.waitForReady = true
            options.timeout = .milliseconds(300)
            await expectFailure(.deadlineExceeded, calling: Echo.unary, with: [], on: client, options: options)
        }
    }

    @Test func aCallMadeBeforeTheServerListensIsServedOnceItDoes() async throws {
        // The server's port is known only once it listens, so the client
        // starts first against a port picked and freed here, then the server binds it.
        let port = try await closedPort()
        try await withFrameClient(port: port) { client in
            let answer = Task {
                try await client.unary(
                    request: ClientRequest(message: [7]), descriptor: Echo.unary, serializer: Raw(), deserializer: Raw(), options: .defaults
                ) { response in try response.message }
            }
            try await Task.sleep(for: .milliseconds(200))
            try await withGRPCServer(
                transport: FrameServerTransport(.init(host: "127.0.0.1", port: port)), services: [Echo(events: nil, gate: Gate())]
            ) { _ in
                let message = try await answer.value
                #expect(message == [7])
            }
        }
    }

    @Test func aServerShuttingDownFinishesTheOpenCallAndTheClientMovesOn() async throws {
        let (events, sink) = AsyncStream.makeStream(of: String.self)
        let gate = Gate()
        let port = try await closedPort()
        try await withFrameClient(port: port) { client in
            try await withGRPCServer(
                transport: FrameServerTransport(.init(host: "127.0.0.1", port: port)), services: [Echo(events: sink, gate: gate)]
            ) { server in
                let gated = Task {
                    try await client.unary(
                        request: ClientRequest(message: []), descriptor: Echo.gated, serializer: Raw(), deserializer: Raw(), options: .defaults
                    ) { response in try response.message }
                }
                #expect(await firstEvent(of: events) == "gated waiting")
                server.beginGracefulShutdown()
                try await Task.sleep(for: .milliseconds(100))
                gate.open()
                let message = try await gated.value
                #expect(message == Array("through".utf8))
            }
            // GOAWAY came and the connection closed: with no server, a call fails as unavailable.
            var options = CallOptions.defaults
            options.waitForReady = false
            await expectFailure(.unavailable, calling: Echo.unary, with: [], on: client, options: options)
        }
    }

    /// A call that took the connection while it was up but opens only after
    /// it closed (the server restarting meanwhile) goes out on the next
    /// connection: it had sent nothing, so moving it is safe. It failed
    /// UNAVAILABLE before, which happened to one redemption in 4,000 across
    /// a restart of members.
    @Test func aCallWhoseConnectionClosedBeforeItOpenedGoesOutOnTheNext() async throws {
        let port = try await closedPort()
        try await withTransport(port: port) { transport in
            try await withGRPCServer(
                transport: FrameServerTransport(.init(host: "127.0.0.1", port: port)), services: [Echo(events: nil, gate: Gate())]
            ) { first in
                #expect(try await transport.unary(Echo.unary, metadata: [:], request: [1]).message == [1])
                try await transport.withStream(descriptor: Echo.unary, options: .defaults) { stream, _ in
                    // The connection this call took goes away before the call opens.
                    first.beginGracefulShutdown()
                    while (try? await transport.unary(Echo.unary, metadata: [:], request: [], waitForReady: false)) != nil {
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    try await withGRPCServer(
                        transport: FrameServerTransport(.init(host: "127.0.0.1", port: port)), services: [Echo(events: nil, gate: Gate())]
                    ) { _ in
                        try await stream.outbound.write(.metadata([:]))
                        try await stream.outbound.write(.message([5]))
                        await stream.outbound.finish()
                        var message: [UInt8]?
                        var status: Status?
                        for try await part in stream.inbound {
                            switch part {
                            case .metadata: break
                            case .message(let bytes): message = bytes
                            case .status(let end, _): status = end
                            }
                        }
                        #expect(status?.code == .ok)
                        #expect(message == [5])
                    }
                }
            }
        }
    }

    /// `FrameClientTransport.unary`, the way laurel-bench calls without
    /// GRPCCore's client: answers, statuses and metadata as they came, a
    /// trailers-only answer, calls at once, and a cancelled call's stream
    /// reset so that the server's handler hears of it.
    @Test(arguments: TransportChoice.allCases)
    func unaryCallsStraightOnTheTransport(server: TransportChoice) async throws {
        let (events, sink) = AsyncStream.makeStream(of: String.self)
        try await serve([Echo(events: sink, gate: Gate())], on: server) { port in
            try await withTransport(port: port) { transport in
                let echoed = try await transport.unary(Echo.unary, metadata: ["echo-a": "b", "other": "c"], request: [1, 2, 3])
                #expect(echoed.status.code == .ok)
                #expect(echoed.message == [1, 2, 3])
                #expect(Array(echoed.metadata[stringValues: "echo-a"]) == ["b"])
                #expect(Array(echoed.trailers[stringValues: "echo-a"]) == ["b"])
                #expect(Array(echoed.metadata[stringValues: "other"]).isEmpty)

                let failed = try await transport.unary(Echo.fail, metadata: [:], request: Array("100% über".utf8))
                #expect(failed.status.code == .failedPrecondition)
                #expect(failed.status.message == "100% über")
                #expect(failed.message == nil)
                #expect(Array(failed.trailers[stringValues: "reason"]) == ["BECAUSE"])

                let unknown = try await transport.unary(Echo.method("Nothing"), metadata: [:], request: [])
                #expect(unknown.status.code == .unimplemented)

                let answers = try await withThrowingTaskGroup(of: Bool.self) { calls in
                    for n in 0..<200 {
                        calls.addTask {
                            let answer = try await transport.unary(Echo.unary, metadata: [:], request: Echo.encode(n, n))
                            return answer.status.code == .ok && answer.message == Echo.encode(n, n)
                        }
                    }
                    return try await calls.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(answers.count == 200 && answers.allSatisfy { $0 })

                let hanging = Task { try await transport.unary(Echo.hang, metadata: ["announce": "yes"], request: []) }
                #expect(await firstEvent(of: events) == "hang started")
                hanging.cancel()
                await #expect(throws: RPCError.self) { try await hanging.value }
                #expect(await firstEvent(of: events) == "hang cancelled")

                // The connection serves on.
                #expect(try await transport.unary(Echo.unary, metadata: [:], request: [9]).message == [9])
            }
        }
    }

    /// With `callTimeout` the transport keeps each call's deadline itself,
    /// with none in the call's options: a call left hanging fails
    /// DEADLINE_EXCEEDED, its handler is told, and the connection serves on.
    @Test(arguments: TransportChoice.allCases)
    func theTransportsCallTimeoutEndsAHangingCall(server: TransportChoice) async throws {
        let (events, sink) = AsyncStream.makeStream(of: String.self)
        try await serve([Echo(events: sink, gate: Gate())], on: server) { port in
            // Every call has it, the first (which connects) too: long enough
            // for that on two cores busy with the whole suite, where a first
            // call has taken 5.7 s.
            try await withFrameClient(port: port, callTimeout: .seconds(15)) { client in
                try await expectEchoes(1, atOnceOn: client)
                await expectFailure(.deadlineExceeded, calling: Echo.hang, with: [], on: client)
                #expect(await firstEvent(of: events) == "hang cancelled")
                try await expectEchoes(1, atOnceOn: client)
            }
            try await withTransport(port: port, callTimeout: .seconds(15)) { transport in
                let echoed = try await transport.unary(Echo.unary, metadata: [:], request: [5])
                #expect(echoed.message == [5])
                await #expect { try await transport.unary(Echo.hang, metadata: [:], request: []) } throws: {
                    ($0 as? RPCError)?.code == .deadlineExceeded
                }
                #expect(await firstEvent(of: events) == "hang cancelled")
            }
        }
    }

    /// The server hears of the transport's deadline as of any other, in
    /// `grpc-timeout` (grpc-swift-nio-transport's server shows its handlers
    /// every header); a call whose options give one sends that one alone.
    @Test func theTransportsCallTimeoutGoesToTheServer() async throws {
        try await serve([Echo(events: nil, gate: Gate())], on: .nio) { port in
            try await withFrameClient(port: port, callTimeout: .seconds(30)) { client in
                let sent = try await timeoutsSent(on: client)
                #expect(sent.hasSuffix("m") && (1...30_000).contains(milliseconds(sent)), "\(sent)")
                var options = CallOptions.defaults
                options.timeout = .seconds(10)
                let own = try await timeoutsSent(on: client, options: options)
                #expect(!own.contains(",") && (1...10_000).contains(milliseconds(own)), "\(own)")
            }
            let none = try await withFrameClient(port: port) { client in try await timeoutsSent(on: client) }
            #expect(none == "")
        }
    }

    /// Laurel's server transport keeps a call's `grpc-timeout` itself, on its
    /// event loop: the handler has it as `CallDeadline.current`, not in its
    /// metadata, and is told through its cancellation handle when it passes,
    /// as GRPCCore would tell it. Any value gRPC allows is taken.
    @Test func laurelsServerTransportKeepsTheDeadline() async throws {
        let (events, sink) = AsyncStream.makeStream(of: String.self)
        try await serve([Echo(events: sink, gate: Gate())], on: .frames) { port in
            // No deadline of the client's own: what ends the call is the server's.
            try await withTransport(port: port) { transport in
                for (timeout, expected) in [("5S", ";deadline"), ("99999999H", ";deadline"), (nil, "")] {
                    let answer = try await transport.unary(Echo.timeout, metadata: timeout.map { ["grpc-timeout": .string($0)] } ?? [:], request: [])
                    #expect(answer.message.map { String(decoding: $0, as: UTF8.self) } == expected, "\(timeout ?? "none")")
                }
                let hung = try await transport.unary(Echo.hang, metadata: ["grpc-timeout": "300m", "announce": "yes"], request: [])
                #expect(hung.status.code == .cancelled)
                #expect(await firstEvent(of: events) == "hang started")
                #expect(await firstEvent(of: events) == "hang cancelled")
            }
        }
    }

    /// A call with the transport's deadline waits for a connection only
    /// until then: with no server, it fails DEADLINE_EXCEEDED instead of
    /// waiting for one for ever.
    @Test(.timeLimit(.minutes(1)))
    func theTransportsCallTimeoutBoundsTheWaitForAConnection() async throws {
        let port = try await closedPort()
        try await withFrameClient(port: port, callTimeout: .milliseconds(300)) { client in
            _ = await expectFailure(.deadlineExceeded, calling: Echo.unary, with: [], on: client)
        }
        try await withTransport(port: port, callTimeout: .milliseconds(300)) { transport in
            await #expect { try await transport.unary(Echo.unary, metadata: [:], request: []) } throws: {
                ($0 as? RPCError)?.code == .deadlineExceeded
            }
        }
    }

    /// A process that is stopping tells its peers' transports to stop
    /// waiting for connections: a call waiting for a server that is gone
    /// fails UNAVAILABLE then, not when its deadline passes (90 s here,
    /// past the test's time limit), and so does every later call that
    /// finds no connection; calls on a connection that is up are served as
    /// before.
    @Test(.timeLimit(.minutes(1)))
    func aTransportThatStopsWaitingFailsOnlyTheCallsWithoutAConnection() async throws {
        let stopping: @Sendable (any Error) -> Bool = { error in
            guard let error = error as? RPCError else { return false }
            return error.code == .unavailable && error.message.contains("this process is stopping")
        }
        let port = try await closedPort()
        try await withTransport(port: port, callTimeout: .seconds(90)) { transport in
            let waiting = Task { try await transport.unary(Echo.unary, metadata: [:], request: []) }
            try await Task.sleep(for: .milliseconds(200))
            transport.stopWaitingForConnections()
            for call in [waiting, Task { try await transport.unary(Echo.unary, metadata: [:], request: []) }] {
                do {
                    _ = try await call.value
                    Issue.record("a call with no connection was served")
                } catch {
                    #expect(stopping(error), "\(error)")
                }
            }
        }
        try await serve([Echo(events: nil, gate: Gate())], on: .frames) { port in
            try await withTransport(port: port) { transport in
                let before = try await transport.unary(Echo.unary, metadata: [:], request: [1])
                transport.stopWaitingForConnections()
                let after = try await transport.unary(Echo.unary, metadata: [:], request: [2])
                #expect(before.message == [1] && after.message == [2])
            }
        }
    }

    /// `grpc-timeout` as `GRPCWireFormat` writes it: eight digits at most,
    /// the finest unit that fits, rounded up.
    @Test func grpcTimeoutValues() {
        #expect(GRPCWireFormat.timeout(.nanoseconds(1)) == "1m")
        #expect(GRPCWireFormat.timeout(.milliseconds(2_000)) == "2000m")
        #expect(GRPCWireFormat.timeout(.nanoseconds(2_000_000_001)) == "2001m")
        #expect(GRPCWireFormat.timeout(.milliseconds(99_999_999)) == "99999999m")
        #expect(GRPCWireFormat.timeout(.milliseconds(100_000_000)) == "100000S")
        #expect(GRPCWireFormat.timeout(.hours(30_000)) == "1800000M")
        #expect(GRPCWireFormat.timeout(.hours(2_000_000)) == "2000000H")
    }

    // MARK: helpers

    /// A `FrameClientTransport` connecting to `port` for `body`, shut down after it.
    func withTransport(
        port: Int, callTimeout: Duration? = nil, _ body: (FrameClientTransport) async throws -> Void
    ) async throws {
        let transport = FrameClientTransport(.init(host: "127.0.0.1", port: port, callTimeout: callTimeout))
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await transport.connect() }
            defer { transport.beginGracefulShutdown() }
            try await body(transport)
        }
    }

    func withFrameClient<Result: Sendable>(
        port: Int, callTimeout: Duration? = nil, _ body: (FrameClient) async throws -> Result
    ) async throws -> Result {
        try await withClient(GRPCClient(transport: FrameClientTransport(.init(host: "127.0.0.1", port: port, callTimeout: callTimeout))), body)
    }

    /// A `grpc-timeout` value in whole milliseconds; 0 if it is not one.
    func milliseconds(_ timeout: String) -> Int {
        let perUnit: [Character: Double] = ["n": 1e-6, "u": 1e-3, "m": 1, "S": 1e3, "M": 6e4, "H": 3.6e6]
        guard let unit = timeout.last.flatMap({ perUnit[$0] }), let amount = Double(timeout.dropLast()) else { return 0 }
        return Int(amount * unit)
    }

    /// The `grpc-timeout` values the server's handler saw with an echo call.
    func timeoutsSent(on client: FrameClient, options: CallOptions = .defaults) async throws -> String {
        try await client.unary(
            request: ClientRequest(message: []), descriptor: Echo.timeout, serializer: Raw(), deserializer: Raw(), options: options
        ) { response in String(String(decoding: try response.message, as: UTF8.self).prefix { $0 != ";" }) }
    }

    func withEcho(
        on server: TransportChoice, events: AsyncStream<String>.Continuation? = nil,
        _ body: (_ client: FrameClient, _ port: Int) async throws -> Void
    ) async throws {
        try await serve([Echo(events: events, gate: Gate())], on: server) { port in
            try await withFrameClient(port: port) { client in try await body(client, port) }
        }
    }
}
