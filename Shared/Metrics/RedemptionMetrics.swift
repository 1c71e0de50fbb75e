import Prometheus

/// Redemptions reaching an end of the saga, by the status a client sees.
/// A retried attempt that fails again counts again: each is a failure a
/// member saw.
public struct RedemptionMetrics: Sendable {
    public enum Outcome: String, Sendable, CaseIterable {
        case completed = "COMPLETED"
        case failed = "FAILED"
        case cancelled = "CANCELLED"
    }

    private let completed: Counter
    private let failed: Counter
    private let cancelled: Counter

    init(registry: PrometheusCollectorRegistry) {
        func counter(_ outcome: Outcome) -> Counter {
            registry.makeCounter(
                descriptor: .laurel("redemptions", unit: "total", help: "Redemptions that reached COMPLETED, FAILED or CANCELLED."),
                labels: [("status", outcome.rawValue)])
        }
        completed = counter(.completed)
        failed = counter(.failed)
        cancelled = counter(.cancelled)
    }

    public func reached(_ outcome: Outcome) {
        switch outcome {
        case .completed: completed.increment()
        case .failed: failed.increment()
        case .cancelled: cancelled.increment()
        }
    }
}
