import Foundation
import GRPCCore
import LaurelShared
import Testing

/// Crashes each service at each named point in the middle of a redemption
/// load, restarts it, and checks that nothing was lost or taken twice.
@Suite(.serialized) struct FaultInjectionTests {
    struct Fault: CustomTestStringConvertible, Sendable {
        var service: String
        var point: String
        var action: String
        var testDescription: String { "\(service) \(action) after \(point)" }
    }

    static let faults: [Fault] =
        ["pending", "stock_reserved", "points_held", "stock_committed", "completed", "compensating"].flatMap { point in
            ["exit", "kill"].map { Fault(service: "laurel-redemption", point: point, action: $0) }
        } + [
            Fault(service: "laurel-members", point: "hold_committed", action: "kill"),
            Fault(service: "laurel-members", point: "capture_committed", action: "kill"),
            Fault(service: "laurel-catalog", point: "reserve_committed", action: "kill"),
            Fault(service: "laurel-catalog", point: "commit_committed", action: "exit"),
        ]

    /// Six members can afford the reward and two cannot, all redeeming at once.
    static let rich = 6
    static let poor = 2
    static let cost: Int64 = 50

    @Test(arguments: faults)
    func aCrashLosesNothingAndTakesNothingTwice(fault: Fault) async throws {
        let laurel = try await LaurelCluster.start(faults: [fault.service: "after:\(fault.point):\(fault.action)"])
        do {
            try await run(fault, laurel)
        } catch {
            Issue.record(error, "logs:\n\(laurel.process(fault.service).log)")
        }
        await laurel.stop()
    }

    func run(_ fault: Fault, _ laurel: LaurelCluster) async throws {
        // Set up through members and catalog; neither has reached its fault point yet.
        let (memberIds, rewardId) = try await withClient(port: laurel.members.port, apiKey: laurel.operatorKey) { m in
            try await withClient(port: laurel.catalog.port, apiKey: laurel.operatorKey) { c in
                let members = MembersClient(wrapping: m)
                var ids: [String] = []
                for i in 0..<(Self.rich + Self.poor) {
                    let id = try await members.enrollMember(.with { $0.externalID = "m\(i)" }).member.memberID
                    let points: Int64 = i < Self.rich ? 100 : 10
                    _ = try await members.adjustPoints(.with { $0.memberID = id; $0.delta = points; $0.reason = "seed"; $0.requestID = "seed-\(i)" })
                    ids.append(id)
                }
                let reward = try await CatalogClient(wrapping: c).createReward(.with {
                    $0.sku = "TOTE"; $0.name = "Tote bag"; $0.kind = .freeProduct; $0.productSku = "TOTE"; $0.costPoints = Self.cost; $0.stock = 20
                }).reward.rewardID
                return (ids, reward)
            }
        }

        // The load: every member redeems once, concurrently; the faulted service dies part way.
        let acknowledged = await redeemAll(memberIds, rewardId: rewardId, port: laurel.redemption.port, apiKey: laurel.operatorKey, timeout: .seconds(5))
        let crashed = await laurel.process(fault.service).waitForExit(timeout: 20)
        #expect(crashed, "\(fault.service) never reached \(fault.point)")
        try await laurel.restart(fault.service)

        // Clients retry with the same keys until each has a definitive answer.
        var answers: [String: String] = [:]
        let deadline = Date().addingTimeInterval(60)
        while answers.count < memberIds.count && Date() < deadline {
            let round = await redeemAll(memberIds.filter { answers[$0] == nil }, rewardId: rewardId, port: laurel.redemption.port, apiKey: laurel.operatorKey, timeout: .seconds(5))
            for (id, outcome) in round where outcome.isDefinitive { answers[id] = outcome.summary }
            if answers.count < memberIds.count { try await Task.sleep(for: .milliseconds(500)) }
        }
        for (index, id) in memberIds.enumerated() {
            #expect(answers[id] == (index < Self.rich ? "COMPLETED" : "INSUFFICIENT_POINTS"), "member \(index)")
        }
        // A redemption acknowledged before the crash is the same redemption now.
        try await withClient(port: laurel.redemption.port, apiKey: laurel.operatorKey) { r in
            for (id, outcome) in acknowledged {
                guard case .completed(let redemption) = outcome else { continue }
                let now = try await RedemptionClient(wrapping: r).getRedemption(.with { $0.redemptionID = redemption.redemptionID }).redemption
                #expect(now.status == .completed)
                #expect(now.voucherCode == redemption.voucherCode, "member \(id)")
            }
        }

        // The three services agree, with nothing left held or reserved.
        try await withClient(port: laurel.members.port, apiKey: laurel.operatorKey) { m in
            let members = MembersClient(wrapping: m)
            for (index, id) in memberIds.enumerated() {
                let balance = try await members.getBalance(.with { $0.memberID = id }).balance
                #expect(balance.available == (index < Self.rich ? 100 - Self.cost : 10), "member \(index)")
                #expect(balance.held == 0, "member \(index)")
                try await expectLedgerBalances(members: members, memberId: id)
            }
        }
        try await withClient(port: laurel.catalog.port, apiKey: laurel.operatorKey) { c in
            let stock = try await CatalogClient(wrapping: c).getReward(.with { $0.rewardID = rewardId }).reward
            #expect(stock.stockCommitted == Int64(Self.rich))
            #expect(stock.stockReserved == 0)
            #expect(stock.stockAvailable == 20 - Int64(Self.rich))
        }
        try await withClient(port: laurel.redemption.port, apiKey: laurel.operatorKey) { r in
            for id in memberIds {
                let statuses = try await RedemptionClient(wrapping: r).listRedemptions(.with { $0.memberID = id }).redemptions.map(\.status)
                #expect(!statuses.contains(.pending), "an unfinished saga was left behind")
                #expect(statuses.filter { $0 == .completed }.count <= 1)
            }
        }
    }

    enum Outcome: Sendable {
        case completed(Laurel_V1_Redemption)
        case refused(String)
        case unavailable(String)

        var isDefinitive: Bool {
            switch self {
            case .completed: true
            case .refused(let reason): reason == "INSUFFICIENT_POINTS"
            case .unavailable: false
            }
        }

        var summary: String {
            switch self {
            case .completed: "COMPLETED"
            case .refused(let reason), .unavailable(let reason): reason
            }
        }
    }

    /// One Redeem per member, all at once, each with the member's own key.
    func redeemAll(_ memberIds: [String], rewardId: String, port: Int, apiKey: String, timeout: Duration) async -> [String: Outcome] {
        do {
            return try await withClient(port: port, apiKey: apiKey) { r in
                let redemption = RedemptionClient(wrapping: r)
                let options: CallOptions = {
                    var options = CallOptions.defaults
                    options.timeout = timeout
                    return options
                }()
                return await withTaskGroup(of: (String, Outcome).self) { group in
                    for id in memberIds {
                        group.addTask {
                            do {
                                let result = try await redemption.redeem(
                                    .with { $0.memberID = id; $0.rewardID = rewardId; $0.quantity = 1; $0.idempotencyKey = "redeem-\(id)" },
                                    options: options)
                                return (id, .completed(result.redemption))
                            } catch let error as RPCError {
                                if let reason = error.laurelErrorInfo?.reason, error.code != .unavailable { return (id, .refused(reason)) }
                                return (id, .unavailable("\(error.code)"))
                            } catch {
                                return (id, .unavailable("\(error)"))
                            }
                        }
                    }
                    return await group.reduce(into: [String: Outcome]()) { $0[$1.0] = $1.1 }
                }
            }
        } catch {
            return [:]
        }
    }
}
