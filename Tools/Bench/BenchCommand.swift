import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LaurelShared
import NIOCore
import NIOPosix
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
        help: "How the bench calls: direct (unary calls straight on Laurel's transport, the least client CPU per call), frames (grpc-swift-2's clients on Laurel's transport) or nio (on grpc-swift-nio-transport).")
    var clientTransport: BenchClient = .direct
    @Flag(inversion: .prefixedNo, help: "With the direct client, run each worker's task on its connection's event loop.")
    var onLoops = true
    @Option(name: .customLong("member-count"), help: "Members to enrol before the run.") var memberCount: Int = 1_000
    @Option(help: "Start calls at this many per second instead of as fast as answers come (open loop); latency is then counted from when each call was due, so a stall shows up in it.")
    var rate: Int?
    @Option(
        name: .customLong("cpu-pids"), parsing: .upToNextOption,
        help: "Processes on this machine whose CPU to report over the measured seconds only (warm-up and preload left out), as cores busy.")
    var cpuPids: [Int32] = []
    @Option(help: "Also write FILE: per 100 ms of the measured seconds, by when calls began (were due, in an open loop), the calls answered, their p50, p99 and slowest latency and the failures, as CSV; to see whether a tail is a few stalls or spread out.")
    var timeline: String?

    func validate() throws {
        guard concurrency > 0, connections > 0, duration > 0, warmup >= 0 else {
            throw ValidationError("--concurrency, --connections and --duration must be positive")
        }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
    }

    func run() async throws {
        let key = try String(contentsOfFile: apiKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        switch clientTransport {
        case .direct:
            // Connection i of each service on loop i (mod the loops), so that
            // a worker's connections to members and to redemption share the
            // loop its task runs on.
            let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
            try await run(
                connect: { (address: PeerAddress, index: Int) -> DirectConnection in
                    let loop = loops[index % loops.count]
                    return DirectConnection(
                        transport: FrameClientTransport(.init(host: address.host, port: address.port), group: loop),
                        executor: EventLoopExecutor(loop))
                },
                keepUp: { (connection: DirectConnection) in try await connection.transport.connect() },
                shutDown: { $0.transport.beginGracefulShutdown() },
                caller: { DirectCaller(transport: $0.transport, apiKey: key) },
                executor: { [onLoops] in onLoops ? $0.executor : nil })
        case .frames:
            try await runClients { makeFramePeerClient($0, apiKey: key) }
        case .nio:
            try await runClients { try makePeerClient($0, apiKey: key) }
        }
    }

    func runClients<Transport: ClientTransport>(_ makeClient: @escaping (PeerAddress) throws -> GRPCClient<Transport>) async throws {
        try await run(
            connect: { address, _ in try makeClient(address) }, keepUp: { try await $0.runConnections() }, shutDown: { $0.beginGracefulShutdown() },
            caller: { GRPCCaller(client: $0) })
    }

    /// Makes `connections` connections to each service, runs the scenario
    /// over them and prints its result.
    func run<Connection: Sendable, C: Caller>(
        connect: (_ address: PeerAddress, _ index: Int) throws -> Connection,
        keepUp: @escaping @Sendable (Connection) async throws -> Void,
        shutDown: (Connection) -> Void,
        caller: (Connection) -> C,
        executor: (Connection) -> (any TaskExecutor)? = { _ in nil }
    ) async throws {
        func connections(_ address: PeerAddress) throws -> [Connection] {
            try (0..<max(1, self.connections)).map { try connect(address, $0) }
        }
        let members = try connections(membersAddress)
        let catalog = try connections(catalogAddress)
        let redemption = try connections(redemptionAddress)
        try await withThrowingDiscardingTaskGroup { group in
            for connection in members + catalog + redemption {
                group.addTask { try await keepUp(connection) }
            }
            defer { for connection in members + catalog + redemption { shutDown(connection) } }

            let fixture = try await Fixture.prepare(members: caller(members[0]), catalog: caller(catalog[0]), count: memberCount)
            let workers = (0..<concurrency).map { index in
                Worker(
                    index: index, fixture: fixture,
                    members: caller(members[index % members.count]),
                    redemption: caller(redemption[index % redemption.count]),
                    // Connection i of every service shares a loop (`run()`), so the
                    // members connection's executor serves the redemption calls too.
                    executor: executor(members[index % members.count]))
            }
            let result = try await measure(workers)
            print(result.json)
        }
    }

    func measure<C: Caller>(_ workers: [Worker<C>]) async throws -> BenchResult {
        let scenario = self.scenario
        let clock = ContinuousClock()
        let start = clock.now
        let measureFrom = start.advanced(by: .seconds(warmup))
        let end = measureFrom.advanced(by: .seconds(duration))
        // Open loop: call k is due at start + k/rate, whichever worker is free takes it.
        let schedule = rate.map { OpenLoopSchedule(start: start, rate: $0) }
        let keepsTimeline = timeline != nil
        // The bench's own CPU last: on shared cores, what the client takes
        // the servers do not get.
        let pids = cpuPids + [getpid()]
        let cpu = Task {
            try await Task.sleep(until: measureFrom, clock: clock)
            let (before, from) = (ProcessCPU.ticks(pids), clock.now)
            try await Task.sleep(until: end, clock: clock)
            return ProcessCPU.cores(from: before, to: ProcessCPU.ticks(pids), over: clock.now - from)
        }
        let samples = try await withThrowingTaskGroup(of: Samples.self) { group in
            for worker in workers {
                group.addTask(executorPreference: worker.executor) {
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
                        let failure = await worker.step(scenario, iteration: iteration)
                        let finished = clock.now
                        iteration += 1
                        guard began >= measureFrom else { continue }
                        if keepsTimeline { samples.began(micros(began - measureFrom), failed: failure != nil) }
                        if let failure {
                            samples.count(failure)
                        } else {
                            samples.latenciesMicros.append(micros(finished - began))
                        }
                    }
                    return samples
                }
            }
            return try await group.reduce(into: Samples()) { $0.merge($1) }
        }
        let cores = try await cpu.value
        if let timeline {
            // The wall clock of the measured seconds' start, to line the windows up with other tools' records.
            let startMillis = Int64(Date().timeIntervalSince1970 * 1000) - Int64(micros(clock.now - measureFrom) / 1000)
            try samples.timelineCSV(window: 100_000, startMillis: startMillis).write(toFile: timeline, atomically: true, encoding: .utf8)
        }
        return BenchResult(
            scenario: scenario.rawValue, seconds: Double(duration), concurrency: concurrency, connections: connections,
            rate: rate, samples: samples, cpu: Array(cores.dropLast()), benchCPU: cores.last ?? nil)
    }
}

