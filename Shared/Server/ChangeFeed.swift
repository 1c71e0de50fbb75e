import Foundation
import Synchronization

/// Wakes the readers of stored changes (event streams) when new ones are
/// committed, and ends them all on graceful shutdown. Readers re-read the
/// database when woken, so a missed or merged wake-up loses nothing.
public final class ChangeFeed: Sendable {
    private struct State {
        var subscribers: [UUID: AsyncStream<Void>.Continuation] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    public init() {}

    /// A stream that yields after each `notify()` (merged while unread) and
    /// finishes on `shutDown()` or when the subscriber is cancelled.
    public func subscribe() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        let closed = state.withLock { state in
            if !state.closed { state.subscribers[id] = continuation }
            return state.closed
        }
        if closed {
            continuation.finish()
        } else {
            continuation.onTermination = { [weak self] _ in
                self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
            }
        }
        return stream
    }

    public func notify() {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers { subscriber.yield() }
    }

    public func shutDown() {
        let subscribers = state.withLock { state in
            state.closed = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}
