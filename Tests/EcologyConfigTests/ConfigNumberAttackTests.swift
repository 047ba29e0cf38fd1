import EcologyCore
@testable import EcologyConfig
import XCTest

/// Class 1 of issue 9 for the configuration: a number the runtime cannot do arithmetic
/// on (a timeout of 1e300 s, a period whose microseconds overflow, sizes whose sum
/// overflows) is a config error naming its key, never a trap later in the supervisor.
final class ConfigNumberAttackTests: XCTestCase {
    private func assertRejected(_ yaml: String, at key: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let error = try loadError(yaml: yaml, file: file, line: line)
        XCTAssertEqual(error.kind, .invalidValue, "\(error)", file: file, line: line)
        XCTAssertTrue(error.description.hasPrefix("config error at \(key): must be"), "\(error)", file: file, line: line)
    }

    /// Durations feed `seconds × 1e6` (µs), `× 1e9` (ns) and `Int(seconds)` conversions.
    func testDurationsBeyondAHundredYearsAreConfigErrors() throws {
        for (section, key) in [("limits", "invoke_timeout_seconds"), ("limits", "contract_timeout_seconds"),
                               ("supervisor", "restart_period_seconds"), ("supervisor", "restart_backoff_seconds"),
                               ("supervisor", "shutdown_timeout_seconds"), ("supervisor", "metrics_window_seconds"),
                               ("llm", "timeout_seconds")] {
            for value in ["1e300", "9.3e18", "3153600001"] {
                try assertRejected("\(section):\n  \(key): \(value)\n", at: "\(section).\(key)")
            }
            XCTAssertNoThrow(try ConfigLoader.load(yaml: "\(section):\n  \(key): 3153600000\n"), "\(section).\(key)")
        }
        for (section, key) in [("mint", "period_seconds"), ("world", "tombstone_retention_seconds"), ("limits", "execution_cpu_seconds")] {
            try assertRejected("\(section):\n  \(key): 9223372036854775807\n", at: "\(section).\(key)")
            try assertRejected("\(section):\n  \(key): 3153600001\n", at: "\(section).\(key)")
            XCTAssertNoThrow(try ConfigLoader.load(yaml: "\(section):\n  \(key): 3153600000\n"), "\(section).\(key)")
        }
    }

    /// `max_content_bytes + max_code_bytes` overflowed while the loader checked them
    /// against the frame size: loading this file trapped.
    func testSizesWhoseSumOverflowsAreConfigErrors() throws {
        try assertRejected("limits:\n  max_content_bytes: 9223372036854775807\n  max_code_bytes: 9223372036854775807\n",
                           at: "limits.max_content_bytes")
        try assertRejected("limits:\n  max_output_bytes: 9223372036854775807\n", at: "limits.max_output_bytes")
    }

    /// Quantities are at most 2^53 (exact in a JSON double, and summable); token buckets
    /// at most Int64.max scaled units (9,223,372,036,854).
    func testQuantitiesBeyondTheirArithmeticRangeAreConfigErrors() throws {
        try assertRejected("limits:\n  max_amount: 9223372036854775807\n", at: "limits.max_amount")
        try assertRejected("resources:\n  compute:\n    capacity: 9223372036855\n    initial: 0\n", at: "resources.compute.capacity")
        try assertRejected("resources:\n  llm_rate:\n    rate_per_second: 9223372036854775807\n", at: "resources.llm_rate.rate_per_second")
        try assertRejected("costs:\n  write_ms: 9223372036854775807\n", at: "costs.write_ms")
        try assertRejected("resources:\n  llm_budget_microdollars: 9007199254740993\n", at: "resources.llm_budget_microdollars")
        try assertRejected("mint:\n  ubi_floor: 9223372036854775807\n", at: "mint.ubi_floor")
        try assertRejected("agents:\n  - id: a\n    scrip: 9223372036854775807\n", at: "agents[0].scrip")
        // Each agent within the bound, but the world's total scrip not.
        try assertRejected("agents:\n  - id: a\n    scrip: 9007199254740992\n  - id: b\n    scrip: 1\n", at: "agents")
        XCTAssertNoThrow(try ConfigLoader.load(yaml: "limits:\n  max_amount: 9007199254740992\nresources:\n  compute:\n    rate_per_second: 9223372036854\n    capacity: 9223372036854\n    initial: 9223372036854\n"))
    }

    /// A config built in code (tests, `withAgents`) goes through the same checks.
    func testValidateCatchesTheSameValuesBuiltInCode() throws {
        var config = WorldConfig()
        config.limits.invokeTimeoutSeconds = 1e300
        XCTAssertThrowsError(try config.validate())
        config = WorldConfig()
        config.limits.maxContentBytes = .max; config.limits.maxCodeBytes = .max
        XCTAssertThrowsError(try config.validate())
    }
}
