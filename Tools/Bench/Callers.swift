import ArgumentParser
import GRPCCore
import GRPCProtobuf
import LaurelShared
import NIOCore
import SwiftProtobuf

/// How laurel-bench makes its calls. Client and services share the
/// machine's cores, so every microsecond the client spends on a call is one
/// the server does not get.
enum BenchClient: String, ExpressibleByArgument, CaseIterable {
    /// Unary calls straight on Laurel's transport (`FrameClientTransport.unary`):
    /// a gRPC client that checks every status, with nothing per call beyond
    /// the wire, as h2load is.
    case direct
    /// grpc-swift-2's generated clients on Laurel's transport.
    case frames
    /// grpc-swift-2's generated clients on grpc-swift-nio-transport.
    case nio
}

/// One unary call of any method, with the API key, checked for its status:
/// a failed call throws its `RPCError`.
protocol Caller: Sendable {
    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor, _ request: Request, answer: Response.Type
    ) async throws -> Response
}

/// Through a `GRPCClient`, whose interceptor adds the API key.
struct GRPCCaller<Transport: ClientTransport>: Caller {
    let client: GRPCClient<Transport>

    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor, _ request: Request, answer: Response.Type
    ) async throws -> Response {
        try await client.unary(
            request: ClientRequest(message: request), descriptor: method,
            serializer: ProtobufSerializer<Request>(), deserializer: ProtobufDeserializer<Response>(),
            options: .defaults
        ) { try $0.message }
    }
}

/// Straight on the transport; the API key is in `metadata`.
struct DirectCaller: Caller {
    let transport: FrameClientTransport
    let metadata: Metadata

    init(transport: FrameClientTransport, apiKey: String) {
        self.transport = transport
        var metadata = Metadata()
        metadata.addString("Bearer \(apiKey)", forKey: "authorization")
        self.metadata = metadata
    }

    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor, _ request: Request, answer: Response.Type
    ) async throws -> Response {
        let answer = try await transport.unary(method, metadata: metadata, request: try request.serializedBytes())
        guard answer.status.code == .ok, let message = answer.message else {
            throw RPCError(
                code: RPCError.Code(answer.status.code) ?? .unknown,
                message: answer.message == nil && answer.status.code == .ok ? "an OK answer without a message" : answer.status.message,
                metadata: answer.trailers)
        }
        return try Response(serializedBytes: message)
    }
}

/// A connection of the direct client and the event loop it runs on.
struct DirectConnection: Sendable {
    let transport: FrameClientTransport
    let executor: EventLoopExecutor
}

/// Runs a task's jobs on one NIO event loop. A call's answer is read on its
/// connection's loop; a worker whose task runs there too is resumed without
/// waking a thread of Swift's pool, and its next request goes out from the
/// same thread.
final class EventLoopExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
