import Foundation

/// A result stored for replay (`IdempotencyKeys`) in a binary form written by
/// hand instead of JSON. The hottest calls store one on the one writer
/// thread of their service in every transaction: JSON encoding of a
/// purchase's result was 14 % of that thread in a profile of RecordPurchase
/// (docs/performance.md). Fields are written in a fixed order, so a type that
/// gains a field must still read its older forms: every value is written
/// after its type's `compactVersion`, which `CompactReader.version` gives
/// back while that value is read.
public protocol CompactlyStored {
    /// The form written now, from 1; values written in earlier forms still read.
    static var compactVersion: UInt8 { get }
    func write(to writer: inout CompactWriter)
    init(from reader: inout CompactReader) throws
}

/// Appends values in the compact form: integers as zig-zag varints, strings
/// and arrays with their length first.
public struct CompactWriter {
    public fileprivate(set) var bytes: [UInt8] = []

    public init() {
        bytes.reserveCapacity(256)
    }

    public mutating func write(_ value: Int64) {
        var rest = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    public mutating func write(_ value: Int) { write(Int64(value)) }

    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func write(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            write(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func write(_ value: Instant) { write(value.millisecondsSince1970) }

    /// A `RawRepresentable` enum as its raw string.
    public mutating func write<Value: RawRepresentable<String>>(_ value: Value) { write(value.rawValue) }

    /// The value behind its type's version.
    public mutating func write<Value: CompactlyStored>(_ value: Value) {
        bytes.append(Value.compactVersion)
        value.write(to: &self)
    }

    public mutating func write(_ value: Int64?) {
        write(value != nil)
        if let value { write(value) }
    }

    public mutating func write(_ value: String?) {
        write(value != nil)
        if let value { write(value) }
    }

    public mutating func write(_ value: Instant?) {
        write(value != nil)
        if let value { write(value) }
    }

    public mutating func write<Element: CompactlyStored>(_ values: [Element]) {
        write(values.count)
        for value in values { write(value) }
    }

    public mutating func write<Wrapped: CompactlyStored>(_ value: Wrapped?) {
        write(value != nil)
        if let value { write(value) }
    }
}

/// Reads what `CompactWriter` wrote, in the same order; anything short or
/// out of range throws `CompactForm.Malformed` rather than trapping.
public struct CompactReader {
    private let bytes: [UInt8]
    private var offset: Int
    /// The form the value being read was written in.
    public private(set) var version: UInt8 = 0

    init(_ bytes: [UInt8], from offset: Int) {
        self.bytes = bytes
        self.offset = offset
    }

    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func read(_: Int64.Type = Int64.self) throws(CompactForm.Malformed) -> Int64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count, shift < 64 else { throw CompactForm.Malformed() }
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift += 7
        }
        return Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }

    public mutating func read(_: Int.Type) throws(CompactForm.Malformed) -> Int {
        guard let value = Int(exactly: try read(Int64.self)) else { throw CompactForm.Malformed() }
        return value
    }

    public mutating func read(_: Bool.Type) throws(CompactForm.Malformed) -> Bool {
        guard offset < bytes.count, bytes[offset] <= 1 else { throw CompactForm.Malformed() }
        defer { offset += 1 }
        return bytes[offset] == 1
    }

    public mutating func read(_: String.Type) throws(CompactForm.Malformed) -> String {
        let count = try read(Int.self)
        guard count >= 0, count <= bytes.count - offset else { throw CompactForm.Malformed() }
        defer { offset += count }
        return String(decoding: bytes[offset..<offset + count], as: UTF8.self)
    }

    public mutating func read(_: Instant.Type) throws(CompactForm.Malformed) -> Instant {
        Instant(millisecondsSince1970: try read(Int64.self))
    }

    public mutating func read(_: Int64?.Type) throws(CompactForm.Malformed) -> Int64? {
        try read(Bool.self) ? try read(Int64.self) : nil
    }

    public mutating func read(_: String?.Type) throws(CompactForm.Malformed) -> String? {
        try read(Bool.self) ? try read(String.self) : nil
    }

    public mutating func read(_: Instant?.Type) throws(CompactForm.Malformed) -> Instant? {
        try read(Bool.self) ? try read(Instant.self) : nil
    }

    /// A `RawRepresentable` enum stored as its raw string.
    public mutating func read<Value: RawRepresentable<String>>(_: Value.Type) throws(CompactForm.Malformed) -> Value {
        guard let value = Value(rawValue: try read(String.self)) else { throw CompactForm.Malformed() }
        return value
    }

    /// A value behind its version; one written by a later form than this
    /// build knows is refused.
    public mutating func read<Value: CompactlyStored>(_: Value.Type) throws -> Value {
        guard offset < bytes.count, (1...Value.compactVersion).contains(bytes[offset]) else { throw CompactForm.Malformed() }
        let outer = version
        version = bytes[offset]
        offset += 1
        defer { version = outer }
        return try Value(from: &self)
    }

    public mutating func read<Element: CompactlyStored>(_: [Element].Type) throws -> [Element] {
        let count = try read(Int.self)
        // Every element takes at least a byte, its version.
        guard count >= 0, count <= bytes.count - offset else { throw CompactForm.Malformed() }
        var values: [Element] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try read(Element.self)) }
        return values
    }

    public mutating func read<Wrapped: CompactlyStored>(_: Wrapped?.Type) throws -> Wrapped? {
        try read(Bool.self) ? try read(Wrapped.self) : nil
    }
}

/// The stored bytes of a result: the compact form behind a marker byte, or
/// JSON. JSON text never starts with the marker, so results stored as JSON
/// before a type had a compact form still replay.
public enum CompactForm {
    /// First byte of a result in the compact form; its type's version follows.
    static let marker: UInt8 = 0x01

    public struct Malformed: Error, CustomStringConvertible {
        public init() {}
        public var description: String { "a stored result in the compact form is malformed" }
    }

    public static func encode<Value: CompactlyStored>(_ value: Value) -> [UInt8] {
        var writer = CompactWriter()
        writer.bytes.append(marker)
        writer.write(value)
        return writer.bytes
    }

    /// Nil when `bytes` are not in the compact form.
    public static func decode<Value: CompactlyStored>(_: Value.Type, from bytes: [UInt8]) throws -> Value? {
        guard bytes.first == marker else { return nil }
        var reader = CompactReader(bytes, from: 1)
        let value = try reader.read(Value.self)
        guard reader.isAtEnd else { throw Malformed() }
        return value
    }
}
