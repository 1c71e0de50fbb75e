import LaurelShared

/// What a member shows at the till: 16 characters of Crockford base 32 from
/// the system's cryptographic generator (80 bits), in groups of four that are
/// easy to read aloud and type, e.g. "7KQ2-M9XD-4TNB-HC3R".
public enum VoucherCode {
    public static func make() -> String {
        let raw = Array(Identifier.randomBase32(count: 16, uppercase: true))
        return stride(from: 0, to: 16, by: 4).map { String(raw[$0..<$0 + 4]) }.joined(separator: "-")
    }
}
