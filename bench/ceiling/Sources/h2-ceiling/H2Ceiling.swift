import NIOCore
import NIOHTTP2
import NIOPosix

/// SwiftNIO's HTTP/2 alone: every request is answered with one fixed gRPC
/// message and an OK status, on the connection's own channel (no channel per
/// stream, no gRPC library). What is left of a call's cost is HTTP/2 framing,
/// HPACK and the socket.
final class FixedAnswer: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame
    private var unflushed = false
    private var unacknowledged = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers) where headers.endStream:
            answer(frame.streamID, context)
        case .data(let data):
            // NIOHTTP2Handler leaves the connection's receive window to the
            // stream channels it would have made: give it back here.
            unacknowledged += data.data.readableBytes
            if unacknowledged > 16_384 {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: unacknowledged))), promise: nil)
                unacknowledged = 0
                unflushed = true
            }
            if data.endStream { answer(frame.streamID, context) }
        default:
            break
        }
    }

    private func answer(_ stream: HTTP2StreamID, _ context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(HTTP2Frame(
            streamID: stream, payload: .headers(.init(headers: [":status": "200", "content-type": "application/grpc"])))), promise: nil)
        var message = context.channel.allocator.buffer(capacity: 10)
        message.writeInteger(UInt8(0))
        message.writeInteger(UInt32(5))
        message.writeBytes([0x08, 0x96, 0x01, 0x10, 0x2a])
        context.write(wrapOutboundOut(HTTP2Frame(streamID: stream, payload: .data(.init(data: .byteBuffer(message))))), promise: nil)
        context.write(wrapOutboundOut(HTTP2Frame(
            streamID: stream, payload: .headers(.init(headers: ["grpc-status": "0"], endStream: true)))), promise: nil)
        unflushed = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }
}

@main struct H2Ceiling {
    static func main() throws {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .server))
                    try channel.pipeline.syncOperations.addHandler(FixedAnswer())
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        print("listening on 127.0.0.1:\(channel.localAddress!.port!)")
        fflush(nil)
        try channel.closeFuture.wait()
    }
}
