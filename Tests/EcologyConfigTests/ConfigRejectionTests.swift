import EcologyCore
@testable import EcologyConfig
import XCTest

/// Every rejection names the full key path of the value at fault.
final class ConfigRejectionTests: XCTestCase {
    private func assertRejected(_ yaml: String, _ expected: String, kind: ConfigError.Kind = .invalidValue,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let error = try loadError(yaml: yaml, file: file, line: line)
        XCTAssertEqual(error.description, expected, file: file, line: line)
        XCTAssertEqual(error.kind, kind, file: file, line: line)
    }

    func testUnknownKeysAtEveryDepth() throws {
        try assertRejected("resources:\n  compute:\n    bogus: 1\n",
                           "config error at resources.compute.bogus: unknown key", kind: .unknownKey)
        try assertRejected("minty:\n  slots: 1\n", "config error at minty: unknown key", kind: .unknownKey)
        try assertRejected("mint:\n  slot: 1\n", "config error at mint.slot: unknown key", kind: .unknownKey)
        try assertRejected("agents:\n  - id: a\n  - id: b\n    scripp: 3\n",
                           "config error at agents[1].scripp: unknown key", kind: .unknownKey)
        try assertRejected("llm:\n  prices:\n    llama3.2:\n      input: 1\n",
                           "config error at llm.prices.llama3.2.input: unknown key", kind: .unknownKey)
    }

