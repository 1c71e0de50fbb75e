import GRPCCore

/// A request field that is missing or malformed. Thrown before anything is
/// written, so a client can fix the field and retry.
public struct InvalidArgument: LaurelError, Equatable {
    public var field: String
    public var problem: String

    public init(_ field: String, _ problem: String) {
        self.field = field
        self.problem = problem
    }

    public var code: RPCError.Code { .invalidArgument }
    public var reason: String { "INVALID_ARGUMENT" }
    public var message: String { "\(field): \(problem)" }
    public var metadata: [String: String] { ["field": field] }
}

/// An idempotency key seen before with a different request body.
public struct IdempotencyKeyReused: LaurelError, Equatable {
    public var field: String
    public var key: String

    public init(field: String, key: String) {
        self.field = field
        self.key = key
    }

    public var code: RPCError.Code { .alreadyExists }
    public var reason: String { "IDEMPOTENCY_KEY_REUSED" }
    public var message: String {
        "\(field) '\(key)' was already used for a different request; repeat the original request exactly, or use a new key"
    }
    public var metadata: [String: String] { ["field": field, "key": key] }
}

/// A failure nobody planned for; the client sees a reference to quote and the
/// details stay in the server's log.
public struct InternalFailure: LaurelError {
    public var reference: String

    public init(reference: String) {
        self.reference = reference
    }

    public var code: RPCError.Code { .internalError }
    public var reason: String { "INTERNAL" }
    public var message: String { "internal error (reference \(reference)); the request may be retried" }
    public var metadata: [String: String] { ["reference": reference] }
}

/// A member's data cannot be erased while something of theirs is in flight
/// (held points, an unfinished redemption, reserved stock): retry later.
public struct ErasureBlocked: LaurelError, Equatable {
    public var memberId: String
    public var detail: String

    public init(memberId: String, detail: String) {
        self.memberId = memberId
        self.detail = detail
    }

    public var code: RPCError.Code { .failedPrecondition }
    public var reason: String { "ERASURE_BLOCKED" }
    public var message: String { "member \(memberId) cannot be erased yet: \(detail); retry once it is settled" }
    public var metadata: [String: String] { ["member_id": memberId] }
}
