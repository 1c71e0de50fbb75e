import Foundation
import GRPCCore
import LaurelShared
import SwiftProtobuf
import Testing

private typealias Question = Grpc_Reflection_V1_ServerReflectionRequest
private typealias Answer = Grpc_Reflection_V1_ServerReflectionResponse
private typealias FileDescriptor = Google_Protobuf_FileDescriptorProto

/// What the test server's reflection says it hosts besides reflection.
private let hosted = [
    Laurel_V1_MemberService.descriptor.fullyQualifiedService,
    Grpc_Health_V1_Health.descriptor.fullyQualifiedService,
]

/// Server reflection (v1 and v1alpha) over real gRPC, answered from the
/// descriptor set scripts/generate-protos embeds.
@Suite struct ReflectionTests {
    @Test func listsTheHostedServicesAndItself() async throws {
        let answers = try await withReflection { client in try await ask(client, [.with { $0.listServices = "" }]) }
        let listed = try #require(answers.first).listServicesResponse.service.map(\.name)
        #expect(listed == hosted + ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"])
    }

    @Test func fileContainingAServiceComesWithItsImports() async throws {
        let answers = try await withReflection { client in
            try await ask(client, [.with { $0.fileContainingSymbol = "laurel.v1.MemberService" }])
        }
        let files = try descriptors(in: try #require(answers.first))
        #expect(files.first?.name == "laurel/v1/members.proto")
        #expect(
            Set(files.map(\.name)) == [
                "laurel/v1/members.proto", "laurel/v1/program.proto", "laurel/v1/common.proto", "google/protobuf/timestamp.proto",
            ])
        expectClosedUnderImports(files)

        let service = try #require(files.first?.service.first { $0.name == "MemberService" })
        let methods = Set(service.method.map(\.name))
        #expect(methods.isSuperset(of: ["EnrollMember", "GetMember", "RecordPurchase", "HoldPoints", "RefundHold"]))
        let getMember = try #require(service.method.first { $0.name == "GetMember" })
        #expect(getMember.inputType == ".laurel.v1.GetMemberRequest")
        #expect(getMember.outputType == ".laurel.v1.GetMemberResponse")
    }

