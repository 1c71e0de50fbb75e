import GRPCCore
import NIOCore
import NIOHTTP2
import Synchronization

/// What a stream's handler task and its connection's event loop share: the
/// bytes of answers written but not yet sent (so a handler that streams to a
/// client who does not read waits instead of filling memory), whether the
/// stream is still open, its cancellation handle, and whether the connection
/// holds back the stream's receive window until the handler reads.
final class FrameStreamState: Sendable {
    private struct State {
        var unsent = 0
        var waiter: (continuation: CheckedContinuation<Void, any Error>, bytes: Int)?
        var closed = false
        var cancelled = false
        var deadlinePassed = false
        var cancellation: ServerContext.RPCCancellationHandle?

        /// The writer waits while the answers before its own are over the mark.
        func mustWait(adding bytes: Int) -> Bool { unsent - bytes >= FrameStreamState.highWater }
    }

    /// Answers beyond this many unsent bytes wait for the client to read.
    static let highWater = 1 << 20

    private let state = Mutex(State())
    /// Requests read by the handler, and whether the connection waits to hear of it.
    let consumed = Atomic<Int>(0)
    let wantsCredit = Atomic<Bool>(false)

    private static var closedError: RPCError { RPCError(code: .cancelled, message: "the stream is closed") }

    /// Counts `bytes` as unsent, first waiting while the answers before them
    /// are too many bytes behind; fails once the stream is closed.
    func reserve(_ bytes: Int) async throws {
        // Without a continuation when nothing is behind: a suspension costs
        // the task a trip through the executor on every answer.
        let mustWait = try state.withLock { state throws(RPCError) in
            if state.closed { throw Self.closedError }
            state.unsent += bytes
            return state.mustWait(adding: bytes)
        }
        guard mustWait else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resume: Result<Void, any Error>? = state.withLock { state in
                if state.closed { return .failure(Self.closedError) }
                if !state.mustWait(adding: bytes) { return .success(()) }
                state.waiter = (continuation, bytes)
                return nil
            }
            if let resume { continuation.resume(with: resume) }
        }
    }

    /// Counts `bytes` as unsent without waiting: a request sent again on
    /// another connection, whose bytes were counted once already and have
    /// since been counted as sent.
    func unsentAgain(_ bytes: Int) {
        state.withLock { $0.unsent += bytes }
    }

    /// Whether the stream has ended, for a connection about to send a
    /// request again: a call that ended meanwhile is not sent.
    var isClosed: Bool { state.withLock { $0.closed } }

    func sent(_ bytes: Int) {
        let waiter: CheckedContinuation<Void, any Error>? = state.withLock { state in
            state.unsent -= bytes
            guard let waiter = state.waiter, !state.mustWait(adding: waiter.bytes) else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    /// The stream ended (`cancelled`: without its status reaching the client);
    /// a waiting writer fails, and a cancelled RPC's handler is told.
    func close(cancelled: Bool) {
        let (waiter, handle) = state.withLock { state in
            state.closed = true
            state.cancelled = state.cancelled || cancelled
            defer { state.waiter = nil }
            return (state.waiter?.continuation, cancelled ? state.cancellation : nil)
        }
        waiter?.resume(throwing: Self.closedError)
        handle?.cancel()
    }

    /// The call's deadline (its `grpc-timeout`) passed: its handler is told
    /// through its cancellation handle, as GRPCCore tells it, and may still
    /// answer; the stream stays open for that.
    func deadlinePassed() {
        let handle = state.withLock { state in
            state.deadlinePassed = true
            return state.cancellation
        }
        handle?.cancel()
    }

    /// The handle of the task serving the stream, which may start after the
    /// stream has already been reset or its deadline passed.
    func attach(_ handle: ServerContext.RPCCancellationHandle) {
        let cancelledAlready = state.withLock { state in
            state.cancellation = handle
            return state.cancelled || state.deadlinePassed
        }
        if cancelledAlready { handle.cancel() }
    }
}

/// A stream's requests as its handler reads them; each read is counted so
/// the connection can give back a receive window it held back.
struct FrameInbound: AsyncSequence, Sendable {
    typealias Element = RPCRequestPart<[UInt8]>
    let parts: PartBuffer<Element>
    let state: FrameStreamState
    let releaseCredit: @Sendable () -> Void

    struct AsyncIterator: AsyncIteratorProtocol {
        let parts: PartBuffer<Element>
        let state: FrameStreamState
        let releaseCredit: @Sendable () -> Void

        mutating func next() async throws -> Element? {
            let part = try await parts.next()
            if case .message = part {
                // Sequentially consistent, as is the connection's side: each
                // side writes one of the two and then reads the other.
                state.consumed.add(1, ordering: .sequentiallyConsistent)
                if state.wantsCredit.exchange(false, ordering: .sequentiallyConsistent) { releaseCredit() }
            }
            return part
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(parts: parts, state: state, releaseCredit: releaseCredit)
    }
}

/// A stream's answers, handed to its connection's event loop in order.
struct FrameOutbound: ClosableRPCWriterProtocol {
    typealias Element = RPCResponsePart<[UInt8]>
    let connection: NIOLoopBound<FrameConnectionHandler>
    let id: HTTP2StreamID
    let state: FrameStreamState

    func write(_ part: Element) async throws {
        if case .message(let bytes) = part {
            try await state.reserve(bytes.count)
        } else {
            try await state.reserve(0)
        }
        let connection = connection, id = id
        connection.eventLoop.execute { connection.value.send(part, on: id) }
    }

    func write(contentsOf parts: some Sequence<Element>) async throws {
        for part in parts { try await write(part) }
    }

    /// The status ends the stream; nothing is left to do.
    func finish() async {}

    /// An answer that cannot be completed: the client sees the stream reset.
    func finish(throwing error: any Error) async {
        let connection = connection, id = id
        connection.eventLoop.execute { connection.value.abandon(id) }
    }
}
