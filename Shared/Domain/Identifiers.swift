/// Random identifiers: a readable prefix and 128 bits from the system's
/// cryptographic generator, so ids can be neither guessed nor enumerated.
public enum Identifier {
    /// Crockford's base 32: no I, L, O or U to misread.
    static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    public static func make(prefix: String) -> String {
        prefix + "_" + randomBase32(count: 26)
    }

    public static func randomBase32(count: Int, uppercase: Bool = false) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(count)
        for _ in 0..<count {
            let c = alphabet[Int(generator.next(upperBound: UInt8(32)))]
            bytes.append(uppercase && c >= 97 ? c - 32 : c)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