    @Test(arguments: [
        ("laurel.v1.MemberService.GetMember", "laurel/v1/members.proto"),
        ("laurel.v1.Member", "laurel/v1/members.proto"),
        ("laurel.v1.Member.AttributesEntry", "laurel/v1/members.proto"),
        ("laurel.v1.Member.email", "laurel/v1/members.proto"),
        ("laurel.v1.MemberStatus", "laurel/v1/members.proto"),
        ("laurel.v1.MEMBER_STATUS_ACTIVE", "laurel/v1/members.proto"),
        ("laurel.v1.Money", "laurel/v1/common.proto"),
        ("laurel.v1.CatalogService", "laurel/v1/catalog.proto"),
        ("laurel.v1.RedemptionService", "laurel/v1/redemption.proto"),
        ("google.protobuf.Timestamp", "google/protobuf/timestamp.proto"),
        ("grpc.health.v1.Health.Check", "grpc/health/v1/health.proto"),
        ("grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"),
        ("grpc.reflection.v1.ServerReflection", "grpc/reflection/v1/reflection.proto"),
    ])
    func fileContainingSymbol(symbol: String, file: String) async throws {
        let answers = try await withReflection { client in
            try await ask(client, [.with { $0.fileContainingSymbol = symbol }])
        }
        let files = try descriptors(in: try #require(answers.first))
        #expect(files.first?.name == file)
        expectClosedUnderImports(files)
    }

    @Test func fileByFilename() async throws {
        let answers = try await withReflection { client in
            try await ask(client, [
                .with { $0.fileByFilename = "laurel/v1/common.proto" },
                .with { $0.fileByFilename = "laurel/v1/redemption.proto" },
            ])
        }
        #expect(answers.count == 2)
        let common = try descriptors(in: answers[0])
        #expect(common.map(\.name) == ["laurel/v1/common.proto"])
        #expect(common.first?.messageType.contains { $0.name == "Money" } == true)
        let redemption = try descriptors(in: answers[1])
        #expect(redemption.first?.name == "laurel/v1/redemption.proto")
        #expect(redemption.map(\.name).contains("google/protobuf/timestamp.proto"))
        expectClosedUnderImports(redemption)
    }

    @Test func unknownNamesAreNotFoundAndTheStreamGoesOn() async throws {
        let answers = try await withReflection { client in
            try await ask(client, [
                .with { $0.fileContainingSymbol = "laurel.v1.NoSuchService" },
                .with { $0.fileByFilename = "laurel/v1/nope.proto" },
                .with { $0.fileContainingSymbol = "laurel.v1.MemberService" },
            ])
        }
        #expect(answers.count == 3)
        for (answer, name) in zip(answers.prefix(2), ["laurel.v1.NoSuchService", "laurel/v1/nope.proto"]) {
            guard case .errorResponse(let error)? = answer.messageResponse else {
                Issue.record("expected an error_response for \(name), got \(answer)")
                continue
            }
            #expect(error.errorCode == Int32(RPCError.Code.notFound.rawValue))
            #expect(error.errorMessage.contains(name))
        }
        #expect(answers.first?.originalRequest.fileContainingSymbol == "laurel.v1.NoSuchService")
        #expect(try descriptors(in: answers[2]).first?.name == "laurel/v1/members.proto")
    }

    @Test func extensionsAreAnsweredWithoutCrashing() async throws {
        let answers = try await withReflection { client in
            try await ask(client, [
                .with { $0.fileContainingExtension = .with { $0.containingType = "laurel.v1.Member"; $0.extensionNumber = 100 } },
                .with { $0.allExtensionNumbersOfType = "laurel.v1.Member" },
                .with { $0.allExtensionNumbersOfType = "laurel.v1.Nope" },
                .with { $0.host = "ignored" },
            ])
        }
        #expect(answers.count == 4)
        #expect(answers[0].errorResponse.errorCode == Int32(RPCError.Code.notFound.rawValue))
        guard case .allExtensionNumbersResponse(let numbers)? = answers[1].messageResponse else {
            Issue.record("expected all_extension_numbers_response, got \(answers[1])")
            return
        }
        #expect(numbers.baseTypeName == "laurel.v1.Member")
        #expect(numbers.extensionNumber.isEmpty)
        #expect(answers[2].errorResponse.errorCode == Int32(RPCError.Code.notFound.rawValue))
        #expect(answers[3].errorResponse.errorCode == Int32(RPCError.Code.invalidArgument.rawValue))
        #expect(answers[3].validHost == "ignored")
    }

    @Test func v1alphaAnswersTheSame() async throws {
        let answers = try await withReflection { client in
            let reflection = Grpc_Reflection_V1alpha_ServerReflection.Client(wrapping: client)
            return try await converse([
                Grpc_Reflection_V1alpha_ServerReflectionRequest.with { $0.listServices = "*" },
                .with { $0.fileContainingSymbol = "laurel.v1.MemberService" },
                .with { $0.fileContainingSymbol = "laurel.v1.Nope" },
            ]) { try await reflection.serverReflectionInfo(requestProducer: $0, onResponse: $1) }
        }
        #expect(answers.count == 3)
        #expect(answers.first?.listServicesResponse.service.map(\.name).contains("laurel.v1.MemberService") == true)
        let files = try answers[1].fileDescriptorResponse.fileDescriptorProto.map { try FileDescriptor(serializedBytes: $0) }
        #expect(files.first?.name == "laurel/v1/members.proto")
        #expect(answers[2].errorResponse.errorCode == Int32(RPCError.Code.notFound.rawValue))
    }

    /// Every service the executables host can be described.
    @Test func theEmbeddedSetHoldsEveryHostedService() throws {
        let index = DescriptorIndex.laurel
        for service in [
            Laurel_V1_MemberService.descriptor, Laurel_V1_CatalogService.descriptor,
            Laurel_V1_RedemptionService.descriptor, Grpc_Health_V1_Health.descriptor,
            Grpc_Reflection_V1_ServerReflection.descriptor, Grpc_Reflection_V1alpha_ServerReflection.descriptor,
        ] {
            #expect(index.file(declaring: service.fullyQualifiedService) != nil, "\(service) is not in the descriptor set")
        }
        #expect(index.fileNames.contains("google/protobuf/timestamp.proto"))
    }
}

/// Serves health and both reflection versions, advertising `hosted`, and
/// runs `body` with a client of that server.
private func withReflection<Result: Sendable>(_ body: (Client) async throws -> Result) async throws -> Result {
    let reflection = ReflectionService(services: hosted)
    let health = HealthService(services: [])
    return try await withServer([health, reflection, reflection.v1alpha]) { client, _ in try await body(client) }
}

private func ask(_ client: Client, _ questions: [Question]) async throws -> [Answer] {
    let reflection = Grpc_Reflection_V1_ServerReflection.Client(wrapping: client)
    return try await converse(questions) { try await reflection.serverReflectionInfo(requestProducer: $0, onResponse: $1) }
}

/// Asks `questions` on one ServerReflectionInfo stream, each only once the
/// previous answer has arrived, so every answer shows the stream survived
/// the questions before it.
private func converse<Q: Sendable, A: Sendable>(
    _ questions: [Q],
    over call: (
        _ producer: @escaping @Sendable (RPCWriter<Q>) async throws -> Void,
        _ onResponse: @escaping @Sendable (StreamingClientResponse<A>) async throws -> [A]
    ) async throws -> [A]
) async throws -> [A] {
    let (outbox, send) = AsyncStream.makeStream(of: Q.self)
    return try await call({ writer in
        for await question in outbox { try await writer.write(question) }
    }, { response in
        defer { send.finish() }
        var answers: [A] = []
        var iterator = response.messages.makeAsyncIterator()
        for question in questions {
            send.yield(question)
            guard let answer = try await iterator.next() else {
                throw HarnessFailure("the stream ended after \(answers.count) of \(questions.count) answers")
            }
            answers.append(answer)
        }
        send.finish()
        if let extra = try await iterator.next() { throw HarnessFailure("an answer nobody asked for: \(extra)") }
        return answers
    })
}

private func descriptors(in answer: Answer, sourceLocation: SourceLocation = #_sourceLocation) throws -> [FileDescriptor] {
    guard case .fileDescriptorResponse(let response)? = answer.messageResponse else {
        Issue.record("expected a file_descriptor_response, got \(answer)", sourceLocation: sourceLocation)
        return []
    }
    return try response.fileDescriptorProto.map { try FileDescriptor(serializedBytes: $0) }
}

/// A client builds its pool from one answer, so every import must be in it.
private func expectClosedUnderImports(_ files: [FileDescriptor], sourceLocation: SourceLocation = #_sourceLocation) {
    let names = Set(files.map(\.name))
    #expect(names.count == files.count, "a file was sent twice: \(files.map(\.name))", sourceLocation: sourceLocation)
    for file in files {
        for dependency in file.dependency {
            #expect(names.contains(dependency), "\(file.name) imports \(dependency), which was not sent", sourceLocation: sourceLocation)
        }
    }
}
