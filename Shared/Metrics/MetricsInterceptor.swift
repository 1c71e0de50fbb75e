import GRPCCore

/// Counts every RPC by the status it ends with, and times it.
///
/// Put it first among a server's interceptors: outermost, it sees the status
/// the client gets, after `ErrorMappingInterceptor` has turned unplanned
/// errors into INTERNAL, and its time includes the other interceptors'.
public struct MetricsInterceptor: ServerInterceptor {
    private let rpc: RPCMetrics

    public init(metrics: LaurelMetrics) {
        rpc = RPCMetrics(metrics)
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let started = ContinuousClock.now
        let method = rpc.method(context.descriptor)
        var response: StreamingServerResponse<Output>
        do {
            response = try await next(request, context)
        } catch {
            method.finished(after: started.duration(to: .now), code: Self.code(of: error))
            throw error
        }
        if case .failure(let error) = response.accepted {
            method.finished(after: started.duration(to: .now), code: error.code.rawValue)
        }
        // The call ends when its response does: for a unary call right away,
        // for a stream when the producer returns or throws.
        response.wrapProducer { writer, producer in
            do {
                let trailers = try await producer(writer)
                method.finished(after: started.duration(to: .now), code: 0)
                return trailers
            } catch {
                method.finished(after: started.duration(to: .now), code: Self.code(of: error))
                throw error
            }
        }
        return response
    }

    /// The status code the client gets for `error`; a handler that stopped
    /// because the call was cancelled counts as CANCELLED, as
    /// `ErrorMappingInterceptor` reports it, anything unconvertible as UNKNOWN.
    static func code(of error: any Error) -> Int {
        switch error {
        case let error as RPCError:
            error.code.rawValue
        case let error as any RPCErrorConvertible:
            error.rpcErrorCode.rawValue
        case is CancellationError:
            RPCError.Code.cancelled.rawValue
        default:
            RPCError.Code.unknown.rawValue
        }
    }
}
