import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

/// GRPCCore's server, with a handler that reads its request and answers a
/// fixed message, over one of two transports:
/// - `nio`: grpc-swift-nio-transport's HTTP/2 transport (Laurel's `--transport nio`);
///   it gives every stream a child channel and async bridges of its own;
/// - `frames`: a transport written for this measurement only, which keeps
///   every stream of a connection on the connection's channel.
///
/// `frames` is an experiment, not a transport to serve with: it handles what
/// h2load and a unary call need (string metadata, request messages in DATA
/// frames, the connection's receive window) and nothing else (no stream
/// windows, deadlines, cancellation, compression, binary metadata, graceful
/// shutdown or validation of headers). Laurel's own transport
/// (`Shared/Transport`) is this design with all of those.

struct Raw: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}

struct NoOp: RegistrableRPCService {
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: MethodDescriptor(fullyQualifiedService: "laurel.v1.MemberService", method: "GetBalance"),
            deserializer: Raw(), serializer: Raw()
        ) { request, _ in
            for try await _ in request.messages {}
            return StreamingServerResponse(single: ServerResponse(message: [0x08, 0x96, 0x01, 0x10, 0x2a]))
        }
    }
}

// MARK: frame-level transport

final class FrameTransport: ServerTransport, Sendable {
    typealias Bytes = [UInt8]
    let group = MultiThreadedEventLoopGroup.singleton

    func listen(streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void) async throws {
        let (streams, continuation) = AsyncStream.makeStream(of: (RPCStream<Inbound, Outbound>, ServerContext).self)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOHTTP2Handler(mode: .server, initialSettings: nioDefaultSettings))
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(streams: continuation))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        print("listening on 127.0.0.1:\(channel.localAddress!.port!)")
        fflush(nil)
        await withDiscardingTaskGroup { group in
            for await (stream, context) in streams {
                group.addTask { await streamHandler(stream, context) }
            }
        }
    }

    func beginGracefulShutdown() {}
}

/// A response part goes to the connection's event loop and is written there;
/// nothing waits for the peer to read it (no backpressure), which a unary
/// answer of a few bytes never needs.
struct Writer: ClosableRPCWriterProtocol {
    typealias Element = RPCResponsePart<[UInt8]>
    let loop: any EventLoop
    let handler: NIOLoopBound<ConnectionHandler>
    let id: HTTP2StreamID
    func write(_ element: Element) async throws {
        let handler = handler, id = id
        loop.execute { handler.value.send(element, on: id) }
    }
    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { try await write(element) }
    }
    func finish() async {}
    func finish(throwing error: any Error) async {}
}

