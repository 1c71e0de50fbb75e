import LaurelShared
import SwiftProtobuf

/// How values read in a table: times as RFC 3339 like the JSON, money in
/// major units, enums by their proto name without the type's prefix.

extension Google_Protobuf_Timestamp {
    /// The JSON mapping's own text, exact to the nanosecond.
    var display: String {
        guard let quoted = try? jsonString() else { return "\(seconds)s" }
        return String(quoted.dropFirst().dropLast())
    }
}

/// A timestamp field, or empty when it is unset.
func display(_ timestamp: Google_Protobuf_Timestamp, isSet: Bool) -> String {
    isSet ? timestamp.display : ""
}

extension Laurel_V1_Money {
    /// "12.34 USD"; an amount in a currency code Laurel would refuse is shown
    /// as the integer it is.
    var display: String {
        guard let currency = try? Currency(currencyCode) else { return "\(minorUnits) minor units of '\(currencyCode)'" }
        return "\(Money(currency: currency, minorUnits: minorUnits).decimalString) \(currency)"
    }
}

/// Points changes with their sign, "+125" and "-100", and 0 as "0".
func signed(_ points: Int64) -> String {
    points > 0 ? "+\(points)" : "\(points)"
}

extension SwiftProtobuf.Enum where Self: CaseIterable {
    /// The proto name without its prefix: `LEDGER_ENTRY_KIND_EXPIRE_HOLD` is
    /// "EXPIRE_HOLD". Generated cases are the proto names in lower camel
    /// case, so the name is recovered from the case.
    var displayName: String {
        guard Self.allCases.contains(self) else { return "\(rawValue)" }
        var name = ""
        for character in String(describing: self) {
            if character.isUppercase { name += "_" }
            name += character.uppercased()
        }
        return name
    }

    /// How the operator types it: "expire-hold".
    var argumentName: String {
        displayName.lowercased().replacingOccurrences(of: "_", with: "-")
    }
}
