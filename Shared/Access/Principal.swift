/// What an API key may do.
public enum Role: String, Codable, Sendable, CaseIterable {
    /// Everything, including keys, rewards and manual adjustments.
    case `operator` = "OPERATOR"
    /// Member-facing calls, only for the partner's own members.
    case partner = "PARTNER"
    /// Service-to-service calls: holds and stock reservations.
    case service = "SERVICE"
}

/// The authenticated caller of the current RPC: the API key it presented.
public struct Principal: Codable, Sendable, Equatable {
    public var keyId: String
    public var name: String
    public var role: Role
    /// The partner a partner key acts for; empty for other roles.
    public var partnerId: String
    /// 0 means the service's default.
    public var rateLimitPerSecond: Int

    public init(keyId: String, name: String, role: Role, partnerId: String = "", rateLimitPerSecond: Int = 0) {
        self.keyId = keyId
        self.name = name
        self.role = role
        self.partnerId = partnerId
        self.rateLimitPerSecond = rateLimitPerSecond
    }

    /// Which members this caller may act on.
    public var scope: AccessScope {
        role == .partner ? .partner(partnerId) : .everyone
    }

    /// Set by `AuthInterceptor` for the handler of each authenticated call.
    @TaskLocal public static var current: Principal?
}

/// Which members (and their redemptions) a caller may see and change.
public enum AccessScope: Sendable, Equatable {
    case everyone
    case partner(String)

    /// The scope of the current call; `everyone` when no key was checked,
    /// which only happens in-process, in tests of handlers without the
    /// interceptor (every executable installs it).
    public static var current: AccessScope { Principal.current?.scope ?? .everyone }

    /// The partner recorded on something created in this scope.
    public var partnerId: String {
        switch self {
        case .everyone: ""
        case .partner(let id): id
        }
    }

    /// Whether something belonging to `ownerPartnerId` is visible here.
    public func includes(ownerPartnerId: String) -> Bool {
        switch self {
        case .everyone: true
        case .partner(let id): id == ownerPartnerId
        }
    }
}
