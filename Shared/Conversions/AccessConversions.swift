import GRPCCore

extension Laurel_V1_ApiKeyRole {
    public init(_ role: Role) {
        switch role {
        case .operator: self = .operator
        case .partner: self = .partner
        case .service: self = .service
        }
    }
}

extension Role {
    public init?(_ role: Laurel_V1_ApiKeyRole) {
        switch role {
        case .operator: self = .operator
        case .partner: self = .partner
        case .service: self = .service
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }
}

extension Principal {
    /// The caller as the members service described it.
    public init(_ key: Laurel_V1_ApiKey) throws {
        guard let role = Role(key.role) else {
            throw RPCError(code: .internalError, message: "members described a key without a role")
        }
        self.init(
            keyId: key.keyID, name: key.name, role: role, partnerId: key.partnerID,
            rateLimitPerSecond: Int(key.rateLimitPerSecond))
    }
}

extension Laurel_V1_ApiKey {
    /// The caller as members describes it to the other services (`WhoAmI`):
    /// what `Principal.init(_:)` reads back.
    public init(_ principal: Principal) {
        self = .with {
            $0.keyID = principal.keyId
            $0.name = principal.name
            $0.role = .init(principal.role)
            $0.partnerID = principal.partnerId
            $0.rateLimitPerSecond = Int32(principal.rateLimitPerSecond)
        }
    }
}
