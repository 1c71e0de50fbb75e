/// Money written the way people write it, "12.34" in major units, converted
/// exactly: digit by digit into integers, never through a float, so 0.29 USD
/// is always 29 cents.
extension Money {
    /// Parses an optionally signed decimal, such as "12.34", "-5" or "1200",
    /// in `currency`'s major units. More decimal places than the currency has
    /// are refused unless they are zeros ("12.340" USD is 1234 cents, "12.345"
    /// is an error): an amount is never rounded.
    public init(decimal text: String, currency: Currency, field: String = "amount") throws(InvalidArgument) {
        var unsigned = Substring(text)
        let negative = unsigned.first == "-"
        if negative || unsigned.first == "+" { unsigned = unsigned.dropFirst() }
        let parts = unsigned.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit),
            parts.count == 1 || (!fraction.isEmpty && fraction.allSatisfy(\.isASCIIDigit))
        else {
            throw InvalidArgument(field, "must be a decimal amount such as 12.34, got '\(text)'")
        }
        let digits = currency.minorUnitDigits
        guard fraction.dropFirst(digits).allSatisfy({ $0 == "0" }) else {
            throw InvalidArgument(
                field, "has more decimal places than \(currency) has (\(digits)), got '\(text)'")
        }
        let kept = fraction.prefix(digits)
        let minorDigits = whole + kept + String(repeating: "0", count: digits - kept.count)

        var magnitude: Int64 = 0
        for character in minorDigits {
            let (shifted, overflowed) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflowedAgain) = shifted.addingReportingOverflow(Int64(character.wholeNumberValue!))
            guard !overflowed, !overflowedAgain else {
                throw InvalidArgument(field, "is too large, got '\(text)'")
            }
            magnitude = sum
        }
        self.init(currency: currency, minorUnits: negative ? -magnitude : magnitude)
    }

    /// The amount in major units with exactly the currency's decimal places:
    /// "12.34", "-0.05", "1200" (JPY), "1.500" (BHD).
    public var decimalString: String {
        let sign = minorUnits < 0 ? "-" : ""
        let digits = currency.minorUnitDigits
        // magnitude, not abs: Int64.min has no positive counterpart.
        let magnitude = minorUnits.magnitude
        guard digits > 0 else { return sign + String(magnitude) }
        let (whole, fraction) = magnitude.quotientAndRemainder(dividingBy: UInt64(currency.minorUnitsPerMajor))
        let fractionText = String(fraction)
        return sign + "\(whole)." + String(repeating: "0", count: digits - fractionText.count) + fractionText
    }
}

extension Character {
    /// 0-9 only: `isNumber` would also accept other scripts' digits and
    /// fractions such as "½".
    fileprivate var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
