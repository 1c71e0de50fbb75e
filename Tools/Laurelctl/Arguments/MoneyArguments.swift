import ArgumentParser
import LaurelShared

extension Currency {
    /// `--currency`, checked before any call.
    static func parse(_ code: String, flag: String = "--currency") throws -> Currency {
        do {
            return try Currency(code.uppercased(), field: flag)
        } catch {
            throw ValidationError(error.message)
        }
    }
}

/// An amount typed in major units ("12.34"), converted exactly into the
/// currency's minor units. Amounts sent to Laurel are never negative.
func parseAmount(_ text: String, currency: Currency, flag: String) throws -> Money {
    let money: Money
    do {
        money = try Money(decimal: text, currency: currency, field: flag)
    } catch {
        throw ValidationError(error.message)
    }
    guard money.minorUnits >= 0 else { throw ValidationError("\(flag): must not be negative, got '\(text)'") }
    return money
}