/// Every stream of one connection, on that connection's channel: a request's
/// messages are cut out of its DATA frames here and handed to GRPCCore through
/// one async stream; its answer comes back through `send`.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame
    struct Stream {
        var inbound: AsyncThrowingStream<RPCRequestPart<[UInt8]>, any Error>.Continuation
        var buffer: [UInt8] = []
        var sentHeaders = false
    }
    let streams: AsyncStream<(RPCStream<FrameTransport.Inbound, FrameTransport.Outbound>, ServerContext)>.Continuation
    var open: [HTTP2StreamID: Stream] = [:]
    var context: ChannelHandlerContext?
    var consumed = 0
    var needsFlush = false
    var reading = false

    init(streams: AsyncStream<(RPCStream<FrameTransport.Inbound, FrameTransport.Outbound>, ServerContext)>.Continuation) {
        self.streams = streams
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            guard open[frame.streamID] == nil else {
                if headers.endStream { open[frame.streamID]?.inbound.finish() }
                return
            }
            let path = headers.headers.first(name: ":path") ?? ""
            let parts = path.split(separator: "/")
            let descriptor = MethodDescriptor(fullyQualifiedService: String(parts.first ?? ""), method: String(parts.dropFirst().first ?? ""))
            var metadata = Metadata()
            for (name, value, _) in headers.headers where !name.hasPrefix(":") && name != "content-type" && name != "te" {
                metadata.addString(value, forKey: name)
            }
            let (inbound, continuation) = AsyncThrowingStream.makeStream(of: RPCRequestPart<[UInt8]>.self)
            continuation.yield(.metadata(metadata))
            if headers.endStream { continuation.finish() }
            open[frame.streamID] = Stream(inbound: continuation)
            let writer = Writer(loop: context.eventLoop, handler: NIOLoopBound(self, eventLoop: context.eventLoop), id: frame.streamID)
            let stream = RPCStream(
                descriptor: descriptor,
                inbound: RPCAsyncSequence(wrapping: inbound),
                outbound: RPCWriter<RPCResponsePart<[UInt8]>>.Closable(wrapping: writer))
            streams.yield((stream, ServerContext(descriptor: descriptor, remotePeer: "", localPeer: "", cancellation: .init())))
        case .data(let payload):
            guard case .byteBuffer(var bytes) = payload.data else { return }
            // NIOHTTP2Handler leaves the connection's receive window to the
            // stream channels it would have made: give it back here.
            consumed += bytes.readableBytes
            if consumed > 16_384 {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: consumed))), promise: nil)
                consumed = 0
                needsFlush = true
            }
            guard var stream = open[frame.streamID] else { return }
            stream.buffer.append(contentsOf: bytes.readBytes(length: bytes.readableBytes) ?? [])
            while stream.buffer.count >= 5 {
                let length = Int(stream.buffer[1]) << 24 | Int(stream.buffer[2]) << 16 | Int(stream.buffer[3]) << 8 | Int(stream.buffer[4])
                guard stream.buffer.count >= 5 + length else { break }
                stream.inbound.yield(.message(Array(stream.buffer[5..<5 + length])))
                stream.buffer.removeFirst(5 + length)
            }
            if payload.endStream { stream.inbound.finish() }
            open[frame.streamID] = stream
        case .rstStream:
            // The client gave up: the handler's next read of the request fails.
            open.removeValue(forKey: frame.streamID)?.inbound.finish(throwing: CancellationError())
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        if needsFlush { needsFlush = false; context.flush() }
        context.fireChannelReadComplete()
    }

    func send(_ part: RPCResponsePart<[UInt8]>, on id: HTTP2StreamID) {
        guard let context, open[id] != nil else { return }
        switch part {
        case .metadata(let metadata):
            var headers: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
            for entry in metadata { if case .string(let value) = entry.value { headers.add(name: entry.key, value: value) } }
            open[id]?.sentHeaders = true
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: nil)
        case .message(let message):
            var buffer = context.channel.allocator.buffer(capacity: 5 + message.count)
            buffer.writeInteger(UInt8(0)); buffer.writeInteger(UInt32(message.count)); buffer.writeBytes(message)
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(buffer))))), promise: nil)
        case .status(let status, let metadata):
            var headers: HPACKHeaders = [:]
            if open[id]?.sentHeaders != true { headers.add(name: ":status", value: "200"); headers.add(name: "content-type", value: "application/grpc") }
            headers.add(name: "grpc-status", value: String(status.code.rawValue))
            if !status.message.isEmpty { headers.add(name: "grpc-message", value: status.message) }
            for entry in metadata { if case .string(let value) = entry.value { headers.add(name: entry.key, value: value) } }
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers, endStream: true)))), promise: nil)
            open.removeValue(forKey: id)?.inbound.finish()
        }
        // Answers made while a read burst is handled go out with its last
        // flush; any other is flushed at once.
        if reading { needsFlush = true } else { context.flush() }
    }
}

@main struct GRPCCeiling {
    static func main() async throws {
        if CommandLine.arguments.dropFirst().first == "nio" {
            let server = GRPCServer(
                transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
                services: [NoOp()])
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                if let address = try await server.listeningAddress?.ipv4 { print("listening on 127.0.0.1:\(address.port)"); fflush(nil) }
            }
        } else {
            let server = GRPCServer(transport: FrameTransport(), services: [NoOp()])
            try await server.serve()
        }
    }
}