/// CPU time of processes on this machine, from `/proc/<pid>/stat`.
enum ProcessCPU {
    /// User plus system clock ticks of each process; nil for one that cannot be read.
    static func ticks(_ pids: [Int32]) -> [Int?] {
        pids.map { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
            return user + system
        }
    }

    /// Nil for a process not there at both ends (one restarted meanwhile).
    static func cores(from before: [Int?], to after: [Int?], over elapsed: Duration) -> [Double?] {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        return zip(before, after).map { before, after in
            guard let before, let after, seconds > 0 else { return nil }
            return Double(after - before) / ticksPerSecond / seconds
        }
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

/// The latency at fraction `p` of `sorted` (microseconds), in milliseconds; nil if there is none.
func percentileMillis(_ sorted: [UInt32], _ p: Double) -> Double? {
    guard !sorted.isEmpty else { return nil }
    return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
}

func micros(_ duration: Duration) -> UInt32 {
    let (seconds, attoseconds) = duration.components
    return UInt32(clamping: seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
}

struct Samples: Sendable {
    var latenciesMicros: [UInt32] = []
    /// With `--timeline`: when each answered call began, in the order of
    /// `latenciesMicros`, and when each failed one did.
    var beganMicros: [UInt32] = []
    var failedBeganMicros: [UInt32] = []
    /// Failed calls by gRPC status code, with the first message seen for each:
    /// a count alone does not say whether a run hit a limit, a timeout or a bug.
    var failures: [String: (count: Int, message: String)] = [:]

    var errors: Int { failures.values.reduce(0) { $0 + $1.count } }

    mutating func count(_ error: any Error) {
        let (code, message) = (error as? RPCError).map { ("\($0.code)", $0.message) } ?? ("client", "\(error)")
        failures[code, default: (0, message)].count += 1
    }

    mutating func began(_ offset: UInt32, failed: Bool) {
        if failed { failedBeganMicros.append(offset) } else { beganMicros.append(offset) }
    }

    /// One line per `window` microseconds that calls began in; `startMillis`,
    /// the wall clock (Unix ms) of offset 0.
    func timelineCSV(window: UInt32, startMillis: Int64) -> String {
        var answered: [UInt32: [UInt32]] = [:]
        for (began, latency) in zip(beganMicros, latenciesMicros) { answered[began / window, default: []].append(latency) }
        var failed: [UInt32: Int] = [:]
        for began in failedBeganMicros { failed[began / window, default: 0] += 1 }
        let last = max(answered.keys.max() ?? 0, failed.keys.max() ?? 0)
        var lines = ["window_start_ms,unix_ms,calls,p50_ms,p99_ms,max_ms,failed"]
        for index in 0...last {
            let sorted = (answered[index] ?? []).sorted()
            func ms(_ p: Double) -> String { percentileMillis(sorted, p).map { String(format: "%.2f", $0) } ?? "" }
            let offset = Int64(index) * Int64(window) / 1000
            lines.append("\(offset),\(startMillis + offset),\(sorted.count),\(ms(0.5)),\(ms(0.99)),\(ms(1)),\(failed[index] ?? 0)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    mutating func merge(_ other: Samples) {
        latenciesMicros += other.latenciesMicros
        beganMicros += other.beganMicros
        failedBeganMicros += other.failedBeganMicros
        failures.merge(other.failures) { ($0.count + $1.count, $0.message) }
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
    let cpu: [Double?]
    /// Cores laurel-bench itself kept busy over the measured seconds.
    let benchCPU: Double?

    var json: String {
        let sorted = samples.latenciesMicros.sorted()
        func percentile(_ p: Double) -> Double { percentileMillis(sorted, p) ?? 0 }
        let fields: [String: String] = [
            "scenario": "\"\(scenario)\"",
            "ok": "\(sorted.count)",
            "errors": "\(samples.errors)",
            "errors_by_code": "{" + samples.failures.sorted { $0.key < $1.key }
                .map { "\(jsonString($0.key)): {\"count\": \($0.value.count), \"first\": \(jsonString($0.value.message))}" }
                .joined(separator: ", ") + "}",
            "throughput": String(format: "%.0f", Double(sorted.count) / seconds),
            "p50_ms": String(format: "%.2f", percentile(0.5)),
            "p99_ms": String(format: "%.2f", percentile(0.99)),
            "p999_ms": String(format: "%.2f", percentile(0.999)),
            "concurrency": "\(concurrency)",
            "connections": "\(connections)",
            "rate": rate.map(String.init) ?? "null",
            "cpu_cores": "[" + cpu.map { $0.map { String(format: "%.2f", $0) } ?? "null" }.joined(separator: ", ") + "]",
            "bench_cpu_cores": benchCPU.map { String(format: "%.2f", $0) } ?? "null",
        ]
        return "{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }
}

/// Members to act as and rewards to redeem, made before the clock starts.
struct Fixture: Sendable {
    let memberIds: [String]
    let rewardId: String
    let run: String

    static func prepare(members: some Caller, catalog: some Caller, count: Int) async throws -> Fixture {
        let run = Identifier.randomBase32(count: 8)
        let reward = try await catalog.call(
            Laurel_V1_CatalogService.Method.CreateReward.descriptor,
            Laurel_V1_CreateRewardRequest.with {
                $0.sku = "BENCH-\(run)"
                $0.name = "Benchmark reward"
                $0.kind = .exclusiveAccess
                $0.costPoints = 1
                $0.unlimitedStock = true
            }, answer: Laurel_V1_CreateRewardResponse.self
        ).reward.rewardID
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            let batches = stride(from: 0, to: count, by: max(1, count / 16)).map { $0..<min(count, $0 + max(1, count / 16)) }
            for batch in batches {
                group.addTask {
                    var ids: [String] = []
                    for i in batch {
                        let id = try await members.call(
                            Laurel_V1_MemberService.Method.EnrollMember.descriptor,
                            Laurel_V1_EnrollMemberRequest.with { $0.externalID = "bench-\(run)-\(i)" },
                            answer: Laurel_V1_EnrollMemberResponse.self
                        ).member.memberID
                        _ = try await members.call(
                            Laurel_V1_MemberService.Method.AdjustPoints.descriptor,
                            Laurel_V1_AdjustPointsRequest.with {
                                $0.memberID = id; $0.delta = 1_000_000; $0.reason = "benchmark"; $0.requestID = "bench-\(run)-\(i)"
                            }, answer: Laurel_V1_AdjustPointsResponse.self)
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

struct Worker<C: Caller>: Sendable {
    let index: Int
    let fixture: Fixture
    let members: C
    let redemption: C
    /// Where the worker's task runs; nil for Swift's global executor.
    let executor: (any TaskExecutor)?

    /// One call of the scenario (a checkout is a balance look-up, a purchase
    /// and, one time in ten, a redemption); the first call's error if one failed.
    func step(_ scenario: BenchCommand.Scenario, iteration: Int) async -> (any Error)? {
        let member = fixture.memberIds[(index &* 7919 &+ iteration) % fixture.memberIds.count]
        // Made only by the calls that need one: GetBalance needs none.
        var key: String { "\(fixture.run)-\(index)-\(iteration)" }
        do {
            switch scenario {
            case .getBalance:
                _ = try await balance(member)
            case .recordPurchase:
                _ = try await purchase(member, key)
            case .redeem:
                _ = try await redeem(member, key)
            case .checkout:
                _ = try await balance(member)
                _ = try await purchase(member, key)
                if iteration % 10 == 0 { _ = try await redeem(member, key) }
            }
            return nil
        } catch {
            return error
        }
    }

    func balance(_ member: String) async throws -> Laurel_V1_GetBalanceResponse {
        try await members.call(
            Laurel_V1_MemberService.Method.GetBalance.descriptor, Laurel_V1_GetBalanceRequest.with { $0.memberID = member },
            answer: Laurel_V1_GetBalanceResponse.self)
    }

    func purchase(_ member: String, _ key: String) async throws -> Laurel_V1_RecordPurchaseResponse {
        try await members.call(
            Laurel_V1_MemberService.Method.RecordPurchase.descriptor,
            Laurel_V1_RecordPurchaseRequest.with {
                $0.memberID = member
                $0.orderID = "order-\(key)"
                $0.amount = .with { $0.currencyCode = "USD"; $0.minorUnits = 2_599 }
            }, answer: Laurel_V1_RecordPurchaseResponse.self)
    }

    func redeem(_ member: String, _ key: String) async throws -> Laurel_V1_RedeemResponse {
        try await redemption.call(
            Laurel_V1_RedemptionService.Method.Redeem.descriptor,
            Laurel_V1_RedeemRequest.with {
                $0.memberID = member
                $0.rewardID = fixture.rewardId
                $0.quantity = 1
                $0.idempotencyKey = "redeem-\(key)"
            }, answer: Laurel_V1_RedeemResponse.self)
    }
}

/// `text` as a JSON string literal, quotes and escapes included.
func jsonString(_ text: String) -> String {
    (try? JSONEncoder().encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
}
