import ArgumentParser
import LaurelShared

/// `--line sku:category:quantity:unit_price` of a purchase. The price stays
/// text until the currency is known, which sets how many decimals it has.
struct PurchaseLineArgument: ExpressibleByArgument, Sendable {
    let sku: String
    let category: String
    let quantity: Int64
    let unitPrice: String

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, !parts[0].isEmpty, let quantity = Int64(parts[2]) else { return nil }
        sku = parts[0]
        category = parts[1]
        self.quantity = quantity
        unitPrice = parts[3]
    }

    func line(currency: Currency) throws -> Laurel_V1_PurchaseLine {
        let price = try parseAmount(unitPrice, currency: currency, flag: "--line \(sku)")
        return .with {
            $0.sku = sku
            $0.category = category
            $0.quantity = quantity
            $0.unitPriceMinor = price.minorUnits
        }
    }
}

/// `--line sku:quantity` of a refund.
struct RefundedLineArgument: ExpressibleByArgument, Sendable {
    let line: Laurel_V1_RefundedLine

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let quantity = Int64(parts[1]) else { return nil }
        line = .with {
            $0.sku = String(parts[0])
            $0.quantity = quantity
        }
    }
}