    func testWrongTypes() throws {
        try assertRejected("mint:\n  slots: three\n", #"config error at mint.slots: must be an integer ≥ 1, got "three""#)
        try assertRejected("mint:\n  slots: \"3\"\n", #"config error at mint.slots: must be an integer ≥ 1, got "3""#)
        try assertRejected("mint:\n  slots: [1]\n", "config error at mint.slots: must be an integer ≥ 1, got a list")
        try assertRejected("mint:\n  slots:\n", "config error at mint.slots: must be an integer ≥ 1, got null")
        try assertRejected("mint: 5\n", "config error at mint: must be a mapping of keys, got 5")
        try assertRejected("- 1\n", "config error at top level: must be a mapping of keys, got a list")
        try assertRejected("llm:\n  temperature: warm\n",
                           #"config error at llm.temperature: must be a number from 0.0 to 2.0, got "warm""#)
        try assertRejected("limits:\n  invoke_timeout_seconds: .inf\n",
                           #"config error at limits.invoke_timeout_seconds: must be a number of seconds > 0 and ≤ 3153600000, got ".inf""#)
        try assertRejected("llm:\n  model: {a: 1}\n", "config error at llm.model: must be a string, got a mapping")
        try assertRejected("agents:\n  alpha: {}\n", "config error at agents: must be a list of agents, got a mapping")
        try assertRejected("agents:\n  - alpha\n", #"config error at agents[0]: must be a mapping with at least an id, got "alpha""#)
    }

    func testFloatsAreRejectedWhereIntegersAreRequired() throws {
        try assertRejected("mint:\n  slots: 1.0\n", "config error at mint.slots: must be an integer ≥ 1, got 1.0")
        try assertRejected("resources:\n  disk_quota_bytes: 1e6\n",
                           "config error at resources.disk_quota_bytes: must be an integer from 0 to 9007199254740992, got 1e6")
        try assertRejected("agents:\n  - id: a\n    scrip: 99.5\n",
                           "config error at agents[0].scrip: must be an integer from 0 to 9007199254740992, got 99.5")
        try assertRejected("llm:\n  prices:\n    llama3.2:\n      input_per_million_microdollars: 0.5\n",
                           "config error at llm.prices.llama3.2.input_per_million_microdollars: must be an integer ≥ 0, got 0.5")
    }

    func testOutOfRangeValues() throws {
        try assertRejected("mint:\n  slots: 0\n", "config error at mint.slots: must be an integer ≥ 1, got 0")
        try assertRejected("mint:\n  mint_ratio: 0\n", "config error at mint.mint_ratio: must be an integer ≥ 1, got 0")
        try assertRejected("mint:\n  period_seconds: -60\n", "config error at mint.period_seconds: must be an integer from 1 to 3153600000, got -60")
        try assertRejected("resources:\n  llm_rate:\n    capacity: -1\n",
                           "config error at resources.llm_rate.capacity: must be an integer from 0 to 9223372036854, got -1")
        try assertRejected("resources:\n  llm_budget_microdollars: 99999999999999999999\n",
                           "config error at resources.llm_budget_microdollars: must be an integer from 0 to 9007199254740992, got 99999999999999999999")
        try assertRejected("costs:\n  write_ms: -1\n", "config error at costs.write_ms: must be an integer from 0 to 9223372036854, got -1")
        try assertRejected("supervisor:\n  restart_period_seconds: 0\n",
                           "config error at supervisor.restart_period_seconds: must be a number of seconds > 0 and ≤ 3153600000, got 0.0")
        try assertRejected("llm:\n  temperature: 2.5\n", "config error at llm.temperature: must be a number from 0.0 to 2.0, got 2.5")
        try assertRejected("limits:\n  max_frame_bytes: 100\n",
                           "config error at limits.max_frame_bytes: must be an integer from 4096 to 67108864, got 100")
        try assertRejected("limits:\n  max_frame_bytes: 100000000\n",
                           "config error at limits.max_frame_bytes: must be an integer from 4096 to 67108864, got 100000000")
        try assertRejected("limits:\n  max_invoke_depth: 0\n",
                           "config error at limits.max_invoke_depth: must be an integer from 1 to 64, got 0")
        try assertRejected("resources:\n  memory_limit_bytes: 1024\n",
                           "config error at resources.memory_limit_bytes: must be an integer from 16777216 to 9007199254740992, got 1024")
    }

    func testWordsOutsideTheirChoices() throws {
        try assertRejected("sandbox:\n  mode: off\n", #"config error at sandbox.mode: must be one of "auto", "none", got "off""#)
        try assertRejected("mint:\n  scorer: gpt\n", #"config error at mint.scorer: must be one of "builtin", "llm", got "gpt""#)
        try assertRejected("agents:\n  - id: a\n    mind: clever\n",
                           #"config error at agents[0].mind: must be "heuristic", "llm" or "adversary:KIND" (KIND one of griefer, sybil, front_runner, wash_trader, freeloader, squatter, contract_trickster, hostile_coder), got "clever""#)
        try assertRejected("llm:\n  structured_output: xml\n",
                           #"config error at llm.structured_output: must be one of "tools", "json_schema", "json_object", got "xml""#)
        try assertRejected("sandbox:\n  python: python3\n",
                           #"config error at sandbox.python: must be an absolute path, got "python3""#)
        try assertRejected("llm:\n  base_url: localhost:11434\n",
                           #"config error at llm.base_url: must be an http:// or https:// URL, got "localhost:11434""#)
        try assertRejected("llm:\n  api_key_env: sk-abc123\n",
                           #"config error at llm.api_key_env: must be the name of an environment variable (letters, digits and '_', not starting with a digit), got "sk-abc123""#)
    }

    func testAgentIDs() throws {
        try assertRejected("agents:\n  - id: alpha\n  - id: beta\n  - id: alpha\n",
                           #"config error at agents[2].id: duplicates agents[0].id, got "alpha""#)
        try assertRejected("agents:\n  - id: \"two words\"\n",
                           #"config error at agents[0].id: must be an artifact ID of 1-128 letters, digits, '_', '.' or '-', got "two words""#)
        try assertRejected("agents:\n  - id: \"\"\n",
                           #"config error at agents[0].id: must be an artifact ID of 1-128 letters, digits, '_', '.' or '-', got """#)
        try assertRejected("agents:\n  - id: genesis_ledger\n",
                           #"config error at agents[0].id: must not start with "genesis_" (reserved for genesis artifacts), got "genesis_ledger""#)
        try assertRejected("agents:\n  - scrip: 5\n", "config error at agents[0].id: is required")
    }

    func testModelWithoutAPriceIsRejected() throws {
        try assertRejected("llm:\n  model: gpt-4o\n",
                           #"config error at llm.model: has no price in llm.prices (add llm.prices.gpt-4o with both prices; 0 for a free local model), got "gpt-4o""#)
        try assertRejected("llm:\n  model: gpt-4o\n  prices:\n    gpt-4o:\n      input_per_million_microdollars: 2500000\n",
                           "config error at llm.prices.gpt-4o.output_per_million_microdollars: is required for a model without a default price")
    }

    func testRelationsBetweenKeys() throws {
        try assertRejected("resources:\n  compute:\n    capacity: 50\n",
                           "config error at resources.compute.initial: must be at most resources.compute.capacity (50), got 10000")
        try assertRejected("limits:\n  max_frame_bytes: 65536\n",
                           "config error at limits.max_frame_bytes: must be at least limits.max_content_bytes + limits.max_code_bytes (327680), got 65536")
        try assertRejected("limits:\n  max_output_bytes: 2000000\n",
                           "config error at limits.max_output_bytes: must be at most limits.max_frame_bytes (1048576), got 2000000")
    }

    func testSyntaxErrorsGiveLineAndColumn() throws {
        let error = try loadError(yaml: "mint:\n  slots: 1\n   scorer: llm\n")
        guard case let .syntax(line, column) = error.kind else { return XCTFail("not a syntax error: \(error)") }
        XCTAssertEqual(line, 3)
        XCTAssertGreaterThan(column, 0)
        XCTAssertTrue(error.description.hasPrefix("config error at line 3, column \(column): invalid YAML: "), error.description)

        let unclosed = try loadError(yaml: "llm:\n  model: \"llama\n")
        guard case .syntax = unclosed.kind else { return XCTFail("not a syntax error: \(unclosed)") }
    }

    func testDuplicateYAMLKeysAreSyntaxErrors() throws {
        let error = try loadError(yaml: "mint:\n  slots: 1\n  slots: 2\n")
        guard case .syntax = error.kind else { return XCTFail("not a syntax error: \(error)") }
        XCTAssertTrue(error.description.contains(#"duplicate key "slots""#), error.description)
    }

    func testValidateCatchesConfigsBuiltInCode() {
        var config = WorldConfig()
        config.mint.slots = 0
        XCTAssertThrowsError(try config.validate()) { error in
            XCTAssertEqual("\(error)", "config error at mint.slots: must be an integer ≥ 1, got 0")
        }
        XCTAssertNoThrow(try WorldConfig().validate())
    }
}
