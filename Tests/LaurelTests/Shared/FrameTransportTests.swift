import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LaurelShared
import Synchronization
import Testing

/// Laurel's own server transport, driven by grpc-swift-nio-transport's
/// client: what gRPC over HTTP/2 asks of a server beyond a small unary call.
/// (The RPC tests, the end-to-end tests and the Python interop suite run
/// every Laurel call over it too.)
@Suite struct FrameTransportTests {
    // MARK: unary calls, metadata and statuses

    @Test func metadataOfEveryKindGoesBothWays() async throws {
        try await withEchoServer { client, _ in
            try await expectMetadataEchoed(on: client)
        }
    }

    @Test func anErrorStatusArrivesWithItsMessageIntact() async throws {
        try await withEchoServer { client, _ in
            // Outside printable ASCII, and a percent sign: grpc-message is percent-encoded on the wire.
            let message = "naïve 100% — déjà vu\nline two"
            let error = await expectFailure(.failedPrecondition, calling: Echo.fail, with: Array(message.utf8), on: client)
            #expect(error?.message == message)
            #expect(error.map { Array($0.metadata[stringValues: "reason"]) } == ["BECAUSE"])
        }
    }

    @Test func anUnknownMethodIsUnimplemented() async throws {
        try await withEchoServer { client, _ in
            await expectFailure(.unimplemented, calling: Echo.method("Nowhere"), with: [1], on: client)
        }
    }

    @Test func manyCallsAtOnceOnOneConnection() async throws {
        try await withEchoServer { client, _ in try await expectEchoes(300, atOnceOn: client) }
    }

    // MARK: sizes and flow control

    @Test func aRequestOverTheLimitIsRefusedAndTheConnectionGoesOn() async throws {
        try await withEchoServer(maxRequestLength: 1024) { client, _ in
            let refused = await expectFailure(.resourceExhausted, calling: Echo.unary, with: [UInt8](repeating: 7, count: 5000), on: client)
            #expect(refused?.laurelErrorInfo?.reason == "REQUEST_TOO_LARGE")
            #expect(refused?.laurelErrorInfo?.metadata == ["size": "5000", "max_bytes": "1024"])
            try await client.unary(
                request: ClientRequest(message: [UInt8](repeating: 7, count: 1024)), descriptor: Echo.unary,
                serializer: Raw(), deserializer: Raw(), options: .defaults
            ) { response in
                let message = try response.message
                #expect(message.count == 1024)
            }
        }
    }

    /// A request refused from its length prefix is reset while its client
    /// still sends it; HTTP/2 drops the frames that follow but they used the
    /// connection's window all the same, and it must be given back: counting
    /// only the frames read stalled the connection after a few.
    @Test func requestsRefusedPartWayLeaveTheConnectionsWindow() async throws {
        try await withEchoServer(maxRequestLength: 1024) { client, _ in
            // A stalled connection never answers; the deadline only ends the
            // test, generously, since the whole suite shares two cores.
            var options = CallOptions.defaults
            options.timeout = .seconds(30)
            for _ in 0..<12 {
                await expectFailure(.resourceExhausted, calling: Echo.unary, with: [UInt8](repeating: 7, count: 100_000), on: client, options: options)
            }
            let body = [UInt8](repeating: 9, count: 1024)
            try await client.unary(
                request: ClientRequest(message: body), descriptor: Echo.unary, serializer: Raw(), deserializer: Raw(), options: options
            ) { response in
                _ = try response.message
            }
        }
    }

    /// Three megabytes each way: far past HTTP/2's initial windows of 64 KiB,
    /// so both sides must give window back as they read.
    @Test func messagesLargerThanTheWindowsGoBothWays() async throws {
        try await withEchoServer(maxRequestLength: 8 << 20) { client, _ in
            let body = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try await client.unary(
                request: ClientRequest(message: body), descriptor: Echo.unary, serializer: Raw(), deserializer: Raw(), options: .defaults
            ) { response in
                let message = try response.message
                #expect(message == body)
            }
        }
    }

