import GRPCCore

/// Presents the API key on every call, so that no command can forget it.
struct BearerTokenInterceptor: ClientInterceptor {
    let apiKey: String

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>,
        context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        request.metadata.replaceOrAddString("Bearer \(apiKey)", forKey: "authorization")
        return try await next(request, context)
    }
}
