import GRPCCore
import GRPCProtobuf

/// An error a Laurel service throws on purpose. Each service has one enum of
/// these; this protocol is the single mapping from them to a gRPC status.
///
/// Clients branch on `reason` (sent as a `google.rpc.ErrorInfo` in the
/// standard `grpc-status-details-bin` trailer), never on the message.
public protocol LaurelError: Error, RPCErrorConvertible, CustomStringConvertible, Sendable {
    var code: RPCError.Code { get }
    /// UPPER_SNAKE_CASE, stable, e.g. `INSUFFICIENT_POINTS`.
    var reason: String { get }
    /// For people: says what was wrong and, where it helps, what to do.
    var message: String { get }
    /// Extra machine-readable facts, e.g. `["field": "external_id"]`.
    var metadata: [String: String] { get }
    /// How long a client should wait before retrying, sent as a
    /// `google.rpc.RetryInfo`; nil when waiting would not help.
    var retryDelay: Duration? { get }
}

extension LaurelError {
    public var metadata: [String: String] { [:] }
    public var retryDelay: Duration? { nil }

    public var description: String { "\(code) \(reason): \(message)" }

    public var rpcErrorCode: RPCError.Code { code }
    public var rpcErrorMessage: String { message }
    public var rpcErrorMetadata: Metadata { googleRPCStatus.rpcErrorMetadata }
    // The cause is already folded into the status; keep it out of the RPCError.
    public var rpcErrorCause: (any Error)? { nil }

    public var googleRPCStatus: GoogleRPCStatus {
        var details: [ErrorDetails] = [
            .errorInfo(reason: reason, domain: LaurelErrorDomain, metadata: metadata)
        ]
        if code == .invalidArgument, let field = metadata["field"] {
            details.append(.badRequest(violations: [.init(field: field, description: message)]))
        }
        if let retryDelay {
            details.append(.retryInfo(delay: retryDelay))
        }
        return GoogleRPCStatus(code: code, message: message, details: details)
    }
}

/// The `ErrorInfo.domain` of every Laurel error.
public let LaurelErrorDomain = "laurel.v1"

extension RPCError {
    /// The `ErrorInfo` of a status sent by a Laurel service (or nil), so that a
    /// caller, such as redemption calling members, can pass a peer's reason on.
    public var laurelErrorInfo: ErrorDetails.ErrorInfo? {
        guard let status = try? unpackGoogleRPCStatus() else { return nil }
        return status.details.lazy.compactMap(\.errorInfo).first { $0.domain == LaurelErrorDomain }
    }
}
