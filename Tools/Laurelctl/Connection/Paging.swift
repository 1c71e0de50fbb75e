/// Reads one page of a list, or every page from there on, into one response
/// whose next page token is the one after the last page read (empty at the
/// end), so a list prints the same way however many calls it took.
func readPages<Response: Sendable>(
    _ paging: PageOptions, allByDefault: Bool,
    fetch: (_ pageToken: String, _ pageSize: Int32) async throws -> Response,
    nextPageToken: (Response) -> String,
    append: (_ all: inout Response, _ page: Response) -> Void
) async throws -> Response {
    let pageSize = paging.pageSize ?? 0
    var response = try await fetch(paging.pageToken ?? "", pageSize)
    guard paging.followsAllPages(byDefault: allByDefault) else { return response }
    var token = nextPageToken(response)
    while !token.isEmpty {
        let page = try await fetch(token, pageSize)
        append(&response, page)
        // A token that does not move would loop for ever.
        guard nextPageToken(page) != token else { break }
        token = nextPageToken(page)
    }
    return response
}
