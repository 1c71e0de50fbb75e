import Synchronization
import Testing

@testable import RedemptionService

/// The saga's calls to a peer go together when they queue behind a batch
/// under way, and each still gets its own answer.
@Suite struct CallBatcherTests {
    final class Peer: Sendable {
        let batches = Mutex<[[Int]]>([])
        let gate = AsyncStream<Void>.makeStream()

        /// The first batch waits at the gate; item 7 is refused; others answer ten times themselves.
        func send(_ items: [Int]) async -> [Result<Int, PeerError>] {
            let first = batches.withLock { batches in
                batches.append(items)
                return batches.count == 1
            }
            if first {
                for await _ in gate.stream { break }
            }
            return items.map { $0 == 7 ? .failure(.refused(code: 9, reason: "SEVEN", message: "no", metadata: [:])) : .success($0 * 10) }
        }
    }

    @Test func callsMadeWhileEveryBatchIsUnderWayGoTogetherAndAreAnsweredOneByOne() async throws {
        let peer = Peer()
        let batcher = CallBatcher<Int, Int>(peer: "test", maxInFlight: 1) { await peer.send($0) }
        try await withThrowingTaskGroup(of: (Int, Result<Int, PeerError>).self) { group in
            group.addTask { (0, await Self.answer(batcher, 0)) }
            try await Self.until { peer.batches.withLock { $0.count } == 1 }
            for n in 1...10 {
                group.addTask { (n, await Self.answer(batcher, n)) }
            }
            try await Self.until { batcher.waitingCalls == 10 }
            #expect(peer.batches.withLock { $0.count } == 1, "nothing goes while the one slot is taken")
            peer.gate.continuation.yield()
            var results: [Int: Result<Int, PeerError>] = [:]
            for try await (n, result) in group { results[n] = result }
            for n in 0...10 where n != 7 {
                #expect(results[n] == .success(n * 10))
            }
            #expect(results[7] == .failure(.refused(code: 9, reason: "SEVEN", message: "no", metadata: [:])))
        }
        let batches = peer.batches.withLock { $0 }
        #expect(batches.count == 2)
        #expect(batches.first == [0])
        #expect(batches.last?.sorted() == Array(1...10))
        #expect(batcher.waitingCalls == 0)
    }

    @Test func aPeerThatLosesAnAnswerFailsEveryItemOfTheBatchAsUnavailable() async throws {
        let batcher = CallBatcher<Int, Int>(peer: "test") { items in items.dropLast().map { .success($0) } }
        let result = await Self.answer(batcher, 1)
        guard case .failure(.unavailable(let peer, _)) = result else {
            Issue.record("expected unavailable, got \(result)")
            return
        }
        #expect(peer == "test")
    }

    static func answer(_ batcher: CallBatcher<Int, Int>, _ item: Int) async -> Result<Int, PeerError> {
        do {
            return .success(try await batcher.call(item))
        } catch {
            return .failure(error)
        }
    }

    /// Waits, up to ten seconds, for what another task is about to do.
    static func until(_ condition: () -> Bool) async throws {
        for _ in 0..<1000 where !condition() {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(condition())
    }
}
