import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Synchronization

/// The client side of Laurel's transport: plaintext HTTP/2 to one server,
/// every call a stream on the connection's own channel
/// (`FrameClientConnectionHandler`), with none of the per-stream channels
/// and async bridges grpc-swift-nio-transport's client spends most of a small
/// call's CPU on. One connection at a time: it is made by `connect()`, and
/// made again, after a pause that grows while connecting fails, when the
/// server closes it or sends GOAWAY. A call made while there is no connection
/// waits for one (or, with `waitForReady` off or once
/// `stopWaitingForConnections` is called, fails UNAVAILABLE at once); a
/// call whose task is cancelled, or whose deadline passes, resets its stream.
/// A call whose connection began to drain before the call sent anything goes
/// out on the next connection instead, and so, once, does a call the server
/// refused without processing it (GOAWAY, REFUSED_STREAM): gRPC's
/// transparent retry, safe for any call. No compression, no TLS, no other
/// retries of its own (GRPCCore's retry policies apply as with any
/// transport).
public final class FrameClientTransport: ClientTransport {
    public typealias Bytes = [UInt8]

    public struct Config: Sendable {
        public var host: String
        public var port: Int
        /// Answers over this many bytes fail the call.
        public var maxResponseLength: Int
        /// Every call fails DEADLINE_EXCEEDED this long after it began unless
        /// answered by then, waiting for a connection included, and tells the
        /// server so in `grpc-timeout`. The transport keeps the time on the
        /// connection's event loop: GRPCCore's `CallOptions.timeout` costs a
        /// task group, two tasks and a timer of Swift's per call, about a
        /// tenth of a redemption's CPU (docs/performance.md). nil: calls have
        /// only the deadline their options give.
        public var callTimeout: Duration?

        public init(host: String, port: Int, maxResponseLength: Int = 4 << 20, callTimeout: Duration? = nil) {
            self.host = host
            self.port = port
            self.maxResponseLength = maxResponseLength
            self.callTimeout = callTimeout
        }
    }

    /// A connection taking calls, and how its peers are named.
    struct Ready: Sendable {
        let handler: NIOLoopBound<FrameClientConnectionHandler>
        let gate: FrameConnectionGate
        let remotePeer: String
        let localPeer: String
    }

    private typealias Waiter = CheckedContinuation<Ready, any Error>

    private enum Phase {
        case idle
        case connecting(waiters: [Int: Waiter])
        case ready(Ready)
        case shutDown
    }

    private let config: Config
    private let group: any EventLoopGroup
    private let phase = Mutex(Phase.idle)
    /// The connection up now, whatever `phase` says: the one a shutdown
    /// must close for `connect` to return.
    private let live = Mutex<Ready?>(nil)
    private let waiterIDs = Atomic<Int>(0)
    private let connectStarted = Atomic<Bool>(false)
    /// Off once `stopWaitingForConnections` is called.
    private let waitsForConnections = Atomic<Bool>(true)

    public init(_ config: Config, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.config = config
        self.group = group
    }

    public var retryThrottle: RetryThrottle? { nil }

    public func config(forMethod descriptor: MethodDescriptor) -> MethodConfig? { nil }

    /// Keeps a connection to the server until `beginGracefulShutdown`.
    public func connect() async throws {
        // Calls may be waiting already (in `.connecting`); only the first
        // `connect` connects.
        guard !connectStarted.exchange(true, ordering: .relaxed) else { return }
        let shutDown = phase.withLock { phase in
            switch phase {
            case .idle:
                phase = .connecting(waiters: [:])
                return false
            case .connecting, .ready:
                return false
            case .shutDown:
                return true
            }
        }
        guard !shutDown else { return }
        // A peer restarted in place (an upgrade, a SIGTERM) is back within a
        // few hundred milliseconds, while calls wait for it, and a refused
        // attempt costs next to nothing: try every 25 ms for the first
        // second, then back off from 50 ms to 5 s for a peer that stays away.
        var failingSince: ContinuousClock.Instant?
        var backoff = Duration.milliseconds(50)
        while !isShutDown {
            do {
                let channel = try await makeConnection()
                failingSince = nil
                backoff = .milliseconds(50)
                try? await channel.closeFuture.get()
                live.withLock { $0 = nil }
            } catch {
                // Calls waiting for a connection go on waiting.
                let now = ContinuousClock.now
                let since = failingSince ?? now
                failingSince = since
                if now - since < .seconds(1) {
                    await pause(.milliseconds(25))
                } else {
                    await pause(backoff)
                    backoff = min(backoff * 2, .seconds(5))
                }
            }
            phase.withLock { phase in
                if case .ready = phase { phase = .connecting(waiters: [:]) }
            }
        }
    }

