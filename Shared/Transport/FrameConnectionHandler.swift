import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// A stream a connection has handed to GRPCCore.
struct FrameStreamStart: Sendable {
    var stream: RPCStream<FrameServerTransport.Inbound, FrameServerTransport.Outbound>
    var state: FrameStreamState
    var remotePeer: String
    var localPeer: String
    /// From the request's `grpc-timeout`, which the transport keeps itself.
    var deadline: ContinuousClock.Instant?
}

/// Every gRPC stream of one HTTP/2 connection, served on the connection's own
/// channel: requests are cut out of DATA frames here and handed to GRPCCore
/// through one async stream each; answers come back through `send`. There is
/// no channel, pipeline or async bridge per stream, which is where
/// grpc-swift-nio-transport spends most of a small call's CPU
/// (docs/performance.md, "The transport's ceiling").
///
/// Runs only on its connection's event loop.
final class FrameConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private struct OpenStream {
        /// Nil once the client has sent all it will (or its requests failed).
        var inbound: PartBuffer<RPCRequestPart<[UInt8]>>?
        /// Whether the client has ended its side of the stream.
        var clientDone = false
        var deframer: MessageDeframer
        let state: FrameStreamState
        var sentHeaders = false
        var yielded = 0
        /// Bytes received whose receive window is held until the handler reads.
        var withheldCredit = 0
        /// Tells the handler at the call's deadline; cancelled as the stream ends.
        var expiry: Scheduled<Void>?
    }

    /// Requests a handler may leave unread before the stream's receive
    /// window is held back, so a client cannot fill the server's memory.
    static let unreadRequestsLimit = 16
    /// A stream's window is given back once this much of it is used.
    static let creditThreshold = 16_384

    private let maxRequestLength: Int
    private let start: @Sendable (FrameStreamStart) -> Void
    private var streams: [HTTP2StreamID: OpenStream] = [:]
    private var context: ChannelHandlerContext? { writer.context }
    private var remotePeer: String { writer.remotePeer }
    private var localPeer: String { writer.localPeer }
    private let writer = FrameWriter()
    private var quiescing = false
    private var closing = false
    private var lastStreamID = HTTP2StreamID.rootStream

    init(maxRequestLength: Int, start: @escaping @Sendable (FrameStreamStart) -> Void) {
        self.maxRequestLength = maxRequestLength
        self.start = start
    }

    func handlerAdded(context: ChannelHandlerContext) {
        writer.attach(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeAll()
        writer.detach()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // HTTP/2 has answered its own errors already: one stream's with
        // RST_STREAM (and a StreamClosedEvent), the connection's with
        // GOAWAY. Without stream channels both arrive here unwrapped, so a
        // connection error is known by its kind; the socket's errors end the
        // connection too.
        if error is any NIOHTTP2Error, !Self.endsTheConnection(error) { return }
        context.close(promise: nil)
    }

    static func endsTheConnection(_ error: any Error) -> Bool {
        switch error {
        case is NIOHTTP2Errors.BadClientMagic, is NIOHTTP2Errors.MissingPreface, is NIOHTTP2Errors.UnableToParseFrame,
            is NIOHTTP2Errors.ReceivedBadSettings, is NIOHTTP2Errors.InvalidSetting,
            is NIOHTTP2Errors.ExcessiveOutboundFrameBuffering, is NIOHTTP2Errors.ExcessiveEmptyDataFrames,
            is NIOHTTP2Errors.ExcessiveNumberOfGlitches, is NIOHTTP2Errors.ExcessiveRSTFrames,
            is NIOHTTP2Errors.ExcessiveControlFrames, is NIOHTTP2Errors.ExcessiveContinuationFrames,
            is NIOHTTP2Errors.ExcessiveStreamErrors:
            true
        default:
            false
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent {
            // Reset by the client, or by HTTP/2 for an error, before the status went out.
            if let stream = streams.removeValue(forKey: closed.streamID) { cancel(stream) }
            closeIfDrained()
        } else if event is ChannelShouldQuiesceEvent {
            quiescing = true
            context.writeAndFlush(
                wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil))),
                promise: nil)
            closeIfDrained()
        } else {
            writer.observe(event)
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        writer.readBegan()
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers): receive(headers, on: frame.streamID, context: context)
        case .data(let data): receive(data, on: frame.streamID, context: context)
        default: break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        writer.readCompleted()
        context.fireChannelReadComplete()
    }

    // MARK: requests

    private func receive(_ frame: HTTP2Frame.FramePayload.Headers, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        if var stream = streams[id] {
            // The client's trailers: it has sent all it will.
            if frame.endStream {
                finishInbound(&stream)
                streams[id] = stream
            }
            return
        }
        // A client opens streams in rising order: a lower id is a stream
        // already answered (its trailers, say), not a new request.
        guard id > lastStreamID else { return }
        guard !quiescing else {
            // HTTP/2 drops streams above GOAWAY's last one; this is the belt to its braces.
            write(.rstStream(.refusedStream), on: id)
            return scheduleFlush()
        }
        lastStreamID = id
        let headers = frame.headers
        /// A request answered before any handler saw it; a client still sending is told to stop.
        func reject(_ answer: HPACKHeaders) {
            write(.headers(.init(headers: answer, endStream: true)), on: id)
            if !frame.endStream { write(.rstStream(.noError), on: id) }
            scheduleFlush()
        }
        func refuse(_ code: Status.Code, _ message: String, _ metadata: Metadata = [:]) {
            reject(GRPCWireFormat.trailers(Status(code: code, message: message), metadata, trailersOnly: true))
        }
        guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix(GRPCWireFormat.contentType) else {
            // Not gRPC at all: answered in HTTP's terms, as gRPC asks.
            return reject([":status": "415"])
        }
        guard headers.first(name: ":method") == "POST" else {
            return refuse(.invalidArgument, "a gRPC request's :method must be POST")
        }
        guard let path = headers.first(name: ":path"), let descriptor = GRPCWireFormat.method(path: path) else {
            return refuse(.unimplemented, "no method at this :path")
        }
        if let encoding = headers.first(name: "grpc-encoding"), encoding != "identity" {
            return refuse(
                .unimplemented, "\(encoding) compression is not supported; supported algorithms are listed in grpc-accept-encoding",
                ["grpc-accept-encoding": "identity"])
        }

        var metadata = GRPCWireFormat.metadata(from: headers)
        let state = FrameStreamState()
        // The deadline is kept here, on the loop, and reaches handlers as
        // `CallDeadline.current`: left in the metadata, GRPCCore would keep it
        // with a task and a timer of Swift's per call (docs/performance.md).
        var deadline: ContinuousClock.Instant?
        var expiry: Scheduled<Void>?
        if let text = headers.first(name: "grpc-timeout"), let timeout = CallDeadline.timeout(Substring(text)) {
            metadata.removeAllValues(forKey: "grpc-timeout")
            deadline = .now + timeout
            expiry = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) { state.deadlinePassed() }
        }
        let parts = PartBuffer<RPCRequestPart<[UInt8]>>()
        parts.yield(.metadata(metadata))
        var stream = OpenStream(inbound: parts, deframer: MessageDeframer(maxLength: maxRequestLength), state: state, expiry: expiry)
        if frame.endStream { finishInbound(&stream) }
        streams[id] = stream

        let connection = NIOLoopBound(self, eventLoop: context.eventLoop)
        let inbound = FrameInbound(parts: parts, state: state) {
            connection.eventLoop.execute { connection.value.releaseCredit(id) }
        }
        start(FrameStreamStart(
            stream: RPCStream(
                descriptor: descriptor,
                inbound: RPCAsyncSequence(wrapping: inbound),
                outbound: RPCWriter.Closable(wrapping: FrameOutbound(connection: connection, id: id, state: state))),
            state: state, remotePeer: remotePeer, localPeer: localPeer, deadline: deadline))
    }

    private func receive(_ frame: HTTP2Frame.FramePayload.Data, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        guard case .byteBuffer(let bytes) = frame.data else { return }
        let flowControlled = bytes.readableBytes + (frame.paddingBytes ?? 0)
        guard var stream = streams[id], stream.inbound != nil else { return }
        stream.deframer.append(bytes)
        do {
            while let message = try stream.deframer.next() {
                stream.inbound?.yield(.message(message))
                stream.yielded += 1
            }
        } catch {
            switch error {
            case .compressed:
                failInbound(&stream, RPCError(code: .internalError, message: "a compressed message, but the request named no grpc-encoding"))
            case .tooLong(let length):
                // From the length prefix, before any of it is buffered.
                failInbound(&stream, RPCError(RequestTooLarge(size: length, maxBytes: maxRequestLength)))
            }
        }
        if frame.endStream {
            if stream.deframer.hasPartialMessage {
                failInbound(&stream, RPCError(code: .internalError, message: "the request ended inside a message"))
            }
            finishInbound(&stream)
        } else {
            stream.withheldCredit += flowControlled
            giveBackCredit(id, &stream)
        }
        streams[id] = stream
    }

    /// The stream's receive window goes back to the client unless the handler
    /// has too many requests unread; then it waits for the handler to read.
    private func giveBackCredit(_ id: HTTP2StreamID, _ stream: inout OpenStream) {
        guard stream.inbound != nil, stream.withheldCredit > 0 else { return }
        let unread = stream.yielded - stream.state.consumed.load(ordering: .relaxed)
        if unread > Self.unreadRequestsLimit {
            stream.state.wantsCredit.store(true, ordering: .sequentiallyConsistent)
            // The handler may have read them all meanwhile.
            guard stream.yielded - stream.state.consumed.load(ordering: .sequentiallyConsistent) <= Self.unreadRequestsLimit else { return }
        }
        if stream.withheldCredit >= Self.creditThreshold || unread > Self.unreadRequestsLimit {
            write(.windowUpdate(windowSizeIncrement: stream.withheldCredit), on: id)
            stream.withheldCredit = 0
            scheduleFlush()
        }
    }

    func releaseCredit(_ id: HTTP2StreamID) {
        guard var stream = streams[id] else { return }
        giveBackCredit(id, &stream)
        streams[id] = stream
    }

    private func finishInbound(_ stream: inout OpenStream) {
        stream.inbound?.finish()
        stream.inbound = nil
        stream.clientDone = true
    }

    private func failInbound(_ stream: inout OpenStream, _ error: RPCError) {
        stream.inbound?.finish(throwing: error)
        stream.inbound = nil
    }

    // MARK: answers

    func send(_ part: RPCResponsePart<[UInt8]>, on id: HTTP2StreamID) {
        guard context != nil, var stream = streams[id] else { return }
        switch part {
        case .metadata(let metadata):
            // At once: a client may wait for the headers before it sends.
            stream.sentHeaders = true
            streams[id] = stream
            write(.headers(.init(headers: GRPCWireFormat.responseHeaders(metadata))), on: id)
        case .message(let message):
            writer.writeMessage(message, on: id, state: stream.state)
        case .status(let status, let metadata):
            write(.headers(.init(headers: GRPCWireFormat.trailers(status, metadata, trailersOnly: !stream.sentHeaders), endStream: true)), on: id)
            end(id, stream)
        }
        scheduleFlush()
    }

    /// The status is out: the stream is done with, and a client still
    /// sending is told to stop.
    private func end(_ id: HTTP2StreamID, _ stream: OpenStream) {
        streams.removeValue(forKey: id)
        stream.expiry?.cancel()
        let clientStillSending = !stream.clientDone
        var stream = stream
        finishInbound(&stream)
        stream.state.close(cancelled: false)
        if clientStillSending { write(.rstStream(.noError), on: id) }
        closeIfDrained()
    }

    /// A handler that ended without a status: the client sees the stream reset.
    func abandon(_ id: HTTP2StreamID) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        write(.rstStream(.internalError), on: id)
        cancel(stream)
        scheduleFlush()
        closeIfDrained()
    }

    private func cancel(_ stream: OpenStream) {
        stream.expiry?.cancel()
        stream.inbound?.finish(throwing: RPCError(code: .cancelled, message: "the client cancelled the call"))
        stream.state.close(cancelled: true)
    }

    private func closeAll() {
        let open = streams
        streams = [:]
        for stream in open.values { cancel(stream) }
    }

    /// Once shutting down, the connection closes as its last stream ends:
    /// on the next turn of the loop, after HTTP/2 has passed on the last
    /// frames, and output first, so that bytes still queued for the socket
    /// are sent rather than dropped (as a full close would).
    private func closeIfDrained() {
        guard quiescing, streams.isEmpty, !closing, let context else { return }
        closing = true
        context.flush()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let context = bound.value
            let outputClosed = context.eventLoop.makePromise(of: Void.self)
            context.close(mode: .output, promise: outputClosed)
            outputClosed.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    private func write(_ payload: HTTP2Frame.FramePayload, on id: HTTP2StreamID) {
        writer.write(payload, on: id)
    }

    private func scheduleFlush() {
        writer.scheduleFlush()
    }
}

extension SocketAddress {
    /// `host:port`, or `[host]:port` for IPv6; nil for a Unix socket.
    var hostAndPort: String? {
        guard let host = ipAddress, let port else { return nil }
        if case .v6 = self { return "[\(host)]:\(port)" }
        return "\(host):\(port)"
    }
}
