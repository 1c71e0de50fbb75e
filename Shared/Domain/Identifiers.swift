/// Random identifiers: a readable prefix and 128 bits from the system's
/// cryptographic generator, so ids can be neither guessed nor enumerated.
public enum Identifier {
    /// Crockford's base 32: no I, L, O or U to misread.
    static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    public static func make(prefix: String) -> String {
        prefix + "_" + randomBase32(count: 26)
    }

    /// Five random bits a character, twelve characters from each 64-bit
    /// draw: the system generator costs a system call per draw, and drawing
    /// per character made 42 of them for every redemption.
    public static func randomBase32(count: Int, uppercase: Bool = false) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(count)
        var bits: UInt64 = 0
        var left = 0
        for _ in 0..<count {
            if left < 5 {
                bits = generator.next()
                left = 64
            }
            let c = alphabet[Int(bits & 31)]
            bits >>= 5
            left -= 5
            bytes.append(uppercase && c >= 97 ? c - 32 : c)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
