// swift-tools-version:6.2
import PackageDescription

/// Every target is compiled in the Swift 6 language mode (complete strict concurrency checking).
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "presence-sync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "presence-sync", targets: ["presence-sync"]),
        .library(name: "PresenceSync", targets: ["PresenceSync"]),
        .library(name: "GraphSimulator", targets: ["GraphSimulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // The only place C is seen: a module map over the system libsqlite3 plus a shim header.
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite"
        ),
        // Our own small SQLite wrapper: connections, statements, typed values, transactions, backups.
        .target(name: "SQLite", dependencies: ["CSQLite"], swiftSettings: strict),
        // One way to serve a Hummingbird application in the background and stop it gracefully (the metrics
        // endpoint, the Graph simulator, the benchmark's and the tests' webhook receivers).
        .target(
            name: "HTTPHosting",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The daemon's library: config, Graph client, poll cycle, differ, store, sinks, service plumbing.
        .target(
            name: "PresenceSync",
            dependencies: [
                "SQLite", "HTTPHosting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "DequeModule", package: "swift-collections"),
                // The PostgreSQL mirror sink.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // The simulated tenant: a real loopback HTTP server speaking Entra's token and Graph's presence protocol.
        .target(
            name: "GraphSimulator",
            dependencies: [
                "HTTPHosting",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The benchmarks: child processes, /proc sampling, a webhook receiver, reports (`presence-sync benchmark`).
        .target(
            name: "PresenceSyncBenchmarks",
            dependencies: [
                "PresenceSync", "HTTPHosting",
                // Grown histories use the simulated tenant's user ids.
                "GraphSimulator",
                .product(name: "Logging", package: "swift-log"),
                // The delivery benchmark's webhook receiver.
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        // The command line: subcommands only parse arguments and call into the libraries.
        .executableTarget(
            name: "presence-sync",
            dependencies: [
                "PresenceSync",
                "GraphSimulator",
                "PresenceSyncBenchmarks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Helpers shared by the test targets: temporary directories, process runner, loopback receivers.
        .target(
            name: "TestSupport",
            dependencies: [
                "PresenceSync", "GraphSimulator", "SQLite", "HTTPHosting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "SQLiteTests", dependencies: ["SQLite", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "PresenceSyncTests",
            dependencies: [
                "PresenceSync", "GraphSimulator", "TestSupport", "SQLite",
                // The latency test matches real changes with history rows as the latency benchmark does.
                "PresenceSyncBenchmarks",
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GraphSimulatorTests",
            dependencies: ["GraphSimulator", "TestSupport"],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
