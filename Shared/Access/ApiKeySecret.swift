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

    public var hash: Data { Data(digest) }

    /// Hashes the text where it lies: every call presents a key.
    private var digest: SHA256.Digest {
        var text = text
        return text.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
    }

    /// Compares in time independent of where the hashes differ.
    public func matches(hash stored: Data) -> Bool {
        guard stored.count == SHA256.byteCount else { return false }
        return digest.withUnsafeBytes { (mine: UnsafeRawBufferPointer) -> Bool in
            stored.withUnsafeBytes { (stored: UnsafeRawBufferPointer) -> Bool in
                var difference: UInt8 = 0
                for index in 0..<mine.count { difference |= mine[index] ^ stored[index] }
                return difference == 0
            }
        }
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
