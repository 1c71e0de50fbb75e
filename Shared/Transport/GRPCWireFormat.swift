import Foundation
import GRPCCore
import NIOCore
import NIOHPACK

/// The parts of gRPC over HTTP/2 that are not HTTP/2 itself: how metadata,
/// statuses and length-prefixed messages are written into headers and DATA
/// frames (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md).
enum GRPCWireFormat {
    static let contentType = "application/grpc"

    /// Every header of a request, pseudo-headers included, as
    /// grpc-swift-nio-transport gives them, so interceptors see the same
    /// metadata whichever transport serves. A `-bin` value that is not
    /// base64 is kept as text, as there.
    static func metadata(from headers: HPACKHeaders) -> Metadata {
        var metadata = Metadata()
        metadata.reserveCapacity(headers.count)
        for (name, value, _) in headers { add(name, value, to: &metadata) }
        return metadata
    }

    /// A header as metadata: a `-bin` value base64-decoded when it is base64.
    private static func add(_ name: String, _ value: String, to metadata: inout Metadata) {
        if name.hasSuffix("-bin"), let bytes = decodeBase64(value) {
            metadata.addBinary(bytes, forKey: name)
        } else {
            metadata.addString(value, forKey: name)
        }
    }

    /// Response headers: `:status` and the content type, then `metadata`.
    static func responseHeaders(_ metadata: Metadata) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(2 + metadata.count)
        headers.add(name: ":status", value: "200")
        headers.add(name: "content-type", value: contentType)
        add(metadata, to: &headers)
        return headers
    }

    /// Trailers carrying `status`; trailers-only (the whole response in one
    /// HEADERS frame) also carry what response headers would.
    static func trailers(_ status: Status, _ metadata: Metadata, trailersOnly: Bool) -> HPACKHeaders {
        var trailers = trailersOnly ? responseHeaders([:]) : HPACKHeaders()
        trailers.add(name: "grpc-status", value: String(status.code.rawValue))
        if !status.message.isEmpty {
            trailers.add(name: "grpc-message", value: percentEncoded(status.message))
        }
        add(metadata, to: &trailers)
        return trailers
    }

    /// A `grpc-timeout` value for `left`: gRPC allows eight digits, so the
    /// finest of milliseconds, seconds, minutes and hours that fits, rounded
    /// up, so that the server's deadline never comes before the client's.
    static func timeout(_ left: TimeAmount) -> String {
        var amount = max(1, (left.nanoseconds + 999_999) / 1_000_000)
        for (unit, next) in [("m", Int64(1000)), ("S", 60), ("M", 60)] {
            if amount <= 99_999_999 { return "\(amount)\(unit)" }
            amount = (amount + next - 1) / next
        }
        return "\(min(amount, 99_999_999))H"
    }

    static func add(_ metadata: Metadata, to headers: inout HPACKHeaders) {
        for (key, value) in metadata {
            switch value {
            case .string(let text): headers.add(name: key.lowercased(), value: text)
            case .binary(let bytes): headers.add(name: key.lowercased(), value: encodeBase64(bytes))
            }
        }
    }

    /// grpc-message is percent-encoded: everything outside printable ASCII,
    /// and `%` itself.
    static func percentEncoded(_ message: String) -> String {
        let utf8 = message.utf8
        func escaped(_ byte: UInt8) -> Bool { byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "%") }
        guard utf8.contains(where: escaped) else { return message }
        let hex = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        encoded.reserveCapacity(utf8.count * 3)
        for byte in utf8 {
            if escaped(byte) {
                encoded += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            } else {
                encoded.append(byte)
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// Binary metadata may arrive with or without base64 padding; it is sent without.
    static func decodeBase64(_ text: String) -> [UInt8]? {
        let padding = (4 - text.utf8.count % 4) % 4
        guard padding < 3, let data = Data(base64Encoded: text + String(repeating: "=", count: padding)) else { return nil }
        return Array(data)
    }

    static func encodeBase64(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// An answer's headers or trailers as the call sees them: without the
    /// pseudo-headers, and without what gRPC itself reads.
    static func responseMetadata(from headers: HPACKHeaders) -> Metadata {
        var metadata = Metadata()
        for (name, value, _) in headers where !name.hasPrefix(":") {
            switch name {
            case "content-type", "grpc-status", "grpc-message": continue
            default: add(name, value, to: &metadata)
            }
        }
        return metadata
    }

    /// The status trailers carry; a missing or unreadable grpc-status is the
    /// server's fault, and reads as UNKNOWN.
    static func status(fromTrailers trailers: HPACKHeaders) -> Status {
        guard let text = trailers.first(name: "grpc-status"), let raw = Int(text), let code = Status.Code(rawValue: raw) else {
            return Status(code: .unknown, message: "the answer carried no grpc-status")
        }
        return Status(code: code, message: trailers.first(name: "grpc-message").map(percentDecoded) ?? "")
    }

    /// The status an HTTP answer that is not gRPC's stands for
    /// (https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md).
    static func status(httpStatus: String) -> Status {
        let code: Status.Code = switch httpStatus {
        case "400": .internalError
        case "401": .unauthenticated
        case "403": .permissionDenied
        case "404": .unimplemented
        case "429", "502", "503", "504": .unavailable
        default: .unknown
        }
        return Status(code: code, message: "HTTP status \(httpStatus)")
    }

    /// The inverse of `percentEncoded`; a malformed escape is kept as it is.
    static func percentDecoded(_ text: String) -> String {
        let utf8 = Array(text.utf8)
        guard utf8.contains(UInt8(ascii: "%")) else { return text }
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(utf8.count)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "%"), index + 2 < utf8.count, let high = hex(utf8[index + 1]), let low = hex(utf8[index + 2]) {
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    /// The method a `:path` of the form `/package.Service/Method` names.
    static func method(path: String) -> MethodDescriptor? {
        let utf8 = path.utf8
        guard utf8.first == UInt8(ascii: "/") else { return nil }
        let rest = utf8.dropFirst()
        guard let slash = rest.firstIndex(of: UInt8(ascii: "/")), slash != rest.startIndex,
            utf8.index(after: slash) != utf8.endIndex,
            let service = String(rest[..<slash]), let method = String(utf8[utf8.index(after: slash)...]),
            !method.utf8.contains(UInt8(ascii: "/"))
        else { return nil }
        return MethodDescriptor(fullyQualifiedService: service, method: method)
    }

    /// One message with its 5-byte prefix (uncompressed, big-endian length).
    static func frame(_ message: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 5 + message.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }
}

/// Cuts length-prefixed messages out of a stream's DATA frames, which may
/// split a message anywhere or carry several.
struct MessageDeframer {
    enum Failure: Error, Equatable {
        /// The compressed flag is set, and this server accepts no compression.
        case compressed
        /// The prefix announces a message longer than the server accepts.
        case tooLong(Int)
    }

    let maxLength: Int
    private var buffer: ByteBuffer?

    init(maxLength: Int) { self.maxLength = maxLength }

    var hasPartialMessage: Bool { (buffer?.readableBytes ?? 0) > 0 }

    mutating func append(_ bytes: ByteBuffer) {
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = bytes
        } else {
            var incoming = bytes
            buffer!.writeBuffer(&incoming)
        }
    }

    /// The next whole message, or nil until more bytes arrive.
    mutating func next() throws(Failure) -> [UInt8]? {
        guard var bytes = buffer, bytes.readableBytes >= 5,
            let flag = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self),
            let length = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt32.self)
        else { return nil }
        guard flag == 0 else { throw .compressed }
        guard Int(length) <= maxLength else { throw .tooLong(Int(length)) }
        guard bytes.readableBytes >= 5 + Int(length) else { return nil }
        bytes.moveReaderIndex(forwardBy: 5)
        let message = bytes.readBytes(length: Int(length))!
        buffer = bytes.readableBytes == 0 ? nil : bytes
        return message
    }
}
