import ArgumentParser

/// Paging of list commands. Lists that stay short (keys, rewards) read every
/// page unless asked for one; lists that grow (members, ledgers,
/// redemptions) read one page unless asked for all.
struct PageOptions: ParsableArguments {
    @Option(name: .customLong("page-size"), help: "Items per call, 1...500 (the service's default is 50).")
    var pageSize: Int32?

    @Option(name: .customLong("page-token"), help: "Start at this page: the next page token of an earlier list.")
    var pageToken: String?

    @Flag(help: "Follow the page tokens to the last page.")
    var all = false

    func validate() throws {
        if let pageSize, !(1...500).contains(pageSize) {
            throw ValidationError("--page-size must be between 1 and 500")
        }
    }

    func followsAllPages(byDefault: Bool) -> Bool {
        all || (byDefault && pageSize == nil && pageToken == nil)
    }
}
