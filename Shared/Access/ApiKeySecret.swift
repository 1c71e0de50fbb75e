import Crypto
import Foundation

/// The text of an API key, `lk_<key id>_<secret>`. Only its SHA-256 is
/// stored: the secret is 256 random bits, so a slow password hash would add
/// cost without adding safety.
public struct ApiKeySecret: Sendable {
    public let keyId: String
    public let text: String

    /// A new key with a random id and secret.
    public static func generate() -> ApiKeySecret {
        var generator = SystemRandomNumberGenerator()
        let id = randomHex(8, using: &generator)
        let secret = randomHex(32, using: &generator)
        return ApiKeySecret(keyId: id, text: "lk_\(id)_\(secret)")
    }

    /// Nil unless `text` has the shape of a Laurel key.
    public init?(parsing text: String) {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "lk", parts[1].count == 16, parts[2].count == 64,
            parts[1].allSatisfy(\.isHexDigit), parts[2].allSatisfy(\.isHexDigit)
        else { return nil }
        self.init(keyId: String(parts[1]), text: text)
    }

    private init(keyId: String, text: String) {
        self.keyId = keyId
        self.text = text
    }

    public var hash: Data { Data(SHA256.hash(data: Data(text.utf8))) }

    /// Compares in time independent of where the hashes differ.
    public func matches(hash stored: Data) -> Bool {
        let mine = hash
        guard mine.count == stored.count else { return false }
        return zip(mine, stored).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func randomHex(_ bytes: Int, using generator: inout SystemRandomNumberGenerator) -> String {
        (0..<bytes).map { _ in
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            return String(byte, radix: 16).leftPadded(to: 2)
        }.joined()
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
