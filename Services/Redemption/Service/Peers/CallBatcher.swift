import Synchronization

/// Calls of one kind to one peer, sent together in its batch RPC: group
/// commit, for round trips. A call that finds fewer than `maxInFlight`
/// batches under way goes at once, alone, so a lone redemption waits for
/// nothing; a call made while they are all under way waits for one to come
/// back and then goes with every call that waited meanwhile. Under load, N
/// saga steps then cost one request, one answer and one commit at the peer
/// instead of N: on this machine a call costs the transport several times
/// what a hold or a reservation costs the database (docs/performance.md).
final class CallBatcher<Item: Sendable, Answer: Sendable>: Sendable {
    /// One batch call: an answer for every item, in order.
    typealias Send = @Sendable ([Item]) async -> [Result<Answer, PeerError>]

    private struct Waiting: Sendable {
        let item: Item
        let continuation: CheckedContinuation<Result<Answer, PeerError>, Never>
    }

    private struct State {
        var inFlight = 0
        var waiting: [Waiting] = []
    }

    private let peer: String
    private let maxInFlight: Int
    private let maxBatch: Int
    private let send: Send
    private let state = Mutex(State())

    init(peer: String, maxInFlight: Int = 2, maxBatch: Int = 64, send: @escaping Send) {
        precondition(maxInFlight >= 1 && maxBatch >= 1)
        self.peer = peer
        self.maxInFlight = maxInFlight
        self.maxBatch = maxBatch
        self.send = send
    }

    func call(_ item: Item) async throws(PeerError) -> Answer {
        // Nothing waits while a batch could go (see `enqueue`), so a free
        // slot means this call may go at once, on its own task.
        let alone = state.withLock { state in
            guard state.inFlight < maxInFlight else { return false }
            state.inFlight += 1
            return true
        }
        let result: Result<Answer, PeerError>
        if alone {
            result = await sendChecked([item])[0]
            batchDone()
        } else {
            result = await withCheckedContinuation { continuation in enqueue(Waiting(item: item, continuation: continuation)) }
        }
        return try result.get()
    }

    private func enqueue(_ waiting: Waiting) {
        let batch = state.withLock { state -> [Waiting]? in
            state.waiting.append(waiting)
            // A batch came back between the look at the slots and now.
            return state.inFlight < maxInFlight ? Self.take(&state, maxBatch) : nil
        }
        if let batch { Task { await run(batch) } }
    }

    private func run(_ batch: [Waiting]) async {
        let results = await sendChecked(batch.map(\.item))
        for (waiting, result) in zip(batch, results) { waiting.continuation.resume(returning: result) }
        batchDone()
    }

    /// Frees the slot of a batch that came back, or fills it at once with
    /// what waited.
    private func batchDone() {
        let next = state.withLock { state -> [Waiting]? in
            state.inFlight -= 1
            return state.waiting.isEmpty ? nil : Self.take(&state, maxBatch)
        }
        if let next { Task { await run(next) } }
    }

    /// Calls waiting for a slot, for tests.
    var waitingCalls: Int { state.withLock { $0.waiting.count } }

    private static func take(_ state: inout State, _ maxBatch: Int) -> [Waiting] {
        let batch = Array(state.waiting.prefix(maxBatch))
        state.waiting.removeFirst(batch.count)
        state.inFlight += 1
        return batch
    }

    /// Every waiting call must be answered: a peer that answers a different
    /// number of items is treated as not having answered.
    private func sendChecked(_ items: [Item]) async -> [Result<Answer, PeerError>] {
        let results = await send(items)
        guard results.count == items.count else {
            let error = PeerError.unavailable(peer: peer, detail: "answered \(results.count) outcomes for \(items.count) items")
            return Array(repeating: .failure(error), count: items.count)
        }
        return results
    }
}
