import Foundation
@testable import LaurelShared
import Testing

/// A stream's parts between its event loop and its reader: in order, then
/// the end or the error, as `AsyncThrowingStream` gave them.
@Suite struct PartBufferTests {
    struct Broken: Error, Equatable {}

    @Test func partsComeInOrderThenNilForEveryRead() async throws {
        let buffer = PartBuffer<Int>()
        for part in 1...3 { buffer.yield(part) }
        buffer.finish()
        buffer.yield(4)
        var read: [Int] = []
        while let part = try await buffer.next() { read.append(part) }
        #expect(read == [1, 2, 3])
        #expect(try await buffer.next() == nil)
    }

    @Test func anErrorComesAfterThePartsOnceThenNil() async throws {
        let buffer = PartBuffer<Int>()
        buffer.yield(1)
        buffer.finish(throwing: Broken())
        buffer.finish()
        #expect(try await buffer.next() == 1)
        await #expect(throws: Broken.self) { try await buffer.next() }
        #expect(try await buffer.next() == nil)
    }

    /// A reader waiting on an empty buffer is woken by a part, by the end and
    /// by an error.
    @Test func aWaitingReaderIsWoken() async throws {
        let buffer = PartBuffer<Int>()
        let reader = Task {
            var read: [Int] = []
            do {
                while let part = try await buffer.next() { read.append(part) }
            } catch {
                return (read, error as? Broken)
            }
            return (read, nil)
        }
        for part in 1...3 {
            try await Task.sleep(for: .milliseconds(20))
            buffer.yield(part)
        }
        try await Task.sleep(for: .milliseconds(20))
        buffer.finish(throwing: Broken())
        let (read, error) = await reader.value
        #expect(read == [1, 2, 3])
        #expect(error == Broken())

        let ended = PartBuffer<Int>()
        let waiting = Task { try await ended.next() }
        try await Task.sleep(for: .milliseconds(20))
        ended.finish()
        #expect(try await waiting.value == nil)
    }

    /// Cancelled while waiting, or before its first read, the reader gets
    /// nil; what comes after is dropped.
    @Test func aCancelledReaderGetsNil() async throws {
        let buffer = PartBuffer<Int>()
        let waiting = Task { try await buffer.next() }
        try await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        #expect(try await waiting.value == nil)
        buffer.yield(1)
        #expect(try await buffer.next() == nil)

        let other = PartBuffer<Int>()
        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await other.next()
        }
        #expect(try await cancelledFirst.value == nil)
    }

    /// Parts added from another thread while the reader reads, waiting or
    /// not, all arrive, in order.
    @Test func aProducerOnAnotherThreadKeepsItsOrder() async throws {
        let buffer = PartBuffer<Int>()
        let count = 20_000
        let producer = Thread {
            for part in 0..<count {
                buffer.yield(part)
                if part % 1_000 == 0 { usleep(200) }
            }
            buffer.finish()
        }
        producer.start()
        var expected = 0
        while let part = try await buffer.next() {
            #expect(part == expected)
            expected += 1
        }
        #expect(expected == count)
    }
}
