import GRPCCore
import SwiftProtobuf

/// `grpc.reflection.v1alpha.ServerReflection`, still the only version Python's
/// grpcio-reflection client and older grpcurl speak. Its messages are v1's
/// under another package, field for field, so each question is re-read from
/// its bytes as v1 and answered by the v1 service: one implementation, two
/// names on the wire.
public struct ReflectionServiceV1Alpha: Grpc_Reflection_V1alpha_ServerReflection.SimpleServiceProtocol {
    private let v1: ReflectionService

    init(answeringWith v1: ReflectionService) {
        self.v1 = v1
    }

    public func serverReflectionInfo(
        request: RPCAsyncSequence<Grpc_Reflection_V1alpha_ServerReflectionRequest, any Error>,
        response: RPCWriter<Grpc_Reflection_V1alpha_ServerReflectionResponse>,
        context: ServerContext
    ) async throws {
        for try await question in request {
            let answer = v1.answer(try ReflectionService.Request(serializedBytes: question.serializedBytes() as [UInt8]))
            try await response.write(.init(serializedBytes: answer.serializedBytes() as [UInt8]))
        }
    }
}
