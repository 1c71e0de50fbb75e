import Foundation
import GRPCCore
import Logging

/// Gives every error a handler did not plan for a real status: grpc-swift
/// would otherwise send UNKNOWN with an empty message. The error itself is
/// logged with a reference that the client also sees.
public struct ErrorMappingInterceptor: ServerInterceptor {
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let method = context.descriptor.fullyQualifiedMethod
        var response: StreamingServerResponse<Output>
        do {
            response = try await next(request, context)
        } catch {
            throw map(error, method: method)
        }
        // An interceptor inside this one (access, request size, deadlines)
        // does not see a handler's error thrown: GRPCCore turns what leaves
        // each interceptor into a failed response, and an error it cannot
        // convert into UNKNOWN with an empty message and the error as its
        // cause. That one is mapped here as if thrown.
        if case .failure(let failed) = response.accepted, failed.code == .unknown, failed.message.isEmpty, let cause = failed.cause {
            response = StreamingServerResponse(error: Self.rpcError(map(cause, method: method)))
        }
        let logger = self.logger
        response.wrapProducer { writer, producer in
            do {
                return try await producer(writer)
            } catch {
                throw Self.map(error, method: method, logger: logger)
            }
        }
        return response
    }

    private static func rpcError(_ error: any Error) -> RPCError {
        switch error {
        case let error as RPCError: error
        case let error as any RPCErrorConvertible: RPCError(error)
        default: RPCError(code: .internalError, message: "internal error")
        }
    }

    private func map(_ error: any Error, method: String) -> any Error {
        Self.map(error, method: method, logger: logger)
    }

    static func map(_ error: any Error, method: String, logger: Logger) -> any Error {
        switch error {
        case let error as any LaurelError:
            logger.debug("request refused", metadata: ["rpc": "\(method)", "error": "\(error)"])
            return error
        case let error as RPCError:
            return error
        case let error as any RPCErrorConvertible:
            return RPCError(error)
        case is CancellationError:
            return RPCError(code: .cancelled, message: "the call was cancelled")
        default:
            let failure = InternalFailure(reference: UUID().uuidString.lowercased())
            logger.error(
                "request failed",
                metadata: ["rpc": "\(method)", "reference": "\(failure.reference)", "error": "\(String(reflecting: error))"]
            )
            return failure
        }
    }
}
