import Crypto
import Foundation
import GRPCCore
@testable import LaurelShared
import Testing

/// The authorization header is parsed by hand, on bytes, for speed; these pin
/// down what it accepts.
@Suite struct BearerKeyTests {
    let key = ApiKeySecret.generate()

    func parse(_ header: String?) throws -> ApiKeySecret {
        var metadata = Metadata()
        if let header { metadata.addString(header, forKey: "authorization") }
        return try AuthInterceptor.bearerKey(in: metadata)
    }

    @Test func acceptsTheSchemeInAnyCaseAndSurroundingBlanks() throws {
        for header in ["Bearer \(key.text)", "bearer \(key.text)", "BEARER \(key.text)", "Bearer   \(key.text) \t"] {
            let parsed = try parse(header)
            #expect(parsed.text == key.text)
            #expect(parsed.keyId == key.keyId)
        }
    }

    @Test func refusesAnythingElse() throws {
        #expect(throws: AccessError.missingKey) { try parse(nil) }
        let malformed = [
            "Basic \(key.text)", "Bearer", "Bearer ", "Bearer\(key.text)", "Bearerx\(key.text)", "\(key.text)",
            "Bearer \(key.text)0", "Bearer " + String(key.text.dropLast()), "Bearer " + key.text.replacingOccurrences(of: "lk_", with: "lx_"),
            "Bearer " + String(key.text.dropLast()) + "g", "Bearer " + String(key.text.dropLast()) + "é",
            "Bearer lk_\(key.keyId)-" + String(key.text.suffix(64)),
        ]
        for header in malformed {
            #expect(throws: AccessError.malformedKey, "\(header)") { try parse(header) }
        }
    }

    /// Stored hashes were made as SHA-256 of the key's text: they must still match.
    @Test func aKeyMatchesItsOwnHashAndNoOther() {
        let other = ApiKeySecret.generate()
        #expect(key.hash == Data(SHA256.hash(data: Data(key.text.utf8))))
        #expect(key.matches(hash: key.hash))
        #expect(!key.matches(hash: other.hash))
        var flipped = key.hash
        flipped[flipped.count - 1] ^= 1
        #expect(!key.matches(hash: flipped))
        #expect(!key.matches(hash: key.hash.dropLast()))
        #expect(!key.matches(hash: Data()))
    }
}