    public func beginGracefulShutdown() {
        let waiters = phase.withLock { phase -> [Waiter] in
            defer { phase = .shutDown }
            if case .connecting(let waiters) = phase { return Array(waiters.values) }
            return []
        }
        for waiter in waiters { waiter.resume(throwing: RPCError(code: .unavailable, message: "the client is shutting down")) }
        // The connection up now: `live` is set before any call can take a connection.
        if let handler = live.withLock({ $0 })?.handler { handler.eventLoop.execute { handler.value.shutDownGracefully() } }
    }

    /// From now on a call that finds no connection fails UNAVAILABLE at once
    /// instead of waiting for one, and so do the calls waiting now; calls on
    /// a connection that is up go on as before. For a process that is
    /// stopping: its peers may be stopping too, and a call waiting for a
    /// peer that is gone would hold the process's shutdown up until the
    /// call's deadline, while a call that never went out is safe to fail.
    public func stopWaitingForConnections() {
        waitsForConnections.store(false, ordering: .sequentiallyConsistent)
        // A waiter added after this sees the flag, under the same lock.
        let waiters = phase.withLock { phase -> [Waiter] in
            guard case .connecting(let waiters) = phase else { return [] }
            phase = .connecting(waiters: [:])
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume(throwing: notConnectedAndStopping) }
    }

    private var notConnectedAndStopping: RPCError {
        RPCError(code: .unavailable, message: "not connected to \(config.host):\(config.port), and this process is stopping")
    }

    public func withStream<T: Sendable>(
        descriptor: MethodDescriptor, options: CallOptions,
        _ closure: (_ stream: RPCStream<Inbound, Outbound>, _ context: ClientContext) async throws -> T
    ) async throws -> T {
        let waitForReady = options.waitForReady ?? true
        let deadline = callDeadline()
        let ready = try await readyConnection(waitForReady: waitForReady, deadline: deadline)
        let call = FrameClientStream(descriptor: descriptor, on: ready, waitForReady: waitForReady, deadline: deadline)
        defer { call.release() }
        return try await closure(
            RPCStream(
                descriptor: descriptor,
                inbound: RPCAsyncSequence(wrapping: PartBufferSequence(buffer: call.inbound)),
                outbound: RPCWriter.Closable(
                    wrapping: FrameClientOutbound(call: call) { [self] in try await opening(call, waitForReady: waitForReady) })),
            ClientContext(descriptor: descriptor, remotePeer: ready.remotePeer, localPeer: ready.localPeer))
    }

    /// The connection a call opens on: the one it took, unless that one has
    /// begun to drain or closed since, in which case the next. The call has
    /// sent nothing yet, so it is safe to send on another connection; a
    /// connection that closes after this check still fails the call
    /// UNAVAILABLE, but that window is the hop to its event loop rather
    /// than everything the caller did since taking it (GRPCCore's
    /// interceptors and serialization, for one).
    func opening(_ call: FrameClientStream, waitForReady: Bool) async throws -> NIOLoopBound<FrameClientConnectionHandler> {
        let taken = call.connection.withLock { $0 }
        guard !taken.gate.isOpen else { return taken.handler }
        let next = try await readyConnection(waitForReady: waitForReady, deadline: call.deadline)
        call.connection.withLock { $0 = next }
        return next.handler
    }

    /// When a call beginning now must be answered by, from `callTimeout`.
    private func callDeadline() -> NIODeadline? {
        config.callTimeout.map { .now() + TimeAmount($0) }
    }

    /// A unary call's answer as `unary` reads it.
    public struct UnaryAnswer: Sendable {
        /// The answer's initial metadata; empty for a trailers-only answer.
        public var metadata: Metadata = [:]
        /// The answer's one message; nil when the call failed.
        public var message: [UInt8]?
        public var status = Status(code: .unknown, message: "")
        public var trailers: Metadata = [:]
    }

