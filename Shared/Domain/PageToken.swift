import Foundation

/// An opaque cursor for keyset pagination: the sequence number of the last row
/// returned. Stable under inserts, unlike an offset.
public struct PageToken: Equatable, Sendable {
    public var after: Int64

    public init(after: Int64) {
        self.after = after
    }

    public static func decode(_ token: String, field: String = "page_token") throws(InvalidArgument) -> PageToken? {
        if token.isEmpty { return nil }
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8),
            text.hasPrefix("v1:"), let after = Int64(text.dropFirst(3))
        else {
            throw InvalidArgument(field, "is not a page token returned by this service")
        }
        return PageToken(after: after)
    }

    public var encoded: String { Data("v1:\(after)".utf8).base64EncodedString() }

    /// A token that only the query it came from accepts: `binding` names the
    /// query (a filter's fingerprint). An empty binding is a plain token.
    public func encoded(boundTo binding: String) -> String {
        binding.isEmpty ? encoded : Data("v2:\(after):\(binding)".utf8).base64EncodedString()
    }

    /// Decodes a token made by `encoded(boundTo:)` with the same binding.
    public static func decode(_ token: String, field: String = "page_token", boundTo binding: String) throws(InvalidArgument) -> PageToken? {
        if binding.isEmpty || token.isEmpty { return try decode(token, field: field) }
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8), text.hasPrefix("v2:") else {
            throw InvalidArgument(field, "was not returned for this filter: ask again with the filter it came with")
        }
        let parts = text.dropFirst(3).split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let after = Int64(parts[0]) else {
            throw InvalidArgument(field, "is not a page token returned by this service")
        }
        guard parts[1] == binding else {
            throw InvalidArgument(field, "was not returned for this filter: ask again with the filter it came with")
        }
        return PageToken(after: after)
    }
}

/// A page of results and the token of the next one (nil on the last page).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextPageToken: PageToken?

    /// Built from a query that fetched one row more than the page size, which
    /// tells whether there is a next page without a second query.
    public init(fetched: [Item], pageSize: Int, sequence: (Item) -> Int64) {
        if fetched.count > pageSize {
            items = Array(fetched.prefix(pageSize))
            nextPageToken = PageToken(after: sequence(items[items.count - 1]))
        } else {
            items = fetched
            nextPageToken = nil
        }
    }
}
