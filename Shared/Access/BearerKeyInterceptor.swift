import GRPCCore

/// Sends an API key with every call a client makes.
public struct BearerKeyInterceptor: ClientInterceptor {
    private let value: String

    public init(apiKey: String) {
        value = "Bearer \(apiKey)"
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>,
        context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        request.metadata.replaceOrAddString(value, forKey: "authorization")
        return try await next(request, context)
    }
}
