// swift-tools-version:6.0
// Ecology: a hardened supervisor for an economy of sandboxed LLM agents.
// Dependencies point one way: ecology (CLI) -> Supervisor -> Kernel -> Store -> Core,
// with Sandbox and Wire beside them (see docs/ARCHITECTURE.md).
import PackageDescription

let package = Package(
    name: "Ecology",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ecology", targets: ["ecology"]),
        // Libraries for the fuzz targets of Fuzz/Package.swift, which depends on this package by path.
        .library(name: "EcologyCore", targets: ["EcologyCore"]),
        .library(name: "EcologyWire", targets: ["EcologyWire"]),
        .library(name: "EcologyConfig", targets: ["EcologyConfig"]),
        .library(name: "EcologyStore", targets: ["EcologyStore"]),
        .library(name: "EcologyKernel", targets: ["EcologyKernel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // Pure rules: no I/O, no database, no processes.
        .target(name: "EcologyCore", dependencies: [.product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        // Readings of this host's processes: /proc and glibc's heap statistics.
        .systemLibrary(name: "CMalloc"),
        .target(name: "EcologyHost", dependencies: ["CMalloc"]),
        // Configuration file loading and validation (YAML).
        .target(name: "EcologyConfig", dependencies: [
            "EcologyCore",
            .product(name: "Yams", package: "Yams"),
        ]),
        // The world database: schema, migrations, records (GRDB on system SQLite).
        .target(name: "EcologyStore", dependencies: [
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            "EcologyCore",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        // Kernel actions, contracts, genesis services, events, invariants.
        .target(name: "EcologyKernel", dependencies: [
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            "EcologyCore", "EcologyStore",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // Frames and messages spoken between the supervisor and its children.
        .target(name: "EcologyWire", dependencies: [
            "EcologyCore",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // libseccomp, as a system library.
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp",
                       providers: [.apt(["libseccomp-dev"])]),
        // Launching sandboxed children: policy, seccomp, cgroups, namespaces.
        .target(name: "EcologySandbox", dependencies: [
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            "EcologyCore", "EcologyWire", "CSeccomp",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The LLM gateway: reservation/settlement accounting and providers.
        .target(name: "EcologyLLM", dependencies: [
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            "EcologyCore",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The supervisor: executor, agent supervision, run loop.
        .target(name: "EcologySupervisor", dependencies: [
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            "EcologyCore", "EcologyKernel", "EcologySandbox", "EcologyWire", "EcologyLLM", "EcologyConfig", "EcologyHost",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // The observatory: Prometheus /metrics, the web dashboard and its JSON API (Hummingbird).
        .target(name: "EcologyObservatory", dependencies: [
            "EcologyCore", "EcologyStore", "EcologyKernel", "EcologyHost",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [
            .embedInCode("Assets/dashboard.html"),
            .embedInCode("Assets/dashboard.js"),
            .embedInCode("Assets/dashboard.css"),
        ]),
        // `ecology bench`: the benchmarks, apart from the modules they measure.
        .target(name: "EcologyBenchmarks", dependencies: [
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            "EcologyCore", "EcologyStore", "EcologyKernel", "EcologySandbox", "EcologySupervisor", "EcologyHost",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        .executableTarget(name: "ecology", dependencies: [
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            "EcologyCore", "EcologyConfig", "EcologyStore", "EcologyKernel", "EcologySandbox", "EcologySupervisor", "EcologyLLM",
            "EcologyObservatory", "EcologyBenchmarks", "EcologyHost",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "EcologyCoreTests", dependencies: ["EcologyCore"]),
        .testTarget(name: "EcologyHostTests", dependencies: ["EcologyHost"]),
        .testTarget(name: "EcologyConfigTests", dependencies: ["EcologyConfig", "EcologyCore"]),
        .testTarget(name: "EcologyKernelTests", dependencies: [.product(name: "NIOConcurrencyHelpers", package: "swift-nio"), "EcologyKernel", "EcologyStore", "EcologyCore", "EcologyTestSupport",
            .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "EcologyWireTests", dependencies: ["EcologyWire", "EcologyCore",
            .product(name: "NIOEmbedded", package: "swift-nio")]),
        .testTarget(name: "EcologySandboxTests", dependencies: [.product(name: "NIOConcurrencyHelpers", package: "swift-nio"), "EcologySandbox", "EcologyWire", "EcologyCore", "EcologyTestSupport", "EcologyHost", "EcologyBenchmarks"]),
        // Shared by the LLM and supervisor tests: a fake OpenAI-compatible server.
        .target(name: "EcologyTestSupport", dependencies: ["EcologyCore", "EcologyKernel"], path: "Tests/EcologyTestSupport", exclude: ["Fixtures"]),
        .testTarget(name: "EcologyLLMTests", dependencies: [.product(name: "NIOConcurrencyHelpers", package: "swift-nio"), "EcologyLLM", "EcologyCore", "EcologyTestSupport"]),
        .testTarget(name: "EcologySupervisorTests", dependencies: ["EcologyTestSupport", "EcologySupervisor", "EcologyKernel", "EcologyCore", "EcologySandbox",
            "EcologyConfig", "EcologyStore", "EcologyLLM"]),
        .testTarget(name: "EcologyObservatoryTests", dependencies: ["EcologyObservatory", "EcologyKernel", "EcologyStore", "EcologyCore",
            "EcologyTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
