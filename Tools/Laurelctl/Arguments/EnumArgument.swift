import ArgumentParser
import SwiftProtobuf

/// A proto enum typed on the command line by its short name in kebab case
/// ("free-product") or as in the proto ("FREE_PRODUCT"); UNSPECIFIED is not
/// a choice.
struct EnumArgument<Value: SwiftProtobuf.Enum & CaseIterable>: ExpressibleByArgument, Sendable {
    let value: Value

    init?(argument: String) {
        let wanted = argument.lowercased().replacingOccurrences(of: "_", with: "-")
        guard let value = Self.choices.first(where: { $0.argumentName == wanted }) else { return nil }
        self.value = value
    }

    static var choices: [Value] { Value.allCases.filter { $0.rawValue != 0 } }

    static var allValueStrings: [String] { choices.map(\.argumentName) }
}
