import Foundation
import SwiftProtobuf

/// The proto files of a `google.protobuf.FileDescriptorSet`, indexed by what
/// server reflection is asked: a file's name, a symbol it declares, an
/// extension it defines. Built once; every lookup answers with the file's
/// serialized `FileDescriptorProto` followed by those of its transitive
/// imports, so a client can rebuild a complete descriptor pool from one answer.
public struct DescriptorIndex: Sendable {
    private struct ExtensionKey: Hashable {
        var extendee: String
        var number: Int32
    }

    private var serializedFiles: [String: Data] = [:]
    private var imports: [String: [String]] = [:]
    private var fileDeclaringSymbol: [String: String] = [:]
    private var fileDeclaringExtension: [ExtensionKey: String] = [:]
    private var extensionNumbersByMessage: [String: [Int32]] = [:]

    /// The Laurel API and its imports, from the set scripts/generate-protos
    /// embeds; parsed on first use and shared by the whole process.
    public static let laurel: DescriptorIndex = {
        guard let bytes = Data(base64Encoded: LaurelDescriptorSet.base64, options: .ignoreUnknownCharacters) else {
            fatalError("LaurelDescriptorSet is not base64: rerun scripts/generate-protos")
        }
        do {
            return try DescriptorIndex(serializedSet: bytes)
        } catch {
            fatalError("LaurelDescriptorSet does not parse (\(error)): rerun scripts/generate-protos")
        }
    }()

    public init(serializedSet: Data) throws {
        try self.init(Google_Protobuf_FileDescriptorSet(serializedBytes: serializedSet))
    }

    public init(_ set: Google_Protobuf_FileDescriptorSet) throws {
        for file in set.file {
            let bytes: Data = try file.serializedBytes()
            serializedFiles[file.name] = bytes
            imports[file.name] = file.dependency
            let scope = file.package.isEmpty ? "" : file.package + "."
            for message in file.messageType { index(message, in: scope, file: file.name) }
            // Enum values live in the scope that encloses their enum, as in C++.
            for enumType in file.enumType { index(enumType, in: scope, file: file.name) }
            for service in file.service {
                let name = scope + service.name
                declare(name, in: file.name)
                for method in service.method { declare(name + "." + method.name, in: file.name) }
            }
            for field in file.extension { index(extension: field, in: scope, file: file.name) }
        }
    }

    /// The file called `name` (as imported, e.g. "laurel/v1/common.proto") and its imports.
    public func file(named name: String) -> [Data]? {
        serializedFiles[name] == nil ? nil : withImports(name)
    }

    /// The file declaring a package-qualified service, method, message, enum,
    /// enum value, field, oneof or extension, and its imports.
    public func file(declaring symbol: String) -> [Data]? {
        fileDeclaringSymbol[Self.unqualified(symbol)].map(withImports)
    }

    /// The file extending `messageType` with field `number`, and its imports.
    public func file(extending messageType: String, number: Int32) -> [Data]? {
        fileDeclaringExtension[ExtensionKey(extendee: Self.unqualified(messageType), number: number)].map(withImports)
    }

    /// The extension field numbers of a message type, ascending; nil when the
    /// type is not a message of this set.
    public func extensionNumbers(of messageType: String) -> [Int32]? {
        extensionNumbersByMessage[Self.unqualified(messageType)]?.sorted()
    }

    public var fileNames: [String] { serializedFiles.keys.sorted() }

    private func withImports(_ name: String) -> [Data] {
        var seen: Set<String> = []
        var order: [String] = []
        func visit(_ name: String) {
            guard serializedFiles[name] != nil, seen.insert(name).inserted else { return }
            order.append(name)
            for dependency in imports[name] ?? [] { visit(dependency) }
        }
        visit(name)
        return order.compactMap { serializedFiles[$0] }
    }

    private mutating func index(_ message: Google_Protobuf_DescriptorProto, in scope: String, file: String) {
        let name = scope + message.name
        declare(name, in: file)
        if extensionNumbersByMessage[name] == nil { extensionNumbersByMessage[name] = [] }
        for field in message.field { declare(name + "." + field.name, in: file) }
        for oneof in message.oneofDecl { declare(name + "." + oneof.name, in: file) }
        for nested in message.nestedType { index(nested, in: name + ".", file: file) }
        for enumType in message.enumType { index(enumType, in: name + ".", file: file) }
        for field in message.extension { index(extension: field, in: name + ".", file: file) }
    }

    private mutating func index(_ enumType: Google_Protobuf_EnumDescriptorProto, in scope: String, file: String) {
        declare(scope + enumType.name, in: file)
        for value in enumType.value { declare(scope + value.name, in: file) }
    }

    private mutating func index(extension field: Google_Protobuf_FieldDescriptorProto, in scope: String, file: String) {
        declare(scope + field.name, in: file)
        let key = ExtensionKey(extendee: Self.unqualified(field.extendee), number: field.number)
        if fileDeclaringExtension[key] == nil { fileDeclaringExtension[key] = file }
        extensionNumbersByMessage[key.extendee, default: []].append(field.number)
    }

    private mutating func declare(_ symbol: String, in file: String) {
        if fileDeclaringSymbol[symbol] == nil { fileDeclaringSymbol[symbol] = file }
    }

    /// Descriptors write type references as ".pkg.Type"; clients usually send "pkg.Type".
    private static func unqualified(_ name: String) -> String {
        name.hasPrefix(".") ? String(name.dropFirst()) : name
    }
}
