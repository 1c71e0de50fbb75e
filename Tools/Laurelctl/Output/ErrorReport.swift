import Foundation
import GRPCCore
import GRPCProtobuf
import LaurelShared

extension Output {
    /// Says what failed on standard error: the status code and message, and
    /// the Laurel reason and metadata a script can branch on.
    func report(_ error: any Error, idempotencyKey: IdempotencyKey?) {
        let rpc = error as? RPCError
        let code = rpc.map { Self.codeName($0.code) } ?? "CLIENT"
        let message = rpc?.message ?? String(describing: error)
        let info = rpc?.laurelErrorInfo
        fflush(nil)
        if json {
            var object: [String: Any] = [
                "code": code, "message": message,
                "reason": info.map { $0.reason as Any } ?? NSNull(), "metadata": info?.metadata ?? [:],
            ]
            if let idempotencyKey { object["idempotencyKey"] = idempotencyKey.value }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            FileHandle.standardError.write(data + Data("\n".utf8))
            return
        }
        var text = "error: \(code): \(message)\n"
        if let info {
            text += "  reason: \(info.reason)\n"
            for (key, value) in info.metadata.sorted(by: { $0.key < $1.key }) { text += "  \(key): \(value)\n" }
        }
        if let idempotencyKey {
            text += "  to retry, repeat the command with \(idempotencyKey.retryArguments)\n"
        }
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// The canonical names (as in grpc's statuscodes.md and every other
    /// gRPC client), which `RPCError.Code`'s description does not give.
    static func codeName(_ code: RPCError.Code) -> String {
        switch code {
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internalError: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        default: "CODE_\(code.rawValue)"
        }
    }
}
