import Foundation
import GRDB

/// A call's stored answer in `idempotency_key`, as its bytes.
func storedAnswer(in writer: any DatabaseWriter, scope: String, key: String) async throws -> Data? {
    try await writer.read { db in
        try Data.fetchOne(db, sql: "SELECT result FROM idempotency_key WHERE scope = ? AND key = ?", arguments: [scope, key])
    }
}

/// Stores `answer` as JSON in place of what is stored, as every answer was
/// before its type had a compact form; returns the JSON.
@discardableResult
func storeAsJSON(_ answer: some Encodable, in writer: any DatabaseWriter, scope: String, key: String) async throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.dateEncodingStrategy = .millisecondsSince1970
    let json = try encoder.encode(answer)
    try await writer.write { db in
        try db.execute(sql: "UPDATE idempotency_key SET result = ? WHERE scope = ? AND key = ?", arguments: [json, scope, key])
    }
    return json
}
