import LaurelShared
import RedemptionService
import Testing

@Suite struct IdentifierTests {
    static let alphabet = Set("0123456789abcdefghjkmnpqrstvwxyz")

    /// Every symbol turns up at every position: each character draws fresh
    /// bits, none left over from an earlier one or missing at the end.
    @Test func everySymbolTurnsUpAtEveryPosition() {
        let ids = (0..<4_096).map { _ in Identifier.make(prefix: "mbr") }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.hasPrefix("mbr_") && $0.count == 30 })
        let bodies = ids.map { Array($0.dropFirst(4)) }
        for position in 0..<26 {
            #expect(Set(bodies.map { $0[position] }) == Self.alphabet, "position \(position)")
        }
    }

    @Test func voucherCodesUseEveryUppercaseSymbolAtEveryPosition() {
        let codes = (0..<4_096).map { _ in VoucherCode.make() }
        #expect(codes.allSatisfy { $0.wholeMatch(of: /[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}/) != nil })
        let bodies = codes.map { Array($0.filter { $0 != "-" }) }
        let uppercase = Set(Self.alphabet.map { Character($0.uppercased()) })
        for position in 0..<16 {
            #expect(Set(bodies.map { $0[position] }) == uppercase, "position \(position)")
        }
    }
}
