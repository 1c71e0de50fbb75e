import GRPCCore

/// When the call being served must be answered by, from its `grpc-timeout`.
///
/// GRPCCore tells a handler that the deadline has passed only through its
/// context's cancellation handle, the same signal as a client going away or a
/// graceful shutdown. A handler that ends early on that signal asks `passed`
/// which it was, so that a deadline ends the call DEADLINE_EXCEEDED, not OK.
public enum CallDeadline {
    @TaskLocal public static var current: ContinuousClock.Instant?

    /// Whether the call has a deadline and it has passed.
    public static var passed: Bool {
        guard let current else { return false }
        return ContinuousClock.now >= current
    }

    /// A `grpc-timeout` value: up to eight digits and a unit (H, M, S, m, u, n).
    static func timeout(_ text: Substring) -> Duration? {
        guard let unit = text.last, (2...9).contains(text.count), let amount = Int64(text.dropLast()), amount >= 0 else { return nil }
        switch unit {
        case "H": return .seconds(amount * 3600)
        case "M": return .seconds(amount * 60)
        case "S": return .seconds(amount)
        case "m": return .milliseconds(amount)
        case "u": return .microseconds(amount)
        case "n": return .nanoseconds(amount)
        default: return nil
        }
    }
}

/// Sets `CallDeadline.current` for the handler of a call that has a deadline,
/// for the whole of its answer. Laurel's own transport sets it itself and
/// keeps `grpc-timeout` out of the metadata (`FrameConnectionHandler`), so
/// this serves calls on grpc-swift-nio-transport.
public struct CallDeadlineInterceptor: ServerInterceptor {
    public init() {}

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard let text = request.metadata[stringValues: "grpc-timeout"].first(where: { _ in true }),
            let timeout = CallDeadline.timeout(Substring(text))
        else { return try await next(request, context) }
        let deadline = ContinuousClock.now + timeout
        var response = try await CallDeadline.$current.withValue(deadline) { try await next(request, context) }
        response.wrapProducer { writer, producer in
            try await CallDeadline.$current.withValue(deadline) { try await producer(writer) }
        }
        return response
    }
}
