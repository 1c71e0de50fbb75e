import GRPCCore
import LaurelShared
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Synchronization
import Testing

/// gRPC's transparent retry in Laurel's client transport: a call the server
/// refused without processing it (GOAWAY below its stream, REFUSED_STREAM)
/// goes out once more, on the next connection; a call the server may have
/// processed is never sent again. The server here is bare HTTP/2, so that
/// it refuses exactly when the test says.
@Suite struct FrameClientResendTests {
    typealias FrameClient = GRPCClient<FrameClientTransport>

    /// A unary call, and one through the transport's own `unary`, each
    /// refused on its first try, answered on the second.
    @Test(arguments: [RefusingServer.Refusal.goAwayBeforeTheCall, .refusedStream])
    func aCallTheServerRefusedUnprocessedIsSentAgain(refusal: RefusingServer.Refusal) async throws {
        try await RefusingServer.run(refusing: refusal) { server in
            let transport = FrameClientTransport(.init(host: "127.0.0.1", port: server.port))
            try await withClient(GRPCClient(transport: transport)) { client in
                let answer = try await client.unary(
                    request: ClientRequest(message: [1, 2, 3]), descriptor: Echo.unary, serializer: Raw(), deserializer: Raw(),
                    options: .defaults
                ) { response in try response.message }
                #expect(answer == [1, 2, 3])
                #expect(server.requests == [[0, 0, 0, 0, 3, 1, 2, 3], [0, 0, 0, 0, 3, 1, 2, 3]])

                let direct = try await transport.unary(Echo.unary, metadata: [:], request: [4])
                #expect(direct.status.code == .ok)
                #expect(direct.message == [4])
                #expect(server.requests.suffix(2) == [[0, 0, 0, 0, 1, 4], [0, 0, 0, 0, 1, 4]])
            }
        }
    }

    /// Once only: refused again, the call fails UNAVAILABLE, which says it
    /// is safe to make again.
    @Test func aCallRefusedTwiceFails() async throws {
        try await RefusingServer.run(refusing: .refusedStream, always: true) { server in
            try await withClient(GRPCClient(transport: FrameClientTransport(.init(host: "127.0.0.1", port: server.port)))) { client in
                let error = await expectFailure(.unavailable, calling: Echo.unary, with: [7], on: client)
                #expect(error?.message == "ipv4:127.0.0.1:\(server.port) refused the call without processing it (REFUSED_STREAM)")
                #expect(server.requests.count == 2)
            }
        }
    }

    /// A refused call whose caller gives up while no connection comes is
    /// not sent at all: a request must not reach a server after its caller
    /// stopped waiting for the answer.
    @Test func aRefusedCallWhoseCallerGaveUpIsNotSentAgain() async throws {
        try await RefusingServer.run(refusing: .goAwayBeforeTheCall, stopsListening: true) { server in
            try await withClient(GRPCClient(transport: FrameClientTransport(.init(host: "127.0.0.1", port: server.port)))) { client in
                let call = Task {
                    try await client.unary(
                        request: ClientRequest(message: [9]), descriptor: Echo.unary, serializer: Raw(), deserializer: Raw(),
                        options: .defaults
                    ) { response in try response.message }
                }
                // The client closes the refused connection once the call has left it for the next.
                try await server.waitForAClosedConnection()
                call.cancel()
                await #expect(throws: (any Error).self) { try await call.value }
                #expect(server.requests == [[0, 0, 0, 0, 1, 9]])
                // A server on the port again: the client connects, and only the next call reaches it.
                try await RefusingServer.run(refusing: nil, port: server.port) { back in
                    let answer = try await client.unary(
                        request: ClientRequest(message: [10]), descriptor: Echo.unary, serializer: Raw(), deserializer: Raw(),
                        options: .defaults
                    ) { response in try response.message }
                    #expect(answer == [10])
                    #expect(back.requests == [[0, 0, 0, 0, 1, 10]])
                }
            }
        }
    }

    /// A call within GOAWAY's last stream may have been processed: when the
    /// connection then closes without its answer, it fails and is not sent
    /// again.
    @Test func aCallTheServerMayHaveProcessedIsNotSentAgain() async throws {
        try await RefusingServer.run(refusing: .goAwayAfterTheCall) { server in
            try await withClient(GRPCClient(transport: FrameClientTransport(.init(host: "127.0.0.1", port: server.port)))) { client in
                await expectFailure(.unavailable, calling: Echo.unary, with: [8], on: client)
                #expect(server.requests == [[0, 0, 0, 0, 1, 8]])
            }
        }
    }
}

