import GRPCCore

extension StreamingServerResponse {
    /// Wraps the producer of an accepted response. An interceptor needs this
    /// to see a streaming call to its end: the handler runs inside the
    /// producer, after `next` has returned.
    public mutating func wrapProducer(
        _ wrap: @escaping @Sendable (
            _ writer: RPCWriter<Message>, _ producer: @Sendable (RPCWriter<Message>) async throws -> Metadata
        ) async throws -> Metadata
    ) {
        guard case .success(var contents) = accepted else { return }
        let producer = contents.producer
        contents.producer = { writer in try await wrap(writer, producer) }
        accepted = .success(contents)
    }
}
