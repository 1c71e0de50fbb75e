import GRPCCore
import LaurelShared
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Testing

/// Requests no gRPC client would send, over a bare HTTP/2 connection: the
/// transport answers each before any handler sees it.
@Suite struct FrameTransportRawTests {
    static let valid: HPACKHeaders = [
        ":method": "POST", ":scheme": "http", ":path": "/laurel.test.Echo/Unary", ":authority": "localhost",
        "content-type": "application/grpc", "te": "trailers",
    ]

    /// The valid request with one header's value changed, in its place
    /// (pseudo-headers must come first).
    func replacing(_ name: String, with value: String) -> HPACKHeaders {
        HPACKHeaders(Self.valid.map { ($0.name, $0.name == name ? value : $0.value) })
    }

    @Test func aRequestThatIsNotGRPCGetsHTTP415() async throws {
        let answer = try await exchange(replacing("content-type", with: "text/plain"))
        #expect(answer.headers.first?.first(name: ":status") == "415")
        #expect(answer.ended)
    }

    @Test func aMethodOtherThanPOSTIsInvalid() async throws {
        let answer = try await exchange(replacing(":method", with: "PUT"))
        #expect(answer.headers.first?.first(name: ":status") == "200")
        #expect(answer.headers.first?.first(name: "grpc-status") == String(Status.Code.invalidArgument.rawValue))
    }

    @Test func aPathThatNamesNoMethodIsUnimplemented() async throws {
        let answer = try await exchange(replacing(":path", with: "/no-service-here"))
        #expect(answer.headers.first?.first(name: "grpc-status") == String(Status.Code.unimplemented.rawValue))
    }

    @Test func aValidRequestIsAnsweredInFull() async throws {
        var body = ByteBufferAllocator().buffer(capacity: 8)
        body.writeInteger(UInt8(0))
        body.writeInteger(UInt32(3))
        body.writeBytes([1, 2, 3])
        let answer = try await exchange(Self.valid, body: body)
        #expect(answer.headers.count == 2)
        #expect(answer.headers.first?.first(name: "content-type") == "application/grpc")
        #expect(answer.headers.last?.first(name: "grpc-status") == "0")
        #expect(answer.data == [0, 0, 0, 0, 3, 1, 2, 3])
    }

    struct Answer: Sendable {
        var headers: [HPACKHeaders] = []
        var data: [UInt8] = []
        var ended = false
    }

    /// Opens a connection to an echo server, sends one request on stream 1
    /// and collects what comes back on it until the server ends the stream.
    func exchange(_ headers: HPACKHeaders, body: ByteBuffer? = nil) async throws -> Answer {
        let server = GRPCServer(transport: FrameServerTransport(.init(host: "127.0.0.1", port: 0)), services: [Echo(events: nil, gate: Gate())])
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            let port = try #require(await server.transport.listeningAddress?.port)
            let answered = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Answer.self)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client))
                        try channel.pipeline.syncOperations.addHandler(OneRequest(headers: headers, body: body, answered: answered))
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            defer { channel.close(promise: nil) }
            return try await answered.futureResult.get()
        }
    }
}

private final class OneRequest: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame
    let headers: HPACKHeaders
    let body: ByteBuffer?
    let answered: EventLoopPromise<FrameTransportRawTests.Answer>
    var answer = FrameTransportRawTests.Answer()

    init(headers: HPACKHeaders, body: ByteBuffer?, answered: EventLoopPromise<FrameTransportRawTests.Answer>) {
        self.headers = headers
        self.body = body
        self.answered = answered
    }

    func channelActive(context: ChannelHandlerContext) {
        let id = HTTP2StreamID(1)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers, endStream: body == nil)))), promise: nil)
        if let body { context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(body), endStream: true)))), promise: nil) }
        context.flush()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.streamID == 1 else { return }
        switch frame.payload {
        case .headers(let headers):
            answer.headers.append(headers.headers)
            if headers.endStream { finish() }
        case .data(let data):
            if case .byteBuffer(var bytes) = data.data { answer.data += bytes.readBytes(length: bytes.readableBytes) ?? [] }
            if data.endStream { finish() }
        case .rstStream:
            finish()
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answered.fail(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        answered.fail(ChannelError.ioOnClosedChannel)
    }

    private func finish() {
        answer.ended = true
        answered.succeed(answer)
    }
}
