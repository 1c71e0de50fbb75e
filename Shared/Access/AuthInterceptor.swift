import Foundation
import GRPCCore

/// Turns a presented API key into the caller's `Principal`.
public protocol KeyAuthenticator: Sendable {
    /// Throws `AccessError.invalidKey` for an unknown or revoked key.
    func authenticate(_ key: ApiKeySecret) async throws -> Principal
}

/// The access check of every call, before its handler runs: a valid key
/// (UNAUTHENTICATED otherwise), within its rate (RESOURCE_EXHAUSTED with a
/// RetryInfo), for a method its role may call (PERMISSION_DENIED). The
/// handler then finds the caller in `Principal.current`.
public struct AuthInterceptor: ServerInterceptor {
    private let authenticator: any KeyAuthenticator
    private let policy: AccessPolicy
    private let limiter: RateLimiter

    public init(authenticator: any KeyAuthenticator, policy: AccessPolicy, limiter: RateLimiter) {
        self.authenticator = authenticator
        self.policy = policy
        self.limiter = limiter
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let method = context.descriptor
        if policy.isOpen(method) { return try await next(request, context) }

        let principal = try await authenticator.authenticate(Self.bearerKey(in: request.metadata))
        if policy.isMetered(method), let wait = limiter.admit(principal) {
            let milliseconds = wait.components.seconds * 1000 + max(1, wait.components.attoseconds / 1_000_000_000_000_000)
            throw AccessError.rateLimited(keyId: principal.keyId, retryAfterMilliseconds: milliseconds)
        }
        guard policy.allows(principal.role, method) else {
            throw AccessError.roleNotAllowed(role: principal.role, method: method.fullyQualifiedMethod)
        }

        var response = try await Principal.$current.withValue(principal) { try await next(request, context) }
        response.wrapProducer { writer, producer in
            try await Principal.$current.withValue(principal) { try await producer(writer) }
        }
        return response
    }

    static func bearerKey(in metadata: Metadata) throws -> ApiKeySecret {
        guard let value = metadata[stringValues: "authorization"].first(where: { _ in true }) else {
            throw AccessError.missingKey
        }
        // Bytes, not Characters or Foundation: every call comes through here.
        let bytes = value.utf8
        let scheme = "bearer ".utf8
        guard bytes.count > scheme.count,
            zip(bytes, scheme).allSatisfy({ presented, expected in
                presented == expected || (expected != UInt8(ascii: " ") && presented | 0x20 == expected)
            })
        else { throw AccessError.malformedKey }
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var start = bytes.index(bytes.startIndex, offsetBy: scheme.count)
        var end = bytes.endIndex
        while start < end, isBlank(bytes[start]) { start = bytes.index(after: start) }
        while end > start, isBlank(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        guard let key = ApiKeySecret(parsing: String(value[start..<end])) else { throw AccessError.malformedKey }
        return key
    }
}
