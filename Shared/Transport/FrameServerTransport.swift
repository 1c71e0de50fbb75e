import GRPCCore
import NIOCore
import NIOExtras
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Synchronization

/// Laurel's gRPC server transport: plaintext HTTP/2 over TCP, with every
/// stream of a connection served on the connection's channel
/// (`FrameConnectionHandler`). It speaks what Laurel's services and clients
/// need: unary and streaming calls, metadata (binary too), deadlines (kept
/// on the event loop from `grpc-timeout`, and told to the handler through
/// its cancellation handle, as GRPCCore would), cancellation when a client resets a
/// stream or goes away, both directions of flow control, and a graceful
/// shutdown that sends GOAWAY and lets open calls finish. It refuses
/// compressed requests (UNIMPLEMENTED, naming `identity` as the one it
/// accepts) and never compresses answers. The default; `--transport nio`
/// chooses grpc-swift-nio-transport instead.
public final class FrameServerTransport: ServerTransport {
    public typealias Bytes = [UInt8]

    public struct Config: Sendable {
        public var host: String
        public var port: Int
        /// Requests over this many bytes fail with RESOURCE_EXHAUSTED.
        public var maxRequestLength: Int
        public var maxConcurrentStreams: Int

        public init(host: String, port: Int, maxRequestLength: Int = 4 << 20, maxConcurrentStreams: Int = 4096) {
            self.host = host
            self.port = port
            self.maxRequestLength = maxRequestLength
            self.maxConcurrentStreams = maxConcurrentStreams
        }
    }

    private enum Phase {
        case idle
        case listening
        case stopping
    }

    private let config: Config
    private let group: any EventLoopGroup
    private let quiescing: ServerQuiescingHelper
    private let starts: AsyncStream<FrameStreamStart>
    private let startsContinuation: AsyncStream<FrameStreamStart>.Continuation
    private let address: EventLoopPromise<SocketAddress?>
    private let phase = Mutex(Phase.idle)

    public init(_ config: Config, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.config = config
        self.group = group
        self.quiescing = ServerQuiescingHelper(group: group)
        (starts, startsContinuation) = AsyncStream.makeStream(of: FrameStreamStart.self)
        address = group.any().makePromise(of: SocketAddress?.self)
    }

    deinit {
        address.succeed(nil)
    }

    /// The address bound, once listening; nil if the transport stopped first.
    public var listeningAddress: SocketAddress? {
        get async { try? await address.futureResult.get() }
    }

    public func listen(
        streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
    ) async throws {
        let channel: any Channel
        do {
            channel = try await bind()
        } catch {
            stoppedBeforeListening()
            throw error
        }
        let started = phase.withLock { phase in
            guard case .idle = phase else { return false }
            phase = .listening
            return true
        }
        address.succeed(channel.localAddress)
        if !started { initiateShutdown() }

        await withDiscardingTaskGroup { group in
            for await start in starts {
                group.addTask {
                    await withServerContextRPCCancellationHandle { handle in
                        start.state.attach(handle)
                        let context = ServerContext(
                            descriptor: start.stream.descriptor, remotePeer: start.remotePeer, localPeer: start.localPeer, cancellation: handle)
                        if let deadline = start.deadline {
                            await CallDeadline.$current.withValue(deadline) { await streamHandler(start.stream, context) }
                        } else {
                            await streamHandler(start.stream, context)
                        }
                    }
                }
            }
        }
        // Cancelled rather than shut down: nothing may stay bound.
        initiateShutdown()
    }

    public func beginGracefulShutdown() {
        let listening = phase.withLock { phase in
            defer { phase = .stopping }
            return phase == .listening
        }
        if listening {
            initiateShutdown()
        } else {
            stoppedBeforeListening()
        }
    }

    /// Nothing was bound: no address to give, no stream to wait for.
    private func stoppedBeforeListening() {
        address.succeed(nil)
        startsContinuation.finish()
    }

    /// Closes the listening socket and tells every connection to drain;
    /// once the last has closed, no stream can start and `listen` returns.
    private func initiateShutdown() {
        let drained = group.any().makePromise(of: Void.self)
        let continuation = startsContinuation
        drained.futureResult.whenComplete { _ in continuation.finish() }
        quiescing.initiateShutdown(promise: drained)
    }

    private func bind() async throws -> any Channel {
        let quiescing = quiescing, start = startsContinuation, maxRequestLength = config.maxRequestLength
        let settings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: config.maxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: HPACKDecoder.defaultMaxHeaderListSize),
        ]
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A peer that vanished without closing is found by TCP keepalive
            // (grpc-swift-nio-transport pings after two idle hours to the same end).
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOHTTP2Handler(mode: .server, initialSettings: settings))
                    try sync.addHandler(FrameConnectionHandler(maxRequestLength: maxRequestLength) { start.yield($0) })
                }
            }
            .bind(host: config.host, port: config.port)
            .get()
    }
}