    /// Six megabytes streamed: more than the transport lets a handler get
    /// ahead of its client, so the handler's writes wait and resume.
    @Test func aLongAnswerStreamArrivesWhole() async throws {
        try await withEchoServer { client, _ in
            let count = 64, size = 100_000
            let received = try await client.serverStreaming(
                request: ClientRequest(message: Echo.encode(count, size)), descriptor: Echo.expand,
                serializer: Raw(), deserializer: Raw(), options: .defaults
            ) { response in
                var messages = 0, bytes = 0
                for try await message in response.messages {
                    #expect(message.allSatisfy { $0 == UInt8(messages % 251) })
                    messages += 1
                    bytes += message.count
                }
                return (messages, bytes)
            }
            #expect(received.0 == count)
            #expect(received.1 == count * size)
        }
    }

    /// The handler reads nothing at first, so the stream's window is held
    /// back once 16 requests wait unread; it must come back as the handler
    /// reads, or the client stalls and the deadline fails the call.
    @Test func aSlowReaderGetsEveryRequestOfALongStream() async throws {
        try await withEchoServer { client, _ in
            let count = 300, size = 1000
            var options = CallOptions.defaults
            options.timeout = .seconds(30)
            let total = try await client.clientStreaming(
                request: StreamingClientRequest(of: [UInt8].self) { writer in
                    for index in 0..<count { try await writer.write([UInt8](repeating: UInt8(index % 251), count: size)) }
                },
                descriptor: Echo.collect, serializer: Raw(), deserializer: Raw(), options: options
            ) { response in Echo.decode(try response.message) }
            #expect(total.0 == count)
            #expect(total.1 == count * size)
        }
    }

    @Test func bothSidesStreamAtOnce() async throws {
        try await withEchoServer { client, _ in
            let echoed = try await client.bidirectionalStreaming(
                request: StreamingClientRequest(of: [UInt8].self) { writer in
                    for index in 0..<50 { try await writer.write(Array("m\(index)".utf8)) }
                },
                descriptor: Echo.bidi, serializer: Raw(), deserializer: Raw(), options: .defaults
            ) { response in
                var all: [String] = []
                for try await message in response.messages { all.append(String(decoding: message, as: UTF8.self)) }
                return all
            }
            #expect(echoed == (0..<50).map { "m\($0)" })
        }
    }

    // MARK: deadlines, cancellation, compression

    @Test func aDeadlineEndsTheCallAndReachesTheHandler() async throws {
        let (events, sink) = AsyncStream.makeStream(of: String.self)
        try await withEchoServer(events: sink) { client, _ in try await expectDeadlineReachesTheHandler(on: client, events: events) }
    }

    @Test func aClientThatStopsReadingCancelsTheHandler() async throws {
        let (events, sink) = AsyncStream.makeStream(of: String.self)
        try await withEchoServer(events: sink) { client, _ in
            let got = try await client.serverStreaming(
                request: ClientRequest(message: []), descriptor: Echo.endless, serializer: Raw(), deserializer: Raw(), options: .defaults
            ) { response in
                var seen = 0
                for try await _ in response.messages {
                    seen += 1
                    if seen == 3 { break }
                }
                return seen
            }
            #expect(got == 3)
            #expect(await firstEvent(of: events) == "endless cancelled")
            // The connection serves on.
            try await expectEchoes(1, atOnceOn: client)
        }
    }

