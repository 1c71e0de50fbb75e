import Foundation
import SwiftProtobuf

extension Page {
    /// The `next_page_token` field: empty on the last page.
    public var nextPageTokenString: String { nextPageToken?.encoded ?? "" }
}

/// Maps a proto enum to a domain value, refusing UNSPECIFIED and values the
/// server does not know with INVALID_ARGUMENT naming the field.
public func requireEnum<Proto: SwiftProtobuf.Enum, Value>(
    _ value: Proto, field: String, _ map: (Proto) -> Value?
) throws(InvalidArgument) -> Value {
    guard let mapped = map(value) else {
        throw InvalidArgument(field, "must be set to a known value, got \(value.rawValue)")
    }
    return mapped
}

extension Laurel_V1_Money {
    public init(_ money: Money) {
        self = .with {
            $0.currencyCode = money.currency.code
            $0.minorUnits = money.minorUnits
        }
    }

    /// The domain value, its currency checked, naming `field` if it is not one.
    public func validated(field: String) throws(InvalidArgument) -> Money {
        Money(currency: try Currency(currencyCode, field: "\(field).currency_code"), minorUnits: minorUnits)
    }
}
