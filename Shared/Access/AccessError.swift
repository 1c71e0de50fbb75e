import GRPCCore

/// Refusals of the access check every service makes before a handler runs.
public enum AccessError: LaurelError, Equatable {
    case missingKey
    case malformedKey
    case invalidKey
    case roleNotAllowed(role: Role, method: String)
    case notInScope(what: String, id: String)
    case rateLimited(keyId: String, retryAfterMilliseconds: Int64)
    case authUnavailable(String)

    public var code: RPCError.Code {
        switch self {
        case .missingKey, .malformedKey, .invalidKey: .unauthenticated
        case .roleNotAllowed, .notInScope: .permissionDenied
        case .rateLimited: .resourceExhausted
        case .authUnavailable: .unavailable
        }
    }

    public var reason: String {
        switch self {
        case .missingKey: "API_KEY_MISSING"
        case .malformedKey: "API_KEY_MALFORMED"
        case .invalidKey: "API_KEY_INVALID"
        case .roleNotAllowed: "ROLE_NOT_ALLOWED"
        case .notInScope(let what, _): "\(what.uppercased())_NOT_IN_SCOPE"
        case .rateLimited: "RATE_LIMITED"
        case .authUnavailable: "AUTH_UNAVAILABLE"
        }
    }

    public var message: String {
        switch self {
        case .missingKey:
            "send an API key as 'authorization: Bearer <key>' metadata"
        case .malformedKey:
            "the authorization metadata is not 'Bearer lk_<key id>_<secret>'"
        case .invalidKey:
            "the API key is unknown or revoked"
        case .roleNotAllowed(let role, let method):
            "a \(role.rawValue.lowercased()) key may not call \(method)"
        case .notInScope(let what, let id):
            "\(what) '\(id)' does not belong to this key's partner"
        case .rateLimited(_, let retryAfter):
            "rate limit reached for this key; retry after \(retryAfter) ms"
        case .authUnavailable(let detail):
            "cannot check the API key now (\(detail)); retry shortly"
        }
    }

    public var metadata: [String: String] {
        switch self {
        case .missingKey, .malformedKey, .invalidKey, .authUnavailable: [:]
        case .roleNotAllowed(let role, let method): ["role": role.rawValue, "method": method]
        case .notInScope(let what, let id): ["\(what)_id": id]
        case .rateLimited(let keyId, let retryAfter): ["key_id": keyId, "retry_after_ms": "\(retryAfter)"]
        }
    }

    public var retryDelay: Duration? {
        if case .rateLimited(_, let milliseconds) = self { return .milliseconds(milliseconds) }
        return nil
    }
}
