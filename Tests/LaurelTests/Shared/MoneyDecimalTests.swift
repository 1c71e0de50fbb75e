import LaurelShared
import Testing

private let usd = try! Currency("USD")
private let jpy = try! Currency("JPY")
private let bhd = try! Currency("BHD")
private let clf = try! Currency("CLF")

/// Amounts typed by people, "12.34", become exact minor units and back.
@Suite struct MoneyDecimalTests {
    @Test(arguments: [
        ("12.34", usd, 1234), ("12", usd, 1200), ("12.3", usd, 1230), ("0.01", usd, 1), ("0", usd, 0),
        ("-5.00", usd, -500), ("+5", usd, 500), ("007.50", usd, 750), ("12.340", usd, 1234), ("0.29", usd, 29),
        ("1200", jpy, 1200), ("1200.00", jpy, 1200), ("1.5", bhd, 1500), ("1.234", bhd, 1234), ("0.0001", clf, 1),
        ("92233720368547758.07", usd, Int64.max),
    ] as [(String, Currency, Int64)])
    func parsesExactly(text: String, currency: Currency, minorUnits: Int64) throws {
        #expect(try Money(decimal: text, currency: currency).minorUnits == minorUnits)
    }

    @Test(arguments: [
        ("", usd), ("abc", usd), ("12.", usd), (".5", usd), ("1,000.00", usd), ("1e3", usd), (" 12", usd), ("12 ", usd),
        ("12.345", usd), ("0.001", usd), ("1.5", jpy), ("1.2345", bhd), ("--1", usd), ("1.2.3", usd), ("١٢", usd),
        ("92233720368547758.08", usd), ("99999999999999999999", jpy),
    ] as [(String, Currency)])
    func refusesWhatIsNotAnExactAmount(text: String, currency: Currency) {
        #expect(throws: InvalidArgument.self) { try Money(decimal: text, currency: currency, field: "--amount") }
    }

    @Test func namesTheFieldAndTheProblem() {
        #expect(throws: InvalidArgument("--amount", "has more decimal places than USD has (2), got '1.001'")) {
            try Money(decimal: "1.001", currency: usd, field: "--amount")
        }
    }

    @Test(arguments: [
        (1234, usd, "12.34"), (5, usd, "0.05"), (-5, usd, "-0.05"), (0, usd, "0.00"), (1200, jpy, "1200"),
        (1500, bhd, "1.500"), (-1, jpy, "-1"), (Int64.min, usd, "-92233720368547758.08"),
    ] as [(Int64, Currency, String)])
    func printsInMajorUnits(minorUnits: Int64, currency: Currency, text: String) {
        #expect(Money(currency: currency, minorUnits: minorUnits).decimalString == text)
    }

    @Test func printedAmountsParseBackToThemselves() throws {
        for currency in [usd, jpy, bhd, clf] {
            for minorUnits: Int64 in [0, 1, 9, 10, 99, 100, 101, 123_456_789, -42, Int64.max] {
                let money = Money(currency: currency, minorUnits: minorUnits)
                #expect(try Money(decimal: money.decimalString, currency: currency) == money)
            }
        }
    }
}
