import Prometheus

/// Points moving through the members ledger. Members counts an entry only
/// once its transaction commits, so that neither a rolled-back call nor the
/// replay of an idempotent one counts anything.
public struct PointsMetrics: Sendable {
    private let issued: Counter
    private let redeemed: Counter
    private let refunded: Counter

    init(registry: PrometheusCollectorRegistry) {
        issued = registry.makeCounter(descriptor: .laurel(
            "points_issued", unit: "total", help: "Points credited to members by purchases and positive adjustments."))
        redeemed = registry.makeCounter(descriptor: .laurel(
            "points_redeemed", unit: "total", help: "Points spent: the points of captured holds."))
        refunded = registry.makeCounter(descriptor: .laurel(
            "points_refunded", unit: "total", help: "Points given back by refunds of captured holds."))
    }

    // A counter traps on a negative increment; metrics must never take a call down.
    public func issued(_ points: Int64) { issued.increment(by: max(0, points)) }
    public func redeemed(_ points: Int64) { redeemed.increment(by: max(0, points)) }
    public func refunded(_ points: Int64) { refunded.increment(by: max(0, points)) }
}
