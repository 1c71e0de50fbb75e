import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import Synchronization

/// One call's stream as its task and its connection's event loop share it.
/// It has no HTTP/2 stream id until its request headers go out: HTTP/2 wants
/// a client's streams opened in the order of their ids, and only the event
/// loop knows that order.
final class FrameClientStream: Sendable {
    let descriptor: MethodDescriptor
    /// The connection the call opens on. It changes only before the call's
    /// headers go out: a call that took a connection which closed before
    /// the call opened moves to the next one (`FrameClientTransport.opening`).
    let connection: Mutex<FrameClientTransport.Ready>
    /// The answer's parts, added by the event loop.
    let inbound = PartBuffer<RPCResponsePart<[UInt8]>>()
    /// The request's unsent bytes (a large request waits while the server
    /// reads slowly) and whether the stream is still open.
    let state = FrameStreamState()
    /// The request headers, held until the first message or the end of the
    /// request so that both go to the event loop together.
    let pendingMetadata = Mutex<Metadata?>(nil)
    /// Whether the call waits for a connection, also when it is sent again.
    let waitForReady: Bool
    /// When the transport ends the call if unanswered (`Config.callTimeout`).
    let deadline: NIODeadline?
    private let sentAgain = Atomic<Bool>(false)

    init(descriptor: MethodDescriptor, on connection: FrameClientTransport.Ready, waitForReady: Bool, deadline: NIODeadline? = nil) {
        self.descriptor = descriptor
        self.connection = Mutex(connection)
        self.waitForReady = waitForReady
        self.deadline = deadline
    }

    var handler: NIOLoopBound<FrameClientConnectionHandler> { connection.withLock { $0.handler } }

    /// True once: a call is sent again at most once, as gRPC's transparent
    /// retry does for a call the server refused.
    func maySendAgain() -> Bool {
        !sentAgain.exchange(true, ordering: .relaxed)
    }

    /// The call's task is done with it. Marked closed at once, from the
    /// task: a connection about to send the call again, on another event
    /// loop, must see that before the call's own connection gets to it. Then
    /// the connection the call is on now (it may have moved) lets go of it.
    func release() {
        state.close(cancelled: true)
        let connection = handler
        connection.eventLoop.execute { connection.value.release(self) }
    }

    /// Ends the call with `error`, its answer incomplete.
    func fail(_ error: RPCError) {
        inbound.finish(throwing: error)
        state.close(cancelled: true)
    }
}

/// A call's request as it went out, kept until its answer begins, so that a
/// call the server refused without processing it can be sent again in full.
struct FrameClientResend: Sendable {
    /// A larger request is not kept, and fails if refused.
    static let maxBytes = 64 << 10

    let metadata: Metadata
    private(set) var first: [UInt8]?
    /// Messages after the first; empty for a unary request.
    private(set) var rest: [[UInt8]] = []
    private(set) var byteCount = 0

    init?(metadata: Metadata, first: [UInt8]?) {
        self.metadata = metadata
        if let first, !keep(first) { return nil }
    }

    /// Keeps one more message; false once the request is too large to keep.
    mutating func keep(_ message: [UInt8]) -> Bool {
        byteCount += message.count
        guard byteCount <= Self.maxBytes else { return false }
        if first == nil { first = message } else { rest.append(message) }
        return true
    }
}

/// Whether a connection still takes new calls, readable from any thread:
/// its handler closes it, on the event loop, once the connection drains.
final class FrameConnectionGate: Sendable {
    private let open = Atomic<Bool>(true)

    var isOpen: Bool { open.load(ordering: .acquiring) }

    func close() {
        open.store(false, ordering: .releasing)
    }
}

/// Every call of one client connection, on the connection's own channel: the
/// client side of `FrameConnectionHandler`. Requests go out as HEADERS and
/// DATA frames written straight from the event loop; answers are cut out of
/// DATA frames and handed to each call's task through its `PartBuffer`.
///
/// Runs only on its connection's event loop.
final class FrameClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private struct OpenStream {
        let call: FrameClientStream
        var deframer: MessageDeframer
        var receivedHeaders = false
        /// Whether the request side has ended (END_STREAM sent).
        var requestDone = false
        /// The request so far, until the answer begins; nil once too large.
        var resend: FrameClientResend?
        /// Ends the call at its deadline, on this loop; cancelled with the stream.
        var expiry: Scheduled<Void>?