    /// A unary call straight on the connection, without GRPCCore's client: the
    /// request's headers, message and end go to the event loop in one trip,
    /// and the answer is read off its stream. GRPCCore's client spends a task
    /// group, a writer task and an async sequence per call, most of a small
    /// call's CPU on the client side; a caller that must leave the machine to
    /// the server (laurel-bench) uses this instead. `metadata` goes as it is:
    /// no interceptors run and no deadline is sent. Cancelling the calling
    /// task ends the call and resets its stream.
    public func unary(
        _ descriptor: MethodDescriptor, metadata: Metadata, request: [UInt8], waitForReady: Bool = true
    ) async throws -> UnaryAnswer {
        let deadline = callDeadline()
        let call = FrameClientStream(
            descriptor: descriptor, on: try await readyConnection(waitForReady: waitForReady, deadline: deadline), waitForReady: waitForReady,
            deadline: deadline)
        try await call.state.reserve(request.count)
        let connection = try await opening(call, waitForReady: waitForReady)
        connection.eventLoop.execute { connection.value.open(call, metadata: metadata, message: request, end: true) }
        var answer = UnaryAnswer()
        // Once the status is in, the connection has already let go of the
        // stream; any other way out resets it.
        var answered = false
        defer { if !answered { call.release() } }
        while let part = try await call.inbound.next() {
            switch part {
            case .metadata(let metadata):
                answer.metadata = metadata
            case .message(let message):
                guard answer.message == nil else {
                    throw RPCError(code: .internalError, message: "the server sent more than one message in a unary answer")
                }
                answer.message = message
            case .status(let status, let trailers):
                answer.status = status
                answer.trailers = trailers
                answered = true
                return answer
            }
        }
        // The stream ended without a status: the task was cancelled.
        throw RPCError(code: .cancelled, message: "the call was cancelled")
    }

    /// The call `id` waiting for a connection, no longer waiting; nil if it is not.
    private func takeWaiter(_ id: Int) -> Waiter? {
        phase.withLock { phase -> Waiter? in
            guard case .connecting(var waiters) = phase, let waiter = waiters.removeValue(forKey: id) else { return nil }
            phase = .connecting(waiters: waiters)
            return waiter
        }
    }

    private var isShutDown: Bool {
        phase.withLock { if case .shutDown = $0 { true } else { false } }
    }

    /// The connection to call on, once there is one; a call's task cancelled
    /// (its deadline passed) while waiting stops waiting, and so does a call
    /// whose `deadline` (from `callTimeout`) passes.
    private func readyConnection(waitForReady: Bool, deadline: NIODeadline?) async throws -> Ready {
        if let ready = try phase.withLock({ phase throws(RPCError) -> Ready? in
            switch phase {
            case .ready(let ready): return ready
            case .shutDown: throw RPCError(code: .unavailable, message: "the client is shut down")
            case .idle, .connecting:
                guard waitForReady else { throw RPCError(code: .unavailable, message: "not connected to \(config.host):\(config.port)") }
                guard waitsForConnections.load(ordering: .sequentiallyConsistent) else { throw notConnectedAndStopping }
                return nil
            }
        }) {
            return ready
        }
        let id = waiterIDs.add(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: Waiter) in
                let now = phase.withLock { phase -> Result<Ready, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    let waits = waitsForConnections.load(ordering: .sequentiallyConsistent)
                    switch phase {
                    case .ready(let ready): return .success(ready)
                    case .shutDown: return .failure(RPCError(code: .unavailable, message: "the client is shut down"))
                    case .idle where !waits, .connecting where !waits: return .failure(notConnectedAndStopping)
                    case .idle:
                        phase = .connecting(waiters: [id: continuation])
                        return nil
                    case .connecting(var waiters):
                        waiters[id] = continuation
                        phase = .connecting(waiters: waiters)
                        return nil
                    }
                }
                if let now { return continuation.resume(with: now) }
                // Only while there is no connection: a timer for this waiter alone.
                if let deadline {
                    group.any().scheduleTask(deadline: deadline) { [self] in
                        takeWaiter(id)?.resume(
                            throwing: RPCError(
                                code: .deadlineExceeded, message: "no connection to \(config.host):\(config.port) before the call's deadline"))
                    }
                }
            }
        } onCancel: {
            takeWaiter(id)?.resume(throwing: CancellationError())
        }
    }

    /// Connects; once HTTP/2 is set up the connection serves calls, until it
    /// drains (GOAWAY, or closed) and the next one is made.
    private func makeConnection() async throws -> any Channel {
        let authority = "\(config.host):\(config.port)", maxResponseLength = config.maxResponseLength
        let drained: @Sendable (FrameConnectionGate) -> Void = { [weak self] gate in self?.connectionDraining(gate) }
        let sendAgain: @Sendable (FrameClientStream, FrameClientResend, RPCError) -> Void = { [weak self] call, request, refusal in
            guard let self else { return call.fail(refusal) }
            self.sendAgain(call, request, refusal: refusal)
        }
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    // No header block validation: it checked every header
                    // this client builds and every one a Laurel service answers
                    // with, 7 % of laurel-bench during GetBalance, and what
                    // this client reads of an answer (`:status` and the
                    // `grpc-` fields) it parses itself. The servers keep it:
                    // their callers are anyone's code.
                    try sync.addHandler(NIOHTTP2Handler(
                        mode: .client,
                        initialSettings: [
                            HTTP2Setting(parameter: .enablePush, value: 0),
                            HTTP2Setting(parameter: .maxHeaderListSize, value: HPACKDecoder.defaultMaxHeaderListSize),
                        ],
                        headerBlockValidation: .disabled))
                    try sync.addHandler(
                        FrameClientConnectionHandler(
                            authority: authority, maxResponseLength: maxResponseLength, onDraining: drained, sendAgain: sendAgain))
                }
            }
            .connect(host: config.host, port: config.port)
            .get()
        let ready = try await channel.eventLoop.submit {
            let handler = try channel.pipeline.syncOperations.handler(type: FrameClientConnectionHandler.self)
            return Ready(
                handler: NIOLoopBound(handler, eventLoop: channel.eventLoop), gate: handler.gate, remotePeer: handler.remotePeer,
                localPeer: handler.localPeer)
        }.get()
        live.withLock { $0 = ready }
        let waiters = phase.withLock { phase -> [Waiter]? in
            guard case .connecting(let waiters) = phase else { return nil }
            phase = .ready(ready)
            return Array(waiters.values)
        }
        guard let waiters else {
            // Shut down while connecting.
            channel.close(mode: .all, promise: Optional<EventLoopPromise<Void>>.none)
            return channel
        }
        for waiter in waiters { waiter.resume(returning: ready) }
        return channel
    }

    /// Sends a call the server refused without processing it on the next
    /// connection, where its task reads on from the same buffer, none the
    /// wiser; the refused connection has let go of it. If no connection
    /// comes (the client shuts down, or the call does not wait for one), it
    /// fails with the refusal. A call whose task gives up meanwhile is not
    /// sent (`openAgain`).
    private func sendAgain(_ call: FrameClientStream, _ request: FrameClientResend, refusal: RPCError) {
        Task {
            guard let next = try? await readyConnection(waitForReady: call.waitForReady, deadline: call.deadline) else { return call.fail(refusal) }
            call.connection.withLock { $0 = next }
            next.handler.eventLoop.execute { next.handler.value.openAgain(call, request) }
        }
    }

    /// A connection takes no new calls: if it is the one calls take now,
    /// they wait for the next one. An older connection that drains late
    /// (its handler removed after the next was made) changes nothing.
    private func connectionDraining(_ gate: FrameConnectionGate) {
        phase.withLock { phase in
            if case .ready(let ready) = phase, ready.gate === gate { phase = .connecting(waiters: [:]) }
        }
    }

    /// Waits before connecting again, in short steps so that a shutdown meanwhile is not kept waiting.
    private func pause(_ duration: Duration) async {
        let clock = ContinuousClock()
        let until = clock.now + duration
        while !isShutDown {
            let left = until - clock.now
            guard left > .zero else { return }
            try? await Task.sleep(for: min(left, .milliseconds(20)))
        }
    }
}

