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

    /// Nil unless `text` has the shape of a Laurel key. Reads bytes, not
    /// Characters: every call presents a key.
    public init?(parsing text: String) {
        let bytes = text.utf8
        guard bytes.count == 3 + 16 + 1 + 64 else { return nil }
        for (offset, byte) in bytes.enumerated() {
            let valid: Bool
            switch offset {
            case 0: valid = byte == UInt8(ascii: "l")
            case 1: valid = byte == UInt8(ascii: "k")
            case 2, 19: valid = byte == UInt8(ascii: "_")
            default: valid = Self.isHexDigit(byte)
            }
            guard valid else { return nil }
        }
        let idStart = bytes.index(bytes.startIndex, offsetBy: 3)
        self.init(keyId: String(text[idStart..<bytes.index(idStart, offsetBy: 16)]), text: text)
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): true
        default: false
        }
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
