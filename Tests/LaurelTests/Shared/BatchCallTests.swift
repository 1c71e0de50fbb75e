import GRPCCore
import LaurelShared
import Synchronization
import Testing

/// A batch runs its items as separate calls sent in item order would run:
/// one key's items in sequence, different keys at once.
@Suite struct BatchCallTests {
    struct Item: Sendable {
        let key: String
        let n: Int
        var sleep: Duration = .zero
        var fails = false
    }

    final class Journal: Sendable {
        let events = Mutex<[String]>([])
        let running = Mutex<[String: Int]>([:])
        func record(_ event: String) { events.withLock { $0.append(event) } }
    }

    @Test func itemsOnOneKeyRunOneAfterAnotherInItemOrder() async throws {
        let journal = Journal()
        // Later items sleep less, so running them at once would end them first.
        let items = (0..<12).map { n in
            Item(key: n % 3 == 0 ? "other-\(n)" : "member", n: n, sleep: .milliseconds(60 - 5 * n), fails: n == 4)
        }
        let outcomes = try await BatchCall.outcomes(items, method: "laurel.v1.Test/Batch", key: \.key) { item in
            let overlapping = journal.running.withLock { running in
                running[item.key, default: 0] += 1
                return running[item.key]! > 1
            }
            #expect(!overlapping, "item \(item.n) ran alongside another on \(item.key)")
            try await Task.sleep(for: item.sleep)
            journal.running.withLock { $0[item.key]! -= 1 }
            if item.key == "member" { journal.record("\(item.n)") }
            if item.fails { throw InvalidArgument("n", "item \(item.n) fails") }
            return item.n * 10
        }
        #expect(journal.events.withLock { $0 } == items.filter { $0.key == "member" }.map { "\($0.n)" })
        #expect(outcomes.count == items.count)
        for (n, outcome) in outcomes.enumerated() {
            switch outcome {
            case .done(let value):
                #expect(value == n * 10 && n != 4)
            case .failed(let status):
                #expect(n == 4)
                #expect(status.code == Int32(RPCError.Code.invalidArgument.rawValue) && status.reason == "INVALID_ARGUMENT")
            }
        }
    }

    @Test func itemsOnDifferentKeysRunAtOnce() async throws {
        let started = Atomic<Int>(0)
        let items = (0..<8).map { Item(key: "member-\($0)", n: $0) }
        // Each item waits until all have started, which only happens if they overlap.
        let outcomes = try await BatchCall.outcomes(items, method: "laurel.v1.Test/Batch", key: \.key) { item in
            started.add(1, ordering: .sequentiallyConsistent)
            let clock = ContinuousClock()
            let giveUp = clock.now + .seconds(10)
            while started.load(ordering: .sequentiallyConsistent) < items.count, clock.now < giveUp {
                try await Task.sleep(for: .milliseconds(5))
            }
            return started.load(ordering: .sequentiallyConsistent)
        }
        for outcome in outcomes {
            guard case .done(let seen) = outcome else { Issue.record("an item failed: \(outcome)"); continue }
            #expect(seen == items.count)
        }
    }

    @Test func moreThanTheLimitIsRefusedWhole() async throws {
        let ran = Atomic<Int>(0)
        let items = (0...BatchCall.maxItems).map { Item(key: "k\($0)", n: $0) }
        await #expect(throws: InvalidArgument.self) {
            _ = try await BatchCall.outcomes(items, method: "laurel.v1.Test/Batch", key: \.key) { _ in
                ran.add(1, ordering: .relaxed)
            }
        }
        #expect(ran.load(ordering: .relaxed) == 0)
    }
}