/// A call's requests, handed to its connection's event loop in order. The
/// first part to go out opens the call, on the connection `open` gives.
struct FrameClientOutbound: ClosableRPCWriterProtocol {
    typealias Element = RPCRequestPart<[UInt8]>
    let call: FrameClientStream
    let open: @Sendable () async throws -> NIOLoopBound<FrameClientConnectionHandler>

    init(call: FrameClientStream, open: @escaping @Sendable () async throws -> NIOLoopBound<FrameClientConnectionHandler>) {
        self.call = call
        self.open = open
    }

    func write(_ part: Element) async throws {
        switch part {
        case .metadata(let metadata):
            // Goes with the first message, or with the end of the request.
            call.pendingMetadata.withLock { $0 = metadata }
        case .message(let message):
            try await call.state.reserve(message.count)
            let call = call
            if let metadata = call.pendingMetadata.withLock({ $0.take() }) {
                let connection = await opening()
                connection.eventLoop.execute { connection.value.open(call, metadata: metadata, message: message, end: false) }
            } else {
                let connection = call.handler
                connection.eventLoop.execute { connection.value.send(message, of: call) }
            }
        }
    }

    /// Where the call opens. If no next connection comes (the call's
    /// deadline passes, or the client shuts down), the connection it took
    /// refuses it, and the caller hears why from its answer.
    private func opening() async -> NIOLoopBound<FrameClientConnectionHandler> {
        (try? await open()) ?? call.handler
    }

    func write(contentsOf parts: some Sequence<Element>) async throws {
        for part in parts { try await write(part) }
    }

    func finish() async {
        let call = call
        if let metadata = call.pendingMetadata.withLock({ $0.take() }) {
            let connection = await opening()
            connection.eventLoop.execute { connection.value.open(call, metadata: metadata, message: nil, end: true) }
        } else {
            let connection = call.handler
            connection.eventLoop.execute { connection.value.endRequest(of: call) }
        }
    }

    /// The request could not be completed: the stream is reset.
    func finish(throwing error: any Error) async {
        call.release()
    }
}
