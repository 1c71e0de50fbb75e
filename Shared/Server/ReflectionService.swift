import Foundation
import GRPCCore
import SwiftProtobuf

/// The standard `grpc.reflection.v1.ServerReflection` service, so grpcurl and
/// other generic clients can list and call the API without its .proto files.
/// Register `v1alpha` next to it for the clients that still speak only that.
///
/// A question it cannot answer gets an `error_response` (NOT_FOUND for an
/// unknown name) rather than a failed call, so the stream stays open for the
/// client's next question.
public struct ReflectionService: Grpc_Reflection_V1_ServerReflection.SimpleServiceProtocol {
    typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    private let services: [String]
    private let index: DescriptorIndex

    /// `services` are the fully qualified names of the services this server
    /// hosts besides reflection, which lists itself.
    public init(services: [String], index: DescriptorIndex = .laurel) {
        var listed: [String] = []
        let reflection = [
            Grpc_Reflection_V1_ServerReflection.descriptor.fullyQualifiedService,
            Grpc_Reflection_V1alpha_ServerReflection.descriptor.fullyQualifiedService,
        ]
        for name in services + reflection where !listed.contains(name) { listed.append(name) }
        self.services = listed
        self.index = index
    }

    /// The same service under `grpc.reflection.v1alpha`.
    public var v1alpha: ReflectionServiceV1Alpha { ReflectionServiceV1Alpha(answeringWith: self) }

    public func serverReflectionInfo(
        request: RPCAsyncSequence<Grpc_Reflection_V1_ServerReflectionRequest, any Error>,
        response: RPCWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
        context: ServerContext
    ) async throws {
        for try await question in request {
            try await response.write(answer(question))
        }
    }

    func answer(_ request: Request) -> Response {
        var response = Response()
        response.validHost = request.host
        response.originalRequest = request
        switch request.messageRequest {
        case .fileByFilename(let name):
            response.messageResponse = files(index.file(named: name), else: "no file named '\(name)'")
        case .fileContainingSymbol(let symbol):
            response.messageResponse = files(index.file(declaring: symbol), else: "no symbol named '\(symbol)'")
        case .fileContainingExtension(let wanted):
            response.messageResponse = files(
                index.file(extending: wanted.containingType, number: wanted.extensionNumber),
                else: "no extension \(wanted.extensionNumber) of '\(wanted.containingType)'")
        case .allExtensionNumbersOfType(let type):
            if let numbers = index.extensionNumbers(of: type) {
                var extensions = Grpc_Reflection_V1_ExtensionNumberResponse()
                extensions.baseTypeName = type
                extensions.extensionNumber = numbers
                response.messageResponse = .allExtensionNumbersResponse(extensions)
            } else {
                response.messageResponse = error(.notFound, "no message type named '\(type)'")
            }
        case .listServices:
            var list = Grpc_Reflection_V1_ListServiceResponse()
            list.service = services.map { name in .with { $0.name = name } }
            response.messageResponse = .listServicesResponse(list)
        case nil:
            response.messageResponse = error(.invalidArgument, "the request sets none of the message_request fields")
        }
        return response
    }

    private func files(_ found: [Data]?, else missing: String) -> Response.OneOf_MessageResponse {
        guard let found else { return error(.notFound, missing) }
        return .fileDescriptorResponse(.with { $0.fileDescriptorProto = found })
    }

    private func error(_ code: RPCError.Code, _ message: String) -> Response.OneOf_MessageResponse {
        .errorResponse(.with {
            $0.errorCode = Int32(code.rawValue)
            $0.errorMessage = message
        })
    }
}
