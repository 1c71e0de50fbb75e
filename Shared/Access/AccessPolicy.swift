import GRPCCore

/// Which roles may call which methods of one service. Operators may call
/// everything; a method nobody granted is operator-only, so a new RPC is
/// closed until someone opens it on purpose.
public struct AccessPolicy: Sendable {
    private var grants: [String: Set<Role>] = [:]
    private var unmetered: Set<String> = []
    /// Callable without a key: health checks and reflection.
    public static let openServices: Set<String> = [
        "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
    ]

    public init() {}

    /// Lets `roles` (besides operators) call `methods`.
    public mutating func grant(_ roles: Set<Role>, _ methods: MethodDescriptor...) {
        for method in methods { grants[method.fullyQualifiedMethod, default: []].formUnion(roles) }
    }

    /// Exempts `methods` from rate limiting (checking a key on another
    /// service's behalf must not spend the caller's budget twice).
    public mutating func exemptFromRateLimit(_ methods: MethodDescriptor...) {
        unmetered.formUnion(methods.map(\.fullyQualifiedMethod))
    }

    public func isOpen(_ method: MethodDescriptor) -> Bool {
        Self.openServices.contains(method.service.fullyQualifiedService)
    }

    public func allows(_ role: Role, _ method: MethodDescriptor) -> Bool {
        role == .operator || grants[method.fullyQualifiedMethod]?.contains(role) == true
    }

    public func isMetered(_ method: MethodDescriptor) -> Bool {
        !unmetered.contains(method.fullyQualifiedMethod)
    }

    /// Every method a role was granted, for documentation and tests.
    public func methods(grantedTo role: Role) -> [String] {
        grants.filter { $0.value.contains(role) }.map(\.key).sorted()
    }
}