    @Test func aCompressedRequestIsRefusedNamingWhatIsAccepted() async throws {
        try await withEchoServer { _, port in
            let client = GRPCClient(transport: try .http2NIOPosix(
                target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext,
                config: .defaults { $0.compression = .init(algorithm: .gzip, enabledAlgorithms: .all) }))
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await client.runConnections() }
                defer { client.beginGracefulShutdown() }
                var options = CallOptions.defaults
                options.compression = .gzip
                let error = await expectFailure(.unimplemented, calling: Echo.unary, with: [1, 2, 3], on: client, options: options)
                #expect(error?.message.contains("gzip") == true)
            }
        }
    }

    // MARK: shutdown

    @Test func aGracefulShutdownLetsOpenCallsFinishAndRefusesNewOnes() async throws {
        let (events, sink) = AsyncStream.makeStream(of: String.self)
        let gate = Gate()
        let transport = FrameServerTransport(.init(host: "127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [Echo(events: sink, gate: gate)])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            let port = try #require(await transport.listeningAddress?.port)
            try await withClient(port: port) { client in
                async let answer = client.unary(
                    request: ClientRequest(message: []), descriptor: Echo.gated, serializer: Raw(), deserializer: Raw(), options: .defaults
                ) { response in try response.message }
                #expect(await firstEvent(of: events) == "gated waiting")
                server.beginGracefulShutdown()
                gate.open()
                let answered = try await answer
                #expect(answered == Array("through".utf8))
            }
            // serve() returns once the last connection has drained.
            try await group.next()
            try await expectUnavailable(port: port)
        }
    }


    /// The server that was at `port` is gone: a call there fails
    /// UNAVAILABLE. Tests run in parallel, and the port, once free, may
    /// already be another test's server, without this service: its
    /// UNIMPLEMENTED says as well that this server no longer answers (it
    /// would have answered the call).
    func expectUnavailable(port: Int) async throws {
        try await withClient(port: port) { client in
            var options = CallOptions.defaults
            options.timeout = .seconds(5)
            do {
                try await client.unary(
                    request: ClientRequest(message: []), descriptor: Echo.unary, serializer: Raw(), deserializer: Raw(), options: options
                ) { response in _ = try response.message }
                Issue.record("the call succeeded")
            } catch let error as RPCError {
                #expect(error.code == .unavailable || error.code == .unimplemented, "\(error)")
            }
        }
    }

    func withEchoServer(
        maxRequestLength: Int = 4 << 20, events: AsyncStream<String>.Continuation? = nil,
        _ body: (_ client: Client, _ port: Int) async throws -> Void
    ) async throws {
        try await withGRPCServer(
            transport: FrameServerTransport(.init(host: "127.0.0.1", port: 0, maxRequestLength: maxRequestLength)),
            services: [Echo(events: events, gate: Gate())]
        ) { server in
            guard let port = await server.transport.listeningAddress?.port else { throw HarnessFailure("server did not bind") }
            try await withClient(port: port) { client in try await body(client, port) }
        }
    }
}

/// Calls `method` of the echo service once with `body`, which must fail with
/// `code`; returns the error for what else a test checks of it.
@discardableResult
func expectFailure<Transport: ClientTransport>(
    _ code: RPCError.Code, calling method: MethodDescriptor, with body: [UInt8], on client: GRPCClient<Transport>,
    options: CallOptions = .defaults, sourceLocation: SourceLocation = #_sourceLocation
) async -> RPCError? {
    do {
        try await client.unary(
            request: ClientRequest(message: body), descriptor: method, serializer: Raw(), deserializer: Raw(), options: options
        ) { response in _ = try response.message }
        Issue.record("the call succeeded", sourceLocation: sourceLocation)
    } catch let error as RPCError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// String and binary metadata sent with a call come back in its headers and trailers.
func expectMetadataEchoed<Transport: ClientTransport>(on client: GRPCClient<Transport>) async throws {
    let metadata: Metadata = ["echo-text": "tea for two", "echo-data-bin": .binary([0, 1, 254, 255])]
    try await client.unary(
        request: ClientRequest(message: Array("hello".utf8), metadata: metadata),
        descriptor: Echo.unary, serializer: Raw(), deserializer: Raw(), options: .defaults
    ) { response in
        let message = try response.message
        #expect(message == Array("hello".utf8))
        #expect(Array(response.metadata[stringValues: "echo-text"]) == ["tea for two"])
        #expect(Array(response.metadata[binaryValues: "echo-data-bin"]) == [[0, 1, 254, 255]])
        #expect(Array(response.trailingMetadata[stringValues: "echo-text"]) == ["tea for two"])
        #expect(Array(response.trailingMetadata[binaryValues: "echo-data-bin"]) == [[0, 1, 254, 255]])
    }
}

/// `count` echo calls at once, each answered with its own body.
func expectEchoes<Transport: ClientTransport>(_ count: Int, atOnceOn client: GRPCClient<Transport>) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<count {
            group.addTask {
                let body = Array("call \(index)".utf8)
                try await client.unary(
                    request: ClientRequest(message: body), descriptor: Echo.unary, serializer: Raw(), deserializer: Raw(), options: .defaults
                ) { response in
                    let message = try response.message
                    #expect(message == body)
                }
            }
        }
        try await group.waitForAll()
    }
}

