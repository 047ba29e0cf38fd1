import EcologyCore
@testable import EcologyConfig
import XCTest

/// The `retention` keys: defaults, a file that sets them, and their bounds.
final class RetentionConfigTests: XCTestCase {
    func testDefaultsKeepEventsAndBoundTracesAndMemories() {
        let r = WorldConfig().retention
        XCTAssertEqual(r.eventMaxAgeSeconds, 0, "events are the audit trail: never pruned unless asked")
        XCTAssertEqual(r.eventMaxRows, 0)
        XCTAssertEqual(r.traceMaxAgeSeconds, 604_800)
        XCTAssertEqual(r.traceMaxPerAgent, 10_000)
        XCTAssertEqual(r.memoryMaxPerAgent, 1_000)
        XCTAssertEqual(r.batchRows, 1_000)
    }

    func testAFileSetsEveryRetentionKey() throws {
        let c = try ConfigLoader.load(yaml: """
            retention:
              interval_seconds: 5
              batch_rows: 50
              trace_max_age_seconds: 3600
              trace_max_per_agent: 10
              memory_max_age_seconds: 7200
              memory_max_per_agent: 20
              event_max_age_seconds: 86400
              event_max_rows: 1000000
            """).retention
        XCTAssertEqual(c.intervalSeconds, 5); XCTAssertEqual(c.batchRows, 50)
        XCTAssertEqual(c.traceMaxAgeSeconds, 3600); XCTAssertEqual(c.traceMaxPerAgent, 10)
        XCTAssertEqual(c.memoryMaxAgeSeconds, 7200); XCTAssertEqual(c.memoryMaxPerAgent, 20)
        XCTAssertEqual(c.eventMaxAgeSeconds, 86400); XCTAssertEqual(c.eventMaxRows, 1_000_000)
    }

    func testOutOfRangeRetentionsAreRejected() throws {
        XCTAssertEqual(try loadError(yaml: "retention:\n  batch_rows: 0\n").description,
                       "config error at retention.batch_rows: must be an integer from 1 to 1000000, got 0")
        XCTAssertEqual(try loadError(yaml: "retention:\n  interval_seconds: 0\n").description,
                       "config error at retention.interval_seconds: must be a number of seconds > 0 and ≤ 3153600000, got 0.0")
        // Ages are durations: bounded like every other (Int64.max seconds would overflow in µs).
        XCTAssertEqual(try loadError(yaml: "retention:\n  trace_max_age_seconds: 9223372036854775807\n").description,
                       "config error at retention.trace_max_age_seconds: must be an integer from 0 to 3153600000, got 9223372036854775807")
        XCTAssertEqual(try loadError(yaml: "retention:\n  event_max_rows: -1\n").description,
                       "config error at retention.event_max_rows: must be an integer ≥ 0, got -1")
        XCTAssertEqual(try loadError(yaml: "retention:\n  trace_max_age_seconds: 1.5\n").kind, .invalidValue)
    }
}