        mutating func keep(_ message: [UInt8]) {
            guard var kept = resend else { return }
            resend = nil
            if kept.keep(message) { resend = kept }
        }
    }

    private let authority: String
    private let maxResponseLength: Int
    /// Told once, with the connection's gate, when the connection can take
    /// no more calls (GOAWAY or closed).
    private let onDraining: @Sendable (FrameConnectionGate) -> Void
    /// Sends a call the server refused again, on the next connection, or
    /// fails it with the refusal.
    private let sendAgain: @Sendable (FrameClientStream, FrameClientResend, RPCError) -> Void
    /// Closed with `draining`, for callers on other threads.
    let gate = FrameConnectionGate()
    private var context: ChannelHandlerContext? { writer.context }
    private var streams: [HTTP2StreamID: OpenStream] = [:]
    /// Calls that came to open after the connection began to drain. They
    /// have sent nothing, so each goes to the next connection as soon as its
    /// request is whole (`endRequest`), as a refused call does; one whose
    /// request never ends waits for its deadline, or for its task to give up.
    private var arriving: [ObjectIdentifier: (call: FrameClientStream, request: FrameClientResend)] = [:]
    /// The id of each call's stream, once it has one.
    private var ids: [ObjectIdentifier: HTTP2StreamID] = [:]
    private var nextStreamID = HTTP2StreamID(1)
    private let writer = FrameWriter()
    private var draining = false
    var remotePeer: String { writer.remotePeer }
    var localPeer: String { writer.localPeer }

    init(
        authority: String, maxResponseLength: Int, onDraining: @escaping @Sendable (FrameConnectionGate) -> Void,
        sendAgain: @escaping @Sendable (FrameClientStream, FrameClientResend, RPCError) -> Void
    ) {
        self.authority = authority
        self.maxResponseLength = maxResponseLength
        self.onDraining = onDraining
        self.sendAgain = sendAgain
    }

    func handlerAdded(context: ChannelHandlerContext) {
        writer.attach(context)
    }

    /// A client's handler is added before it connects: the peers' addresses
    /// are known only now (calls' errors name the server by them).
    func channelActive(context: ChannelHandlerContext) {
        writer.attach(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(RPCError(code: .unavailable, message: "the connection to \(remotePeer) closed"))
        writer.detach()
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RPCError(code: .unavailable, message: "the connection to \(remotePeer) closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A stream's error has reset that stream (a StreamClosedEvent
        // follows); anything else ends the connection.
        if error is any NIOHTTP2Error, !FrameConnectionHandler.endsTheConnection(error) { return }
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent {
            // Reset before the status arrived.
            if closed.reason == .refusedStream {
                refused(closed.streamID, RPCError(code: .unavailable, message: "\(remotePeer) refused the call without processing it (REFUSED_STREAM)"))
            } else {
                fail(closed.streamID, RPCError(code: .cancelled, message: "the server reset the stream (\(closed.reason.map { "\($0)" } ?? "no reason"))"))
            }
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
        case .headers(let headers): receive(headers, on: frame.streamID)
        case .data(let data): receive(data, on: frame.streamID)
        case .goAway(let lastStreamID, _, _):
            // New calls go to the next connection, and so do calls above its
            // last id, which were never processed (`refused`). The rest
            // finish here.
            startDraining()
            for id in streams.keys where id > lastStreamID {
                refused(id, RPCError(code: .unavailable, message: "\(remotePeer) is closing the connection and did not process the call"))
            }
            if streams.isEmpty { context.close(promise: nil) }
        default: break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        writer.readCompleted()
        context.fireChannelReadComplete()
    }

    // MARK: requests

    /// A call's request headers (and first message, if any) go out, opening
    /// its stream; `end` ends the request side too.
    func open(_ call: FrameClientStream, metadata: Metadata, message: [UInt8]?, end: Bool) {
        guard let context, !draining else { return arrive(call, metadata: metadata, message: message, end: end) }
        let timeLeft = call.deadline.map { $0 - .now() }
        if let timeLeft, timeLeft <= .zero { return call.fail(deadlinePassed) }
        let id = nextStreamID
        nextStreamID = HTTP2StreamID(Int32(id) + 2)
        ids[ObjectIdentifier(call)] = id
        streams[id] = OpenStream(
            call: call, deframer: MessageDeframer(maxLength: maxResponseLength), requestDone: end,
            resend: FrameClientResend(metadata: metadata, first: message),
            expiry: call.deadline.map { deadline in
                let connection = NIOLoopBound(self, eventLoop: context.eventLoop)
                return context.eventLoop.scheduleTask(deadline: deadline) { connection.value.expire(id) }
            })

        var headers = HPACKHeaders()
        headers.reserveCapacity(6 + metadata.count)
        headers.add(name: ":method", value: "POST")
        headers.add(name: ":scheme", value: "http")
        headers.add(name: ":path", value: "/\(call.descriptor.service.fullyQualifiedService)/\(call.descriptor.method)")
        headers.add(name: ":authority", value: authority)
        headers.add(name: "content-type", value: GRPCWireFormat.contentType)
        headers.add(name: "te", value: "trailers")
        GRPCWireFormat.add(metadata, to: &headers)
        if let timeLeft, !headers.contains(name: "grpc-timeout") {
            headers.add(name: "grpc-timeout", value: GRPCWireFormat.timeout(timeLeft))
        }
        write(.headers(.init(headers: headers, endStream: end && message == nil)), on: id)
        if let message {
            writer.writeMessage(message, on: id, endStream: end, state: call.state)
        }
        scheduleFlush()
        // Stream ids run out after about a billion calls: the next connection takes over.
        if Int32(nextStreamID) > Int32.max - 2 { startDraining() }
    }

    func send(_ message: [UInt8], of call: FrameClientStream) {
        guard let id = ids[ObjectIdentifier(call)] else { return keepArriving(message, of: call) }
        writer.writeMessage(message, on: id, state: call.state)
        streams[id]?.keep(message)
        scheduleFlush()
    }

    /// A call another connection's server refused, sent here again in full,
    /// unless its task gave up on it meanwhile.
    func openAgain(_ call: FrameClientStream, _ request: FrameClientResend) {
        guard !call.state.isClosed else { return }
        call.state.unsentAgain(request.byteCount)
        open(call, metadata: request.metadata, message: request.first, end: request.rest.isEmpty)
        guard !request.rest.isEmpty, let id = ids[ObjectIdentifier(call)] else { return }
        for (index, message) in request.rest.enumerated() {
            writer.writeMessage(message, on: id, endStream: index == request.rest.count - 1, state: call.state)
        }
        streams[id]?.requestDone = true
        scheduleFlush()
    }

    func endRequest(of call: FrameClientStream) {
        guard let id = ids[ObjectIdentifier(call)] else {
            if let arrived = arriving.removeValue(forKey: ObjectIdentifier(call)) { sendAgain(arrived.call, arrived.request, closing) }
            return
        }
        guard var stream = streams[id], !stream.requestDone else { return }
        stream.requestDone = true
        streams[id] = stream
        write(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)), on: id)
        scheduleFlush()
    }

    /// The call's task is done with it: a stream still open is reset, so the
    /// server stops working on an answer nobody waits for.
    func release(_ call: FrameClientStream) {
        arriving.removeValue(forKey: ObjectIdentifier(call))
        if let id = ids[ObjectIdentifier(call)], forget(id) != nil {
            write(.rstStream(.cancel), on: id)
            scheduleFlush()
        }
        // Ends a read still waiting, even for a call whose headers never went out.
        call.inbound.finish(throwing: RPCError(code: .cancelled, message: "the call was cancelled"))
        call.state.close(cancelled: true)
        closeIfDrained()
    }

    // MARK: answers

    private func receive(_ frame: HTTP2Frame.FramePayload.Headers, on id: HTTP2StreamID) {
        guard var stream = streams[id] else { return }
        let headers = frame.headers
        if !stream.receivedHeaders {
            stream.receivedHeaders = true
            // The server is answering: the call will not be sent again.
            stream.resend = nil
            streams[id] = stream
            if let status = headers.first(name: ":status"), status != "200" {
                // Not a gRPC answer: its HTTP status says what happened.
                return end(id, stream, status: GRPCWireFormat.status(httpStatus: status), metadata: [:])
            }
            if !frame.endStream {
                stream.call.inbound.yield(.metadata(GRPCWireFormat.responseMetadata(from: headers)))
                return
            }
        }
        // Trailers, or a trailers-only answer.
        end(id, stream, status: GRPCWireFormat.status(fromTrailers: headers), metadata: GRPCWireFormat.responseMetadata(from: headers))
    }

    private func receive(_ frame: HTTP2Frame.FramePayload.Data, on id: HTTP2StreamID) {
        guard case .byteBuffer(let bytes) = frame.data else { return }
        let flowControlled = bytes.readableBytes + (frame.paddingBytes ?? 0)
        // Answers are read as they come: the stream's window is given back at
        // once (the connection's by the writer).
        guard var stream = streams[id] else { return }
        if !frame.endStream, flowControlled > 0 {
            write(.windowUpdate(windowSizeIncrement: flowControlled), on: id)
        }
        stream.deframer.append(bytes)
        do {
            while let message = try stream.deframer.next() {
                stream.call.inbound.yield(.message(message))
            }
        } catch {
            let message = switch error {
            case .compressed: "the server sent a compressed message, which this client did not ask for"
            case .tooLong(let length): "the answer is \(length) bytes, over the limit of \(maxResponseLength)"
            }
            write(.rstStream(.cancel), on: id)
            fail(id, RPCError(code: .internalError, message: message))
            return closeIfDrained()
        }
        streams[id] = stream
    }

    private func end(_ id: HTTP2StreamID, _ stream: OpenStream, status: Status, metadata: Metadata) {
        forget(id)
        stream.call.inbound.yield(.status(status, metadata))
        stream.call.inbound.finish()
        stream.call.state.close(cancelled: false)
        // The answer is whole: a request still being sent is not wanted.
        if !stream.requestDone { write(.rstStream(.noError), on: id) }
        closeIfDrained()
    }

    /// A call opening on a connection that takes no more calls goes to the
    /// next one instead, once its request is whole: at once when it ends
    /// with its first message. A request too large to keep, or a call moved
    /// once already, fails as it did before. Its bytes count as sent here,
    /// to be counted again where they go.
    private func arrive(_ call: FrameClientStream, metadata: Metadata, message: [UInt8]?, end: Bool) {
        guard let request = FrameClientResend(metadata: metadata, first: message), call.maySendAgain() else {
            return call.fail(closing)
        }
        call.state.sent(request.byteCount)
        if end {
            sendAgain(call, request, closing)
        } else {
            arriving[ObjectIdentifier(call)] = (call, request)
        }
    }

    private func keepArriving(_ message: [UInt8], of call: FrameClientStream) {
        guard var arrived = arriving.removeValue(forKey: ObjectIdentifier(call)) else { return }
        call.state.sent(message.count)
        guard arrived.request.keep(message) else { return call.fail(closing) }
        arriving[ObjectIdentifier(call)] = arrived
    }

    private var closing: RPCError { RPCError(code: .unavailable, message: "the connection to \(remotePeer) is closing") }

    /// The server did not process the call on `id`: it goes again on the
    /// next connection (gRPC's transparent retry) if its whole request went
    /// out and was kept, no answer began, and it was not sent again before;
    /// otherwise it fails with `error`, which says it is safe to make again.
    private func refused(_ id: HTTP2StreamID, _ error: RPCError) {
        guard let stream = streams[id] else { return }
        guard stream.requestDone, !stream.receivedHeaders, let request = stream.resend, stream.call.maySendAgain() else {
            return fail(id, error)
        }
        forget(id)
        sendAgain(stream.call, request, error)
    }

    /// The call on `id` ends with `error`, its answer incomplete.
    private func fail(_ id: HTTP2StreamID, _ error: RPCError) {
        forget(id)?.call.fail(error)
    }

    /// The stream `id` is done with here: no longer open, its call no longer
    /// mapped to it, its deadline no longer kept.
    @discardableResult
    private func forget(_ id: HTTP2StreamID) -> OpenStream? {
        guard let stream = streams.removeValue(forKey: id) else { return nil }
        stream.expiry?.cancel()
        ids.removeValue(forKey: ObjectIdentifier(stream.call))
        return stream
    }

    /// The call on `id` is still unanswered at its deadline: it fails, and
    /// the server is told to stop (it also had the deadline, in `grpc-timeout`).
    private func expire(_ id: HTTP2StreamID) {
        guard streams[id] != nil else { return }
        // Failed before the reset, whose StreamClosedEvent would fail it as reset by the server.
        fail(id, deadlinePassed)
        write(.rstStream(.cancel), on: id)
        scheduleFlush()
        closeIfDrained()
    }

    private var deadlinePassed: RPCError {
        RPCError(code: .deadlineExceeded, message: "the call's deadline passed before \(remotePeer) answered")
    }

    private func failAll(_ error: RPCError) {
        for id in streams.keys { fail(id, error) }
        startDraining()
    }

    private func startDraining() {
        guard !draining else { return }
        draining = true
        gate.close()
        onDraining(gate)
    }

    private func closeIfDrained() {
        guard draining, streams.isEmpty, let context else { return }
        context.flush()
        context.close(promise: nil)
    }

    private func write(_ payload: HTTP2Frame.FramePayload, on id: HTTP2StreamID) {
        writer.write(payload, on: id)
    }

    private func scheduleFlush() {
        writer.scheduleFlush()
    }

    /// Begins a graceful close: no new calls; the connection closes once the
    /// last one has its answer.
    func shutDownGracefully() {
        startDraining()
        closeIfDrained()
    }
}