/// A call that outlives its deadline fails with DEADLINE_EXCEEDED on the
/// client, and the server's handler is told through its cancellation handle.
func expectDeadlineReachesTheHandler<Transport: ClientTransport>(
    on client: GRPCClient<Transport>, events: AsyncStream<String>, sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    // A connection already up, and a deadline long enough that the request
    // is sent before it passes even when the machine is busy with other
    // tests: a call whose deadline passes before it is sent never reaches a
    // handler at all.
    try await client.unary(
        request: ClientRequest(message: [1]), descriptor: Echo.unary, serializer: Raw(), deserializer: Raw(), options: .defaults
    ) { response in _ = try response.message }
    var options = CallOptions.defaults
    options.timeout = .seconds(4)
    await expectFailure(.deadlineExceeded, calling: Echo.hang, with: [], on: client, options: options, sourceLocation: sourceLocation)
    #expect(await firstEvent(of: events) == "hang cancelled", sourceLocation: sourceLocation)
}

/// The next thing a handler reports, or nil if nothing comes within 30 s
/// (so that a handler that never ran fails the test instead of hanging it).
func firstEvent(of events: AsyncStream<String>) async -> String? {
    await withTaskGroup(of: String?.self) { group in
        group.addTask {
            var iterator = events.makeAsyncIterator()
            return await iterator.next()
        }
        group.addTask {
            try? await Task.sleep(for: .seconds(30))
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

struct Raw: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}

/// Opens once, for every waiter.
final class Gate: Sendable {
    private let opened = Mutex<(Bool, [CheckedContinuation<Void, Never>])>((false, []))
    func open() {
        let waiters = opened.withLock { state in
            state.0 = true
            defer { state.1 = [] }
            return state.1
        }
        for waiter in waiters { waiter.resume() }
    }
    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = opened.withLock { state in
                if !state.0 { state.1.append(continuation) }
                return state.0
            }
            if isOpen { continuation.resume() }
        }
    }
}

/// A service of raw bytes with one method per thing a transport must carry.
struct Echo: RegistrableRPCService {
    static func method(_ name: String) -> MethodDescriptor { MethodDescriptor(fullyQualifiedService: "laurel.test.Echo", method: name) }
    static let unary = method("Unary"), fail = method("Fail"), expand = method("Expand"), collect = method("Collect")
    static let bidi = method("Bidi"), hang = method("Hang"), endless = method("Endless"), gated = method("Gated")
    /// Answers with the request's `grpc-timeout` values, comma-separated,
    /// and `;deadline` if the handler has one in `CallDeadline.current`.
    static let timeout = method("Timeout")

    let events: AsyncStream<String>.Continuation?
    let gate: Gate

    static func encode(_ a: Int, _ b: Int) -> [UInt8] {
        withUnsafeBytes(of: (UInt64(a).bigEndian, UInt64(b).bigEndian)) { Array($0) }
    }

