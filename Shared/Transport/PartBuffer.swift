import NIOCore
import Synchronization

/// One stream's parts on their way from its connection's event loop, which
/// adds them, to the one task that reads them, in order: what an
/// `AsyncThrowingStream` did here. The standard library runs that stream's
/// storage as unspecialized generic code; with its type look-ups and locking
/// it was 6.6 % of the members process during GetBalance
/// (docs/performance.md). This one is specialized in this module, and a read
/// that finds its part waiting, as a unary call's reads do, never suspends.
///
/// Behaves as `AsyncThrowingStream` does for its one reader: after the parts
/// comes nil, or the error the stream finished with and then nil; a reader
/// cancelled while it waits gets nil, and so does every read after that.
final class PartBuffer<Part: Sendable>: Sendable {
    private enum End {
        case finished
        case failed(any Error)
    }

    private struct State {
        var parts = CircularBuffer<Part>(initialCapacity: 4)
        var end: End?
        var waiter: UnsafeContinuation<Part?, any Error>?
        var cancelled = false

        /// What a read gets now, if it need not wait.
        mutating func take() -> Result<Part?, any Error>? {
            if cancelled { return .success(nil) }
            if let part = parts.popFirst() { return .success(part) }
            switch end {
            case nil:
                return nil
            case .finished:
                return .success(nil)
            case .failed(let error):
                end = .finished
                return .failure(error)
            }
        }
    }

    private let state = Mutex(State())

    init() {}

    /// Adds a part; one added after the end, or after the reader was
    /// cancelled, is dropped.
    func yield(_ part: Part) {
        let waiter: UnsafeContinuation<Part?, any Error>? = state.withLock { state in
            guard state.end == nil, !state.cancelled else { return nil }
            guard let waiter = state.waiter else {
                state.parts.append(part)
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: part)
    }

    /// Ends the parts, with `error` to throw after them; only the first end counts.
    func finish(throwing error: (any Error)? = nil) {
        let (waiter, result): (UnsafeContinuation<Part?, any Error>?, Result<Part?, any Error>?) = state.withLock { state in
            guard state.end == nil else { return (nil, nil) }
            state.end = error.map { .failed($0) } ?? .finished
            guard let waiter = state.waiter else { return (nil, nil) }
            state.waiter = nil
            return (waiter, state.take())
        }
        if let waiter, let result { waiter.resume(with: result) }
    }

    func next() async throws -> Part? {
        if let now = state.withLock({ $0.take() }) { return try now.get() }
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Part?, any Error>) in
                let now: Result<Part?, any Error>? = state.withLock { state in
                    if Task.isCancelled { state.cancelled = true }
                    if let now = state.take() { return now }
                    state.waiter = continuation
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.cancelled = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}

/// A `PartBuffer` read as an async sequence, for a reader that wants one.
struct PartBufferSequence<Part: Sendable>: AsyncSequence, Sendable {
    typealias Element = Part
    let buffer: PartBuffer<Part>

    struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: PartBuffer<Part>
        mutating func next() async throws -> Part? { try await buffer.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}
