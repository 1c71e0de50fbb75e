import Prometheus

/// One process's metrics, handed to whatever records them.
///
/// Passed explicitly rather than installed with `MetricsSystem.bootstrap`:
/// that may happen once per process, and the tests run many servers in one
/// process, each of which must count only its own calls.
public struct LaurelMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Everything recorded so far, in the Prometheus text format (0.0.4).
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// The members ledger's counters; the first use registers them, at zero.
    public var points: PointsMetrics { PointsMetrics(registry: registry) }

    /// The redemption saga's counters; the first use registers them, at zero.
    public var redemptions: RedemptionMetrics { RedemptionMetrics(registry: registry) }

    /// The database's writes and commits; the first use registers them, empty.
    public var storage: StorageMetrics { StorageMetrics(registry: registry) }
}

extension MetricNameDescriptor {
    /// `laurel_<name>_<unit>`, the one way Laurel names a metric.
    static func laurel(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "laurel", metricName: name, unitName: unit, helpText: help)
    }
}
