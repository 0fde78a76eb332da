// swift-tools-version: 6.1
import PackageDescription

let strictSwift6: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Herald",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "herald", targets: ["herald"]),
        .library(name: "HeraldCore", targets: ["HeraldCore"]),
        .library(name: "HeraldRedis", targets: ["HeraldRedis"]),
        .library(name: "HeraldPublisher", targets: ["HeraldPublisher"]),
        .library(name: "HeraldServer", targets: ["HeraldServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        // Pure protocol logic: channel paths, templates, resume, stats formats. No I/O.
        .target(name: "HeraldCore", swiftSettings: strictSwift6),
        // hiredis, for its RESP reply parser and command formatter (Debian: libhiredis-dev).
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // Redis on SwiftNIO: pipelined commands, scripts, pub/sub, reconnects.
        .target(
            name: "HeraldRedis",
            dependencies: [
                "CHiredis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift6
        ),
        // The library apps link to publish: one atomic Redis script per message.
        .target(
            name: "HeraldPublisher",
            dependencies: ["HeraldCore", "HeraldRedis", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSwift6
        ),
        // herald.js, the browser client, which every node serves at /herald.js.
        .target(
            name: "HeraldClientScript", path: "clients/js", exclude: [], resources: [.copy("herald.js")],
            swiftSettings: strictSwift6),
        // The node: listeners, transports, subscriber registry, engines.
        .target(
            name: "HeraldServer",
            dependencies: [
                "HeraldCore",
                "HeraldRedis",
                "HeraldPublisher",
                "HeraldClientScript",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "herald",
            dependencies: [
                "HeraldCore",
                "HeraldServer",
                "HeraldRedis",
                "HeraldPublisher",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSwift6
        ),
        // What the test targets share: real redis-server and herald processes on free loopback ports,
        // and blocking HTTP, EventSource, WebSocket and RESP clients independent of the code under test.
        .target(
            name: "HeraldTesting",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/HeraldTesting",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "HeraldCoreTests",
            dependencies: ["HeraldCore", "HeraldTesting"],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "HeraldRedisTests",
            dependencies: [
                "HeraldRedis",
                "HeraldTesting",
                "CHiredis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "HeraldServerTests",
            dependencies: [
                "HeraldCore",
                "HeraldServer",
                "HeraldRedis",
                "HeraldPublisher",
                "HeraldTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "HeraldEndToEndTests",
            dependencies: [
                "herald",
                "HeraldCore",
                "HeraldRedis",
                "HeraldPublisher",
                "HeraldTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift6
        ),
    ]
)

// libFuzzer targets, one folder each under Fuzz/, present only when HERALD_FUZZ is set so the
// normal build never sees them; `scripts/fuzz` builds them with the sanitizers in `.build-fuzz`.
// A new target is a folder `Fuzz/<Name>Fuzz` with one file defining `@_cdecl("<Name>Fuzz_main")`,
// and one line here.
if Context.environment["HERALD_FUZZ"] != nil {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("ChannelPathFuzz", ["HeraldCore"]),
        ("ResumeCursorFuzz", ["HeraldCore"]),
        ("MessageTemplateFuzz", ["HeraldCore"]),
        ("WebSocketFrameFuzz", ["HeraldCore"]),
        (
            "ConnectionStateMachineFuzz",
            [
                "HeraldCore", "HeraldServer", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
    // The connection state machine and the values it takes are internal to HeraldServer, as they
    // should be; its fuzzer reads them with `@testable import`, so this build compiles HeraldServer
    // for testing. That keeps the fuzzer off the module's API (no `package` or `public` widened
    // for one test tool) and the normal build untouched.
    if let server = package.targets.first(where: { $0.name == "HeraldServer" }) {
        server.swiftSettings = (server.swiftSettings ?? []) + [.unsafeFlags(["-enable-testing"])]
    }
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/FuzzSupport", swiftSettings: strictSwift6))
    for target in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: target.name, dependencies: target.dependencies + ["FuzzSupport"], path: "Fuzz/\(target.name)",
                // No implicit `main`: the file defines `<Name>_main` itself and libFuzzer runs the loop.
                swiftSettings: strictSwift6 + [.unsafeFlags(["-parse-as-library"])],
                // gold stops with an internal error on libFuzzer's archive beside SwiftPM's `main`; lld links it.
                linkerSettings: [.unsafeFlags(["-use-ld=lld"])]))
    }
}