/// Bare HTTP/2 on loopback: it refuses a request, as `refusal` says, the
/// first time it gets it (or `always`), and answers it with its own message
/// when it comes again (and always, with no `refusal`). `stopsListening`:
/// it takes no more connections once it has refused one request.
final class RefusingServer: Sendable {
    enum Refusal: Sendable, CustomTestStringConvertible {
        /// GOAWAY with last stream 0, before the request is read: none processed.
        case goAwayBeforeTheCall
        /// RST_STREAM REFUSED_STREAM, the connection kept.
        case refusedStream
        /// GOAWAY naming the request's stream as processed, then the
        /// connection closed without an answer.
        case goAwayAfterTheCall

        var testDescription: String { "\(self)" }
    }

    let port: Int
    private let seen = Mutex<[[UInt8]]>([])
    private let closedConnections = Mutex(0)
    let refusal: Refusal?
    let always: Bool
    private let listener: (any Channel)?

    private init(port: Int, refusal: Refusal?, always: Bool, stopsListening listener: (any Channel)?) {
        self.port = port
        self.refusal = refusal
        self.always = always
        self.listener = listener
    }

    /// Waits until a connection to it has closed, for up to 10 s.
    func waitForAClosedConnection() async throws {
        for _ in 0..<1_000 {
            if closedConnections.withLock({ $0 > 0 }) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HarnessFailure("no connection to the server closed in 10 s")
    }

    func connectionClosed() {
        closedConnections.withLock { $0 += 1 }
    }

    /// Closes the listening socket if the server is to stop listening on refusing.
    func refusing() -> EventLoopFuture<Void>? {
        listener?.close()
    }

    /// The body of every request received, in order, refused ones included.
    var requests: [[UInt8]] { seen.withLock { $0 } }

    /// Whether to refuse this request.
    func received(_ body: [UInt8]) -> Bool {
        seen.withLock { seen in
            defer { seen.append(body) }
            return refusal != nil && (always || !seen.contains(body))
        }
    }

    static func run(
        refusing refusal: Refusal?, always: Bool = false, stopsListening: Bool = false, port: Int = 0,
        _ body: (RefusingServer) async throws -> Void
    ) async throws {
        let box = Mutex<RefusingServer?>(nil)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let server = box.withLock({ $0 }) else { throw ChannelError.ioOnClosedChannel }
                    try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .server))
                    try channel.pipeline.syncOperations.addHandler(RefusingHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        let server = RefusingServer(
            port: try #require(listener.localAddress?.port), refusal: refusal, always: always, stopsListening: stopsListening ? listener : nil)
        box.withLock { $0 = server }
        // Closed already if it stopped listening.
        do {
            try await body(server)
        } catch {
            try? await listener.close()
            throw error
        }
        try? await listener.close()
    }
}

private final class RefusingHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame
    let server: RefusingServer
    var bodies: [HTTP2StreamID: [UInt8]] = [:]

    init(server: RefusingServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            bodies[frame.streamID] = []
            if headers.endStream { requestEnded(frame.streamID, context: context) }
        case .data(let data):
            if case .byteBuffer(var bytes) = data.data { bodies[frame.streamID, default: []] += bytes.readBytes(length: bytes.readableBytes) ?? [] }
            if data.endStream { requestEnded(frame.streamID, context: context) }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        server.connectionClosed()
        context.fireChannelInactive()
    }

    private func requestEnded(_ id: HTTP2StreamID, context: ChannelHandlerContext) {
        let body = bodies.removeValue(forKey: id) ?? []
        guard server.received(body), let refusal = server.refusal else { return answer(id, body, context: context) }
        if let closed = server.refusing() {
            // Refused once the listener is closed, so that the client finds nothing to connect to.
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            closed.hop(to: context.eventLoop).whenComplete { _ in bound.value.0.refuse(id, refusal, context: bound.value.1) }
        } else {
            refuse(id, refusal, context: context)
        }
    }

    private func refuse(_ id: HTTP2StreamID, _ refusal: RefusingServer.Refusal, context: ChannelHandlerContext) {
        switch refusal {
        case .goAwayBeforeTheCall:
            write(.goAway(lastStreamID: .rootStream, errorCode: .noError, opaqueData: nil), on: .rootStream, context: context)
        case .refusedStream:
            write(.rstStream(.refusedStream), on: id, context: context)
        case .goAwayAfterTheCall:
            write(.goAway(lastStreamID: id, errorCode: .noError, opaqueData: nil), on: .rootStream, context: context)
            context.close(promise: nil)
        }
    }

    private func answer(_ id: HTTP2StreamID, _ body: [UInt8], context: ChannelHandlerContext) {
        write(.headers(.init(headers: [":status": "200", "content-type": "application/grpc"])), on: id, context: context)
        write(.data(.init(data: .byteBuffer(ByteBuffer(bytes: body)))), on: id, context: context)
        write(.headers(.init(headers: ["grpc-status": "0"], endStream: true)), on: id, context: context)
    }

    private func write(_ payload: HTTP2Frame.FramePayload, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: id, payload: payload)), promise: nil)
    }
}
