import Foundation

/// The key that makes a mutating call safe to repeat: the operator's own, or
/// one made up for them and shown so that they can retry with it.
struct IdempotencyKey: Sendable {
    /// The option that takes it, e.g. "--request-id".
    let flag: String
    let value: String
    let generated: Bool

    init(flag: String, given: String?) {
        self.flag = flag
        if let given {
            value = given
            generated = false
        } else {
            value = "cli-\(UUID().uuidString.lowercased())"
            generated = true
        }
    }

    var retryArguments: String { "\(flag) \(value)" }
}
