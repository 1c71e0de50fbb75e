import GRPCCore
import SwiftProtobuf

/// Refuses request messages over `maxBytes` with RESOURCE_EXHAUSTED and a
/// reason, on grpc-swift-nio-transport. That transport enforces a looser
/// hard cap of its own, but refuses by resetting the stream, which a client
/// sees only as a broken connection. Laurel's own transport refuses with
/// `RequestTooLarge` itself, from the message's length prefix, without
/// serializing the request again as this has to.
public struct RequestSizeInterceptor: ServerInterceptor {
    private let maxBytes: Int

    public init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        var request = request
        let maxBytes = self.maxBytes
        request.messages = RPCAsyncSequence(wrapping: request.messages.map { message in
            if let message = message as? any SwiftProtobuf.Message {
                let size = try message.serializedBytes() as [UInt8]
                guard size.count <= maxBytes else { throw RequestTooLarge(size: size.count, maxBytes: maxBytes) }
            }
            return message
        })
        return try await next(request, context)
    }
}

public struct RequestTooLarge: LaurelError, Equatable {
    public var size: Int
    public var maxBytes: Int

    public var code: RPCError.Code { .resourceExhausted }
    public var reason: String { "REQUEST_TOO_LARGE" }
    public var message: String { "the request is \(size) bytes; this service accepts at most \(maxBytes)" }
    public var metadata: [String: String] { ["size": "\(size)", "max_bytes": "\(maxBytes)"] }
}
