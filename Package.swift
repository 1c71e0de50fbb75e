// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// A service is a library (domain, storage, RPC handlers) plus a thin executable,
/// so tests can drive its domain and handlers without a process.
func service(_ name: String, executable: String, extraDependencies: [Target.Dependency] = []) -> [Target] {
    [
        .target(
            name: "\(name)Service",
            dependencies: [
                "LaurelShared",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ] + extraDependencies,
            path: "Services/\(name)/Service",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: executable,
            dependencies: [
                "LaurelShared",
                .target(name: "\(name)Service"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/\(name)/Main",
            swiftSettings: swiftSettings
        ),
    ]
}

/// An operator's or developer's executable: a gRPC client of the services.
func tool(_ name: String, path: String, extra: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            "LaurelShared",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ] + extra,
        path: path,
        swiftSettings: swiftSettings
    )
}

let package = Package(
    name: "Laurel",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "laurel-members", targets: ["laurel-members"]),
        .executable(name: "laurel-catalog", targets: ["laurel-catalog"]),
        .executable(name: "laurel-redemption", targets: ["laurel-redemption"]),
        .executable(name: "laurel-health-probe", targets: ["laurel-health-probe"]),
        .executable(name: "laurel-bench", targets: ["laurel-bench"]),
        .executable(name: "laurelctl", targets: ["laurelctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", exact: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
    ],
    targets: [
        // SQLite's default VFS with the write-ahead log's frames written in
        // one call per commit (docs/performance.md); C, as SQLite's API is.
        .target(
            name: "LaurelSQLiteVFS",
            path: "Shared/SQLiteVFS",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        // The model module: generated API code, domain value types, errors and
        // the server and storage bootstrap every service shares.
        .target(
            name: "LaurelShared",
            dependencies: [
                "LaurelSQLiteVFS",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the one-row lookups of the hottest calls.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ],
            path: "Shared",
            exclude: ["SQLiteVFS"],
            swiftSettings: swiftSettings
        ),
    ]
        + service("Members", executable: "laurel-members")
        + service("Catalog", executable: "laurel-catalog")
        + service("Redemption", executable: "laurel-redemption", extraDependencies: [
            .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
        ])
        + [
            tool("laurel-health-probe", path: "Tools/HealthProbe"),
            tool(
                "laurel-bench", path: "Tools/Bench",
                extra: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]),
            tool("laurelctl", path: "Tools/Laurelctl"),
            .testTarget(
                name: "LaurelTests",
                dependencies: [
                    "LaurelShared", "MembersService", "CatalogService", "RedemptionService",
                    // The end-to-end tests run these as processes; depending on
                    // them makes `swift test` build them first.
                    "laurel-members", "laurel-catalog", "laurel-redemption", "laurelctl",
                    .product(name: "GRDB", package: "GRDB.swift"),
                    .product(name: "GRPCCore", package: "grpc-swift-2"),
                    .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                    .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOPosix", package: "swift-nio"),
                    .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                    .product(name: "NIOHPACK", package: "swift-nio-http2"),
                ],
                path: "Tests/LaurelTests",
                swiftSettings: swiftSettings
            ),
        ]
)
