/// Points are whole numbers; there are no fractional points anywhere in Laurel.
public typealias Points = Int64

/// An ISO 4217 currency and the number of digits in its minor unit.
public struct Currency: Hashable, Codable, Sendable, CustomStringConvertible {
    public let code: String

    /// Accepts any three upper-case letters; the exponent table below covers
    /// the currencies whose minor unit is not the usual hundredth.
    public init(_ code: String, field: String = "currency_code") throws(InvalidArgument) {
        guard code.utf8.count == 3, code.utf8.allSatisfy({ (65...90).contains($0) }) else {
            throw InvalidArgument(field, "must be an ISO 4217 code of three upper-case letters, got '\(code)'")
        }
        self.code = code
    }

    /// Digits after the decimal point: 2 for USD, 0 for JPY, 3 for BHD.
    public var minorUnitDigits: Int {
        switch code {
        case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
            "XAF", "XOF", "XPF":
            0
        case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
            3
        case "CLF", "UYW":
            4
        default:
            2
        }
    }

    /// Minor units in one major unit (100 for USD).
    public var minorUnitsPerMajor: Int64 {
        var result: Int64 = 1
        for _ in 0..<minorUnitDigits { result *= 10 }
        return result
    }

    public var description: String { code }
}

/// An amount in the currency's minor units. Never a float.
public struct Money: Hashable, Codable, Sendable, CustomStringConvertible {
    public var currency: Currency
    public var minorUnits: Int64

    public init(currency: Currency, minorUnits: Int64) {
        self.currency = currency
        self.minorUnits = minorUnits
    }

    /// Whole major units, rounded down: 123.45 USD is 123.
    public var wholeMajorUnits: Int64 { minorUnits / currency.minorUnitsPerMajor }

    public var description: String { "\(minorUnits) \(currency) minor units" }
}
