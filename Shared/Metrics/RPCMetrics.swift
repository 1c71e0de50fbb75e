import GRPCCore
import Prometheus
import Synchronization

/// The per-RPC series: `laurel_rpc_requests_total` and
/// `laurel_rpc_errors_total` by service, method and status code, and
/// `laurel_rpc_duration_seconds` by service and method.
///
/// Every call looks its method up here, so each method's series are made
/// once and kept, rather than labels being built per call.
final class RPCMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let methods = Mutex<[MethodDescriptor: MethodMetrics]>([:])

    init(_ metrics: LaurelMetrics) {
        registry = metrics.registry
    }

    func method(_ descriptor: MethodDescriptor) -> MethodMetrics {
        methods.withLock { methods in
            if let known = methods[descriptor] { return known }
            let made = MethodMetrics(registry: registry, descriptor: descriptor)
            methods[descriptor] = made
            return made
        }
    }

    static var requests: MetricNameDescriptor {
        .laurel("rpc_requests", unit: "total", help: "RPCs handled, by the status code they ended with.")
    }
    static var errors: MetricNameDescriptor {
        .laurel("rpc_errors", unit: "total", help: "RPCs that ended with a status other than OK.")
    }
    static var duration: MetricNameDescriptor {
        .laurel("rpc_duration", unit: "seconds", help: "Time from receiving an RPC to the end of its response.")
    }

    /// From half a millisecond (a cached read) to ten seconds (past any
    /// deadline a partner should set).
    static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]
}

/// One method's series. OK, by far the commonest outcome, has its counter
/// ready; the others are made the first time they happen, so that the
/// output lists only codes that occurred.
final class MethodMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let labels: [(String, String)]
    private let duration: DurationHistogram
    private let succeeded: Counter
    private let failed = Mutex<[Int: (requests: Counter, errors: Counter)]>([:])

    init(registry: PrometheusCollectorRegistry, descriptor: MethodDescriptor) {
        self.registry = registry
        labels = [("service", descriptor.service.fullyQualifiedService), ("method", descriptor.method)]
        duration = registry.makeDurationHistogram(descriptor: RPCMetrics.duration, labels: labels, buckets: RPCMetrics.buckets)
        succeeded = registry.makeCounter(descriptor: RPCMetrics.requests, labels: labels + [("code", StatusName.ok)])
    }

    /// `code` is a gRPC status code's number, 0 for OK.
    func finished(after elapsed: Duration, code: Int) {
        duration.record(elapsed)
        guard code != 0 else {
            succeeded.increment()
            return
        }
        let counters = failed.withLock { failed in
            if let known = failed[code] { return known }
            let labels = self.labels + [("code", StatusName.of(code))]
            let made = (
                requests: registry.makeCounter(descriptor: RPCMetrics.requests, labels: labels),
                errors: registry.makeCounter(descriptor: RPCMetrics.errors, labels: labels))
            failed[code] = made
            return made
        }
        counters.requests.increment()
        counters.errors.increment()
    }
}

/// The names the gRPC specification gives status codes, which dashboards
/// and alerts are written against (grpc-swift's descriptions are camelCase).
enum StatusName {
    static let ok = "OK"

    static func of(_ code: Int) -> String {
        names.indices.contains(code) ? names[code] : "CODE_\(code)"
    }

    private static let names = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]
}
