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
