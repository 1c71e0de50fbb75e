import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LaurelShared
import Synchronization

/// Load generator for Laurel: many concurrent calls over several HTTP/2
/// connections for a bounded time, then throughput and latency percentiles.
/// `scripts/bench` starts the services and runs every scenario.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laurel-bench",
        abstract: "Drive a running Laurel with a benchmark scenario and print one result line (JSON).")

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        case getBalance = "get-balance"
        case recordPurchase = "record-purchase"
        case redeem
        case checkout
    }

    @Option var scenario: Scenario
    @Option(name: .customLong("members")) var membersAddress: PeerAddress
    @Option(name: .customLong("catalog")) var catalogAddress: PeerAddress
    @Option(name: .customLong("redemption")) var redemptionAddress: PeerAddress
    @Option(name: .customLong("api-key-file"), help: "File holding the operator API key to call with.") var apiKeyFile: String
    @Option(help: "Seconds to run the scenario.") var duration: Int = 10
    @Option(help: "Seconds of warm-up not counted.") var warmup: Int = 2
    @Option(help: "Calls in flight at once.") var concurrency: Int = 64
    @Option(help: "HTTP/2 connections per service.") var connections: Int = 4
    @Option(
        name: .customLong("client-transport"),
        help: "HTTP/2 transport of the bench's gRPC clients: frames (Laurel's own, which costs the shared cores least) or nio (grpc-swift-nio-transport's).")
    var clientTransport: TransportChoice = .frames
    @Option(name: .customLong("member-count"), help: "Members to enrol before the run.") var memberCount: Int = 1_000
    @Option(help: "Start calls at this many per second instead of as fast as answers come (open loop); latency is then counted from when each call was due, so a stall shows up in it.")
    var rate: Int?
    @Option(
        name: .customLong("cpu-pids"), parsing: .upToNextOption,
        help: "Processes on this machine whose CPU to report over the measured seconds only (warm-up and preload left out), as cores busy.")
    var cpuPids: [Int32] = []

    func validate() throws {
        guard concurrency > 0, connections > 0, duration > 0, warmup >= 0 else {
            throw ValidationError("--concurrency, --connections and --duration must be positive")
        }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
    }

    func run() async throws {
        let key = try String(contentsOfFile: apiKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        switch clientTransport {
        case .frames: try await run { makeFramePeerClient($0, apiKey: key) }
        case .nio: try await run { try makePeerClient($0, apiKey: key) }
        }
    }

    func run<Transport: ClientTransport>(_ makeClient: (PeerAddress) throws -> GRPCClient<Transport>) async throws {
        func clients(_ address: PeerAddress) throws -> [GRPCClient<Transport>] {
            try (0..<max(1, connections)).map { _ in try makeClient(address) }
        }
        let members = try clients(membersAddress)
        let catalog = try clients(catalogAddress)
        let redemption = try clients(redemptionAddress)
        try await withThrowingDiscardingTaskGroup { group in
            for client in members + catalog + redemption {
                group.addTask { try await client.runConnections() }
            }
            defer { for client in members + catalog + redemption { client.beginGracefulShutdown() } }

            let fixture = try await Fixture.prepare(
                members: Laurel_V1_MemberService.Client(wrapping: members[0]),
                catalog: Laurel_V1_CatalogService.Client(wrapping: catalog[0]),
                count: memberCount)
            let workers = (0..<concurrency).map { index in
                Worker(
                    index: index, fixture: fixture,
                    members: Laurel_V1_MemberService.Client(wrapping: members[index % members.count]),
                    redemption: Laurel_V1_RedemptionService.Client(wrapping: redemption[index % redemption.count]))
            }
            let result = try await measure(workers)
            print(result.json)
        }
    }

    func measure<Transport: ClientTransport>(_ workers: [Worker<Transport>]) async throws -> BenchResult {
        let scenario = self.scenario
        let clock = ContinuousClock()
        let start = clock.now
        let measureFrom = start.advanced(by: .seconds(warmup))
        let end = measureFrom.advanced(by: .seconds(duration))
        // Open loop: call k is due at start + k/rate, whichever worker is free takes it.
        let schedule = rate.map { OpenLoopSchedule(start: start, rate: $0) }
        let pids = cpuPids
        let cpu = Task {
            try await Task.sleep(until: measureFrom, clock: clock)
            let (before, from) = (ProcessCPU.ticks(pids), clock.now)
            try await Task.sleep(until: end, clock: clock)
            return ProcessCPU.cores(from: before, to: ProcessCPU.ticks(pids), over: clock.now - from)
        }
        let samples = try await withThrowingTaskGroup(of: Samples.self) { group in
            for worker in workers {
                group.addTask {
                    var samples = Samples()
                    var iteration = 0
                    while clock.now < end {
                        var began = clock.now
                        if let schedule {
                            let due = schedule.next()
                            if due >= end { break }
                            if due > began { try? await Task.sleep(until: due, clock: clock) }
                            began = due
                        }
                        let ok = await worker.step(scenario, iteration: iteration)
                        let finished = clock.now
                        iteration += 1
                        guard began >= measureFrom else { continue }
                        if ok {
                            let (seconds, attoseconds) = (finished - began).components
                            samples.latenciesMicros.append(UInt32(clamping: seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
                        } else {
                            samples.errors += 1
                        }
                    }
                    return samples
                }
            }
            return try await group.reduce(into: Samples()) { $0.merge($1) }
        }
        return BenchResult(
            scenario: scenario.rawValue, seconds: Double(duration), concurrency: concurrency, connections: connections,
            rate: rate, samples: samples, cpu: try await cpu.value)
    }
}

/// CPU time of processes on this machine, from `/proc/<pid>/stat`.
enum ProcessCPU {
    /// User plus system clock ticks of each process; 0 for one that cannot be read.
    static func ticks(_ pids: [Int32]) -> [Int] {
        pids.map { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return 0 }
            // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return 0 }
            return user + system
        }
    }

    static func cores(from before: [Int], to after: [Int], over elapsed: Duration) -> [Double] {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        return zip(before, after).map { seconds > 0 ? Double($1 - $0) / ticksPerSecond / seconds : 0 }
    }
}

/// When each call of an open-loop run is due: call k at start + k/rate.
final class OpenLoopSchedule: Sendable {
    let start: ContinuousClock.Instant
    let rate: Int
    private let issued = Atomic<Int>(0)

    init(start: ContinuousClock.Instant, rate: Int) {
        self.start = start
        self.rate = rate
    }

    func next() -> ContinuousClock.Instant {
        let k = issued.add(1, ordering: .relaxed).oldValue
        return start.advanced(by: .nanoseconds(Int64(k) * 1_000_000_000 / Int64(rate)))
    }
}

struct Samples: Sendable {
    var latenciesMicros: [UInt32] = []
    var errors = 0

    mutating func merge(_ other: Samples) {
        latenciesMicros += other.latenciesMicros
        errors += other.errors
    }
}

struct BenchResult {
    let scenario: String
    let seconds: Double
    let concurrency: Int
    let connections: Int
    let rate: Int?
    let samples: Samples
    /// Cores busy per `--cpu-pids` process over the measured seconds.
    let cpu: [Double]

    var json: String {
        let sorted = samples.latenciesMicros.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
        }
        let fields: [String: String] = [
            "scenario": "\"\(scenario)\"",
            "ok": "\(sorted.count)",
            "errors": "\(samples.errors)",
            "throughput": String(format: "%.0f", Double(sorted.count) / seconds),
            "p50_ms": String(format: "%.2f", percentile(0.5)),
            "p99_ms": String(format: "%.2f", percentile(0.99)),
            "p999_ms": String(format: "%.2f", percentile(0.999)),
            "concurrency": "\(concurrency)",
            "connections": "\(connections)",
            "rate": rate.map(String.init) ?? "null",
            "cpu_cores": "[" + cpu.map { String(format: "%.2f", $0) }.joined(separator: ", ") + "]",
        ]
        return "{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }
}

/// Members to act as and rewards to redeem, made before the clock starts.
struct Fixture: Sendable {
    let memberIds: [String]
    let rewardId: String
    let run: String

    static func prepare<Transport: ClientTransport>(
        members: Laurel_V1_MemberService.Client<Transport>,
        catalog: Laurel_V1_CatalogService.Client<Transport>,
        count: Int
    ) async throws -> Fixture {
        let run = Identifier.randomBase32(count: 8)
        let reward = try await catalog.createReward(.with {
            $0.sku = "BENCH-\(run)"
            $0.name = "Benchmark reward"
            $0.kind = .exclusiveAccess
            $0.costPoints = 1
            $0.unlimitedStock = true
        }).reward.rewardID
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            let batches = stride(from: 0, to: count, by: max(1, count / 16)).map { $0..<min(count, $0 + max(1, count / 16)) }
            for batch in batches {
                group.addTask {
                    var ids: [String] = []
                    for i in batch {
                        let id = try await members.enrollMember(.with { $0.externalID = "bench-\(run)-\(i)" }).member.memberID
                        _ = try await members.adjustPoints(.with {
                            $0.memberID = id; $0.delta = 1_000_000; $0.reason = "benchmark"; $0.requestID = "bench-\(run)-\(i)"
                        })
                        ids.append(id)
                    }
                    return ids
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        return Fixture(memberIds: ids, rewardId: reward, run: run)
    }
}

struct Worker<Transport: ClientTransport>: Sendable {
    let index: Int
    let fixture: Fixture
    let members: Laurel_V1_MemberService.Client<Transport>
    let redemption: Laurel_V1_RedemptionService.Client<Transport>

    /// One call of the scenario (a checkout is a balance look-up, a purchase
    /// and, one time in ten, a redemption); false if any call failed.
    func step(_ scenario: BenchCommand.Scenario, iteration: Int) async -> Bool {
        let member = fixture.memberIds[(index &* 7919 &+ iteration) % fixture.memberIds.count]
        let key = "\(fixture.run)-\(index)-\(iteration)"
        do {
            switch scenario {
            case .getBalance:
                _ = try await members.getBalance(.with { $0.memberID = member })
            case .recordPurchase:
                _ = try await purchase(member, key)
            case .redeem:
                _ = try await redeem(member, key)
            case .checkout:
                _ = try await members.getBalance(.with { $0.memberID = member })
                _ = try await purchase(member, key)
                if iteration % 10 == 0 { _ = try await redeem(member, key) }
            }
            return true
        } catch {
            return false
        }
    }

    func purchase(_ member: String, _ key: String) async throws -> Laurel_V1_RecordPurchaseResponse {
        try await members.recordPurchase(.with {
            $0.memberID = member
            $0.orderID = "order-\(key)"
            $0.amount = .with { $0.currencyCode = "USD"; $0.minorUnits = 2_599 }
        })
    }

    func redeem(_ member: String, _ key: String) async throws -> Laurel_V1_RedeemResponse {
        try await redemption.redeem(.with {
            $0.memberID = member
            $0.rewardID = fixture.rewardId
            $0.quantity = 1
            $0.idempotencyKey = "redeem-\(key)"
        })
    }
}
