import GRPCCore
import NIOCore
import NIOEmbedded
import NIOHTTP2
import Synchronization
import Testing

@testable import LaurelShared

/// A call that reaches its connection's event loop only after the connection
/// began to drain (GOAWAY came in the hop from the call's task): it has sent
/// nothing, so it goes to the next connection once its request is whole. The
/// race is one hop wide, so the connection's handler is driven directly,
/// on an embedded channel, where it happens on cue.
@Suite struct FrameClientDrainingTests {
    @Test func aCallOpeningOnADrainingConnectionGoesToTheNextOnceItsRequestEnds() throws {
        let (channel, handler, moved) = try drainingConnection()
        let call = FrameClientStream(descriptor: Echo.unary, on: ready(handler, channel), waitForReady: true)
        handler.open(call, metadata: ["key": "value"], message: [1, 2], end: false)
        #expect(moved.calls.isEmpty)
        handler.send([3], of: call)
        #expect(moved.calls.isEmpty)
        handler.endRequest(of: call)

        let sent = moved.calls
        #expect(sent.count == 1)
        #expect(sent.first?.call === call)
        #expect(sent.first?.request.first == [1, 2])
        #expect(sent.first?.request.rest == [[3]])
        #expect(sent.first.map { Array($0.request.metadata[stringValues: "key"]) } == ["value"])
        #expect(!call.state.isClosed)
        #expect(try channel.readOutbound(as: HTTP2Frame.self) == nil)
    }

    @Test func aWholeRequestGoesAtOnceAndACallMovedBeforeFails() async throws {
        let (channel, handler, moved) = try drainingConnection()
        let whole = FrameClientStream(descriptor: Echo.unary, on: ready(handler, channel), waitForReady: true)
        handler.open(whole, metadata: [:], message: [4], end: true)
        #expect(moved.calls.map { ObjectIdentifier($0.call) } == [ObjectIdentifier(whole)])

        let movedBefore = FrameClientStream(descriptor: Echo.unary, on: ready(handler, channel), waitForReady: true)
        _ = movedBefore.maySendAgain()
        handler.open(movedBefore, metadata: [:], message: [5], end: true)
        #expect(movedBefore.state.isClosed)
        await #expect(throws: RPCError.self) { try await movedBefore.inbound.next() }
        #expect(moved.calls.count == 1)
    }

    @Test func aCallWhoseTaskGaveUpBeforeItsRequestEndedDoesNotMove() throws {
        let (channel, handler, moved) = try drainingConnection()
        let call = FrameClientStream(descriptor: Echo.unary, on: ready(handler, channel), waitForReady: true)
        handler.open(call, metadata: [:], message: [6], end: false)
        handler.release(call)
        handler.endRequest(of: call)
        #expect(moved.calls.isEmpty)
        #expect(call.state.isClosed)
    }

    /// The calls a connection handed on, in order.
    final class Moved: Sendable {
        private let list = Mutex<[(call: FrameClientStream, request: FrameClientResend)]>([])

        func append(_ call: FrameClientStream, _ request: FrameClientResend) {
            list.withLock { $0.append((call, request)) }
        }

        var calls: [(call: FrameClientStream, request: FrameClientResend)] { list.withLock { $0 } }
    }

    /// A client connection's handler that has taken GOAWAY, and what it hands
    /// on to go to the next connection.
    func drainingConnection() throws -> (EmbeddedChannel, FrameClientConnectionHandler, Moved) {
        let moved = Moved()
        let handler = FrameClientConnectionHandler(
            authority: "localhost", maxResponseLength: 1 << 20, onDraining: { _ in },
            sendAgain: { call, request, _ in moved.append(call, request) })
        let channel = EmbeddedChannel(handler: handler)
        try channel.writeInbound(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: .rootStream, errorCode: .noError, opaqueData: nil)))
        #expect(!handler.gate.isOpen)
        return (channel, handler, moved)
    }

    func ready(_ handler: FrameClientConnectionHandler, _ channel: EmbeddedChannel) -> FrameClientTransport.Ready {
        .init(handler: NIOLoopBound(handler, eventLoop: channel.eventLoop), gate: handler.gate, remotePeer: "embedded", localPeer: "embedded")
    }
}
