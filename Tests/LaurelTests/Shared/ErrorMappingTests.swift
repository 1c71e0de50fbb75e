import Foundation
import GRDB
import GRPCCore
import LaurelShared
import Testing

/// A health service that breaks in ways no handler plans for.
private struct BrokenHealth: Grpc_Health_V1_Health.SimpleServiceProtocol {
    struct Surprise: Error {}

    func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        throw Surprise()
    }

    func list(request: Grpc_Health_V1_HealthListRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthListResponse {
        throw InvalidArgument("page", "is wrong")
    }

    func watch(
        request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>, context: ServerContext
    ) async throws {
        try await response.write(.with { $0.status = .serving })
        throw Surprise()
    }
}

@Suite struct ErrorMappingTests {
    @Test func unplannedErrorsBecomeInternalWithAReferenceNeverAnEmptyUnknown() async throws {
        try await withServer([BrokenHealth()]) { client, _ in
            let health = Grpc_Health_V1_Health.Client(wrapping: client)
            await expectRPCError(.internalError, reason: "INTERNAL") { _ = try await health.check(.init()) }
            await expectRPCError(.invalidArgument, reason: "INVALID_ARGUMENT", field: "page") { _ = try await health.list(.init()) }
            await expectRPCError(.internalError, reason: "INTERNAL") {
                try await health.watch(.init()) { response in
                    for try await _ in response.messages {}
                }
            }
        }
    }
}

@Suite struct DatabaseBootstrapTests {
    @Test func onDiskDatabasesAreWALWithFullSynchronousCommits() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try DatabaseBootstrap.open(name: "durability", in: directory.appendingPathComponent("nested").path)
        let (journal, synchronous, tempStore) = try await pool.write { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"),
                try Int.fetchOne(db, sql: "PRAGMA temp_store")
            )
        }
        let readerSynchronous = try await pool.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
        #expect(journal == "wal")
        #expect(synchronous == 2, "2 is FULL")
        #expect(tempStore == 2, "2 is MEMORY: savepoint undo pages (a group commit run again) never reach a temporary file")
        #expect(readerSynchronous == 2)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("nested/durability.sqlite").path))
    }
}
