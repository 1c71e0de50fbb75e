import NIOCore
import NIOHTTP2

/// How both sides of Laurel's transport write frames on a connection's
/// channel: one flush per burst of reads, or per turn of the event loop, so
/// that many calls' frames share a system call; and the connection's receive
/// window given back as DATA uses it.
///
/// Runs only on its connection's event loop.
final class FrameWriter {
    /// Every connection's receive window starts at this many bytes (RFC
    /// 9113, 6.9.2) and is kept near it.
    static let connectionWindow = 65_535

    private(set) var context: ChannelHandlerContext?
    /// The connection's ends as grpc-swift-nio-transport names them.
    private(set) var remotePeer = "<unknown>"
    private(set) var localPeer = "<unknown>"
    private var reading = false
    private var needsFlush = false
    private var flushScheduled = false

    func attach(_ context: ChannelHandlerContext) {
        self.context = context
        remotePeer = Self.describe(context.channel.remoteAddress)
        localPeer = Self.describe(context.channel.localAddress)
    }

    func detach() { context = nil }

    func write(_ payload: HTTP2Frame.FramePayload, on id: HTTP2StreamID) {
        guard let context else { return }
        context.write(NIOAny(HTTP2Frame(streamID: id, payload: payload)), promise: nil)
        needsFlush = true
    }

    /// A length-prefixed message in one DATA frame; `state` counts its bytes
    /// as sent once HTTP/2 has written them (flow control may hold them).
    func writeMessage(_ message: [UInt8], on id: HTTP2StreamID, endStream: Bool = false, state: FrameStreamState) {
        guard let context else { return }
        let promise = context.eventLoop.makePromise(of: Void.self)
        let count = message.count
        promise.futureResult.whenComplete { _ in state.sent(count) }
        let data = GRPCWireFormat.frame(message, allocator: context.channel.allocator)
        context.write(NIOAny(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(data), endStream: endStream)))), promise: promise)
        needsFlush = true
    }

    /// Takes each user event of the channel, for the connection's receive
    /// window. Without stream channels NIOHTTP2Handler leaves every receive
    /// window to its user; the connection's is given back here, from what
    /// HTTP/2 reports of it (`NIOHTTP2WindowUpdatedEvent` for the root
    /// stream) after every DATA frame it takes: once half of it is used,
    /// back to the whole, as NIOHTTP2's own stream multiplexer does.
    ///
    /// Counting only the frames that reach the handler lost the window used
    /// by frames HTTP/2 drops: those of a stream already reset, such as a
    /// request refused part-way while its client still sends it, or the rest
    /// of a cancelled call's answer. A few of those stalled the connection.
    func observe(_ event: Any) {
        guard let window = event as? NIOHTTP2WindowUpdatedEvent, window.streamID == .rootStream, let size = window.inboundWindowSize
        else { return }
        let increment = Self.connectionWindow - size
        guard increment >= size else { return }
        write(.windowUpdate(windowSizeIncrement: increment), on: .rootStream)
        scheduleFlush()
    }

    func readBegan() { reading = true }

    /// The burst of reads is over: what it wrote goes out now.
    func readCompleted() {
        reading = false
        if needsFlush {
            needsFlush = false
            context?.flush()
        }
    }

    /// Frames written while a burst of reads is handled go out with its
    /// flush; others are flushed once per turn of the event loop, after the
    /// frames already queued for it.
    func scheduleFlush() {
        needsFlush = true
        guard !reading, !flushScheduled, let context else { return }
        flushScheduled = true
        let writer = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let writer = writer.value
            writer.flushScheduled = false
            if writer.needsFlush, let context = writer.context {
                writer.needsFlush = false
                context.flush()
            }
        }
    }

    /// A peer as grpc-swift-nio-transport names it: `ipv4:host:port`, `ipv6:[host]:port`, `unix:path`.
    private static func describe(_ address: SocketAddress?) -> String {
        switch address {
        case .v4?: "ipv4:\(address?.hostAndPort ?? "")"
        case .v6?: "ipv6:\(address?.hostAndPort ?? "")"
        case .unixDomainSocket?: "unix:\(address?.pathname ?? "")"
        case nil: "<unknown>"
        }
    }
}
