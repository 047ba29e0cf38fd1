import EcologyCore
@testable import EcologyConfig
import Foundation
import XCTest

/// The repository root, found from this file's own path.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let shippedConfigPath = repositoryRoot.appendingPathComponent("config/ecology.yaml").path

final class ConfigLoaderTests: XCTestCase {
    func testShippedFileEqualsSwiftDefaults() throws {
        let loaded = try ConfigLoader.load(path: shippedConfigPath)
        XCTAssertEqual(loaded, WorldConfig())
        XCTAssertEqual(loaded.agents.map(\.id), ["alpha", "beta", "gamma", "delta", "epsilon"])
        XCTAssertEqual(loaded.agents.map(\.scrip), [100, 100, 100, 100, 100])
        XCTAssertEqual(Set(loaded.agents.map(\.mind)), ["heuristic"])
    }

    func testEmbeddedTextIsTheShippedFile() throws {
        let file = try String(contentsOfFile: shippedConfigPath, encoding: .utf8)
        XCTAssertEqual(ConfigLoader.embeddedDefaultsYAML, file)
        XCTAssertEqual(ConfigLoader.embeddedDefaults(), WorldConfig())
    }

    func testMissingFileAtDefaultPathUsesEmbeddedDefaults() throws {
        let directory = try temporaryDirectory()
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }

        XCTAssertEqual(ConfigLoader.source(forPath: ConfigLoader.defaultPath), .embeddedDefaults)
        XCTAssertEqual(try ConfigLoader.load(path: ConfigLoader.defaultPath), WorldConfig())

        // Once the file exists at the default path, it is what gets read.
        try FileManager.default.createDirectory(atPath: "config", withIntermediateDirectories: true)
        try "mint:\n  slots: 4\n".write(toFile: ConfigLoader.defaultPath, atomically: true, encoding: .utf8)
        XCTAssertEqual(ConfigLoader.source(forPath: ConfigLoader.defaultPath), .file(ConfigLoader.defaultPath))
        XCTAssertEqual(try ConfigLoader.load(path: ConfigLoader.defaultPath).mint.slots, 4)
    }

    func testMissingFileElsewhereIsAnError() throws {
        let path = try temporaryDirectory().appendingPathComponent("nope.yaml").path
        XCTAssertEqual(ConfigLoader.source(forPath: path), .file(path))
        let error = try loadError(path: path)
        XCTAssertEqual(error.kind, .unreadable)
        XCTAssertEqual(error.description, "\(path): config error: cannot read \(path): no such file")
    }

    func testPartialFileKeepsEveryOtherDefault() throws {
        let config = try ConfigLoader.load(yaml: """
            resources:
              compute:
                rate_per_second: 250
            mint:
              slots: 3
              scorer: llm
            limits:
              invoke_timeout_seconds: 2.5
            """)
        var expected = WorldConfig()
        expected.resources.compute.ratePerSecond = 250
        expected.mint.slots = 3
        expected.mint.scorer = "llm"
        expected.limits.invokeTimeoutSeconds = 2.5
        XCTAssertEqual(config, expected)
    }

    func testEmptyDocumentAndEmptySectionsAreDefaults() throws {
        XCTAssertEqual(try ConfigLoader.load(yaml: ""), WorldConfig())
        XCTAssertEqual(try ConfigLoader.load(yaml: "# nothing but a comment\n"), WorldConfig())
        XCTAssertEqual(try ConfigLoader.load(yaml: "mint:\n  # slots: 2\nllm:\n"), WorldConfig())
    }

    func testAgentsListReplacesTheDefaultsAndFillsOmittedFields() throws {
        let config = try ConfigLoader.load(yaml: """
            agents:
              - id: zed
              - id: yan
                scrip: 7
                mind: llm
                prompt: Be brief.
            """)
        XCTAssertEqual(config.agents, [
            AgentSpec(id: "zed", scrip: 100, mind: "heuristic", prompt: AgentSpec.defaultPrompt(for: "zed")),
            AgentSpec(id: "yan", scrip: 7, mind: "llm", prompt: "Be brief."),
        ])
        XCTAssertEqual(try ConfigLoader.load(yaml: "agents: []\n").agents, [])
    }

    func testDefaultPromptMatchesTheDefaultFive() {
        for spec in AgentSpec.defaultFive {
            XCTAssertEqual(spec.prompt, AgentSpec.defaultPrompt(for: spec.id))
        }
    }

    func testPricesAreAddedToTheDefaults() throws {
        let config = try ConfigLoader.load(yaml: """
            llm:
              model: gpt-4o-mini
              prices:
                gpt-4o-mini:
                  input_per_million_microdollars: 150000
                  output_per_million_microdollars: 600000
                llama3.2:
                  output_per_million_microdollars: 5
            """)
        XCTAssertEqual(config.llm.model, "gpt-4o-mini")
        XCTAssertEqual(config.llm.prices, [
            "gpt-4o-mini": ModelPrice(inputPerMillionMicrodollars: 150_000, outputPerMillionMicrodollars: 600_000),
            "llama3.2": ModelPrice(inputPerMillionMicrodollars: 0, outputPerMillionMicrodollars: 5),
        ])
    }

    func testNumbersMayBeIntegersWhereFractionsAreAllowed() throws {
        let config = try ConfigLoader.load(yaml: "supervisor:\n  restart_period_seconds: 45\nllm:\n  temperature: 1e-1\n")
        XCTAssertEqual(config.supervisor.restartPeriodSeconds, 45)
        XCTAssertEqual(config.llm.temperature, 0.1)
    }

    func testErrorsFromAFileNameTheFile() throws {
        let path = try temporaryDirectory().appendingPathComponent("bad.yaml").path
        try "mint:\n  slots: 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try loadError(path: path).description,
                       "\(path): config error at mint.slots: must be an integer ≥ 1, got 0")
    }
}

func loadError(yaml: String, file: StaticString = #filePath, line: UInt = #line) throws -> ConfigError {
    do {
        let config = try ConfigLoader.load(yaml: yaml)
        XCTFail("expected a config error, loaded \(config)", file: file, line: line)
    } catch let error as ConfigError {
        return error
    }
    throw UnexpectedSuccess()
}

func loadError(path: String, file: StaticString = #filePath, line: UInt = #line) throws -> ConfigError {
    do {
        let config = try ConfigLoader.load(path: path)
        XCTFail("expected a config error, loaded \(config)", file: file, line: line)
    } catch let error as ConfigError {
        return error
    }
    throw UnexpectedSuccess()
}

struct UnexpectedSuccess: Error {}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-config-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
