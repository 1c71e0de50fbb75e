import Foundation
import LaurelShared
import SwiftProtobuf

/// Where a command's answer goes: a table for people on standard output, or
/// with `--json` the response message in the API's own JSON mapping, the
/// same a gRPC gateway or grpcurl would show. Notes and errors go to
/// standard error, so that standard output is always just the answer.
struct Output: Sendable {
    let json: Bool

    static let jsonOptions: JSONEncodingOptions = {
        var options = JSONEncodingOptions()
        // Attributes maps in a stable order, so that output can be diffed.
        options.useDeterministicOrdering = true
        return options
    }()

    /// One response: `message` as JSON, or else `table`.
    func show(_ message: some SwiftProtobuf.Message, _ table: @autoclosure () -> TextTable) throws {
        if json {
            write(try message.jsonString(options: Self.jsonOptions) + "\n")
        } else {
            write(table().render())
        }
    }

    /// A list response, and where the next page starts if there is one.
    func showList(_ message: some SwiftProtobuf.Message, nextPageToken: String, _ table: @autoclosure () -> TextTable) throws {
        try show(message, table())
        if !json && !nextPageToken.isEmpty {
            note("more: repeat with --page-token \(nextPageToken), or --all")
        }
    }

    /// Output that is not a proto message (health, which gathers several).
    func showJSON(_ object: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        write(String(decoding: data, as: UTF8.self) + "\n")
    }

    func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    func note(_ text: String) {
        // Whatever is buffered on standard output goes first, so the two
        // streams interleave in the order they were written.
        fflush(nil)
        FileHandle.standardError.write(Data("laurelctl: \(text)\n".utf8))
    }

    /// Tables show the idempotency key themselves; JSON does not have a place
    /// for it, so it goes to standard error.
    func noteRetry(with key: IdempotencyKey) {
        if json { note("idempotency key \(key.value): repeat with \(key.retryArguments) to retry") }
    }
}
