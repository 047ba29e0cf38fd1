// swift-tools-version:6.0
// libFuzzer targets for Ecology (docs/OPERATIONS.md, "Fuzzing"). Build and run with ./run;
// by hand: swift build -Xswiftc -sanitize=fuzzer,address (from this directory).
//
// A package of its own so that the main package's `swift build` / `swift test` never
// see the fuzzers. It depends on the main package by path; SwiftPM names a path
// dependency after its directory, so the repository's directory must not itself be
// called `Fuzz` (any other name works).
import PackageDescription

func ecology(_ module: String) -> Target.Dependency { .product(name: module, package: "Ecology") }

let package = Package(
    name: "EcologyFuzz",
    dependencies: [.package(name: "Ecology", path: "..")],
    targets: [
        // libFuzzer's driver entry point, declared for Swift.
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver"]),
        .executableTarget(name: "FrameDecoderFuzz", dependencies: ["FuzzSupport", ecology("EcologyWire"), ecology("EcologyCore")]),
        .executableTarget(name: "JSONParserFuzz", dependencies: ["FuzzSupport", ecology("EcologyCore")]),
        .executableTarget(name: "JSONSchemaFuzz", dependencies: ["FuzzSupport", ecology("EcologyCore")]),
        .executableTarget(name: "ConfigLoaderFuzz", dependencies: ["FuzzSupport", ecology("EcologyConfig"), ecology("EcologyCore")]),
        .executableTarget(name: "KernelDispatchFuzz", dependencies: ["FuzzSupport", ecology("EcologyKernel"), ecology("EcologyStore"),
                                                                     ecology("EcologyWire"), ecology("EcologyCore")]),
    ],
    swiftLanguageModes: [.v6]
)