    static func decode(_ bytes: [UInt8]) -> (Int, Int) {
        func word(_ offset: Int) -> Int { bytes[offset..<offset + 8].reduce(0) { $0 << 8 | Int($1) } }
        return (word(0), word(8))
    }

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        func register(
            _ method: MethodDescriptor,
            _ handler: @Sendable @escaping (StreamingServerRequest<[UInt8]>, ServerContext) async throws -> StreamingServerResponse<[UInt8]>
        ) {
            router.registerHandler(forMethod: method, deserializer: Raw(), serializer: Raw(), handler: handler)
        }
        let events = events, gate = gate

        register(Self.unary) { request, _ in
            var echoed = Metadata()
            for (key, value) in request.metadata where key.hasPrefix("echo-") {
                switch value {
                case .string(let text): echoed.addString(text, forKey: key)
                case .binary(let bytes): echoed.addBinary(bytes, forKey: key)
                }
            }
            var body: [UInt8] = []
            for try await message in request.messages { body += message }
            return StreamingServerResponse(single: ServerResponse(message: body, metadata: echoed, trailingMetadata: echoed))
        }
        register(Self.timeout) { request, _ in
            for try await _ in request.messages {}
            let timeouts = request.metadata[stringValues: "grpc-timeout"].joined(separator: ",")
            let deadline = CallDeadline.current == nil ? "" : ";deadline"
            return StreamingServerResponse(single: ServerResponse(message: Array((timeouts + deadline).utf8)))
        }
        register(Self.fail) { request, _ in
            var body: [UInt8] = []
            for try await message in request.messages { body += message }
            throw RPCError(code: .failedPrecondition, message: String(decoding: body, as: UTF8.self), metadata: ["reason": "BECAUSE"])
        }
        register(Self.expand) { request, _ in
            var spec: [UInt8] = []
            for try await message in request.messages { spec += message }
            let (count, size) = Self.decode(spec)
            return StreamingServerResponse(of: [UInt8].self) { writer in
                for index in 0..<count { try await writer.write([UInt8](repeating: UInt8(index % 251), count: size)) }
                return [:]
            }
        }
        register(Self.collect) { request, _ in
            // Reads nothing until the client is well ahead.
            try await Task.sleep(for: .milliseconds(300))
            var count = 0, bytes = 0
            for try await message in request.messages {
                #expect(message.allSatisfy { $0 == UInt8(count % 251) })
                count += 1
                bytes += message.count
            }
            return StreamingServerResponse(single: ServerResponse(message: Self.encode(count, bytes)))
        }
        register(Self.bidi) { request, _ in
            StreamingServerResponse(of: [UInt8].self) { writer in
                for try await message in request.messages { try await writer.write(message) }
                return [:]
            }
        }
        register(Self.hang) { request, _ in
            // A caller that cancels rather than waits for a deadline asks to
            // hear when the handler runs: a stream reset before then never
            // reaches a handler at all.
            if request.metadata[stringValues: "announce"].contains(where: { _ in true }) { events?.yield("hang started") }
            // GRPCCore tells a handler of a deadline through its context's
            // cancellation handle; the handler decides how to stop.
            let stop = Gate()
            try await withRPCCancellationHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await stop.wait() }
                    group.addTask {
                        try await Task.sleep(for: .seconds(30))
                        events?.yield("hang not cancelled")
                        stop.open()
                    }
                    try await group.next()
                    group.cancelAll()
                }
            } onCancelRPC: {
                events?.yield("hang cancelled")
                stop.open()
            }
            throw RPCError(code: .cancelled, message: "the call was cancelled")
        }
        register(Self.endless) { _, _ in
            StreamingServerResponse(of: [UInt8].self) { writer in
                do {
                    while true {
                        try await writer.write([1, 2, 3])
                        try await Task.sleep(for: .milliseconds(5))
                    }
                } catch {
                    events?.yield("endless cancelled")
                    throw error
                }
            }
        }
        register(Self.gated) { _, _ in
            events?.yield("gated waiting")
            await gate.wait()
            return StreamingServerResponse(single: ServerResponse(message: Array("through".utf8)))
        }
    }
}
