import EcologyStore
import Foundation
import GRDB

/// Counters derived from the event log: each scrape reads only the events appended since
/// the previous one (`seq` after the cursor, through the `events_type` index) and adds them
/// to the Prometheus counters. The first scrape reads the whole log, so a restarted
/// supervisor reports the world's totals, not only its own.
final class EventTally: @unchecked Sendable {
    // Safe: `cursor` and `syscalls` are read and written only inside `lock`, which is held
    // for the whole of `advance` (a scrape that arrives meanwhile waits and then reads nothing new).
    private let lock = NSLock()
    private var cursor: Int64 = 0
    private var syscalls: Set<String> = []
    /// At most this many distinct syscall labels; further names are counted as `other`.
    static let maxSyscallLabels = 64

    func advance(_ database: WorldDatabase, into metrics: ObservatoryMetrics) throws {
        lock.lock(); defer { lock.unlock() }
        try database.readTransaction { db in
            let upper = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM events") ?? 0
            guard upper > cursor else { return }
            let range: StatementArguments = [cursor, upper]
            for r in try Row.fetchAll(db, sql: """
                SELECT json_extract(data,'$.syscall'), COUNT(*) FROM events
                WHERE type='sandbox_violation' AND seq > ? AND seq <= ? GROUP BY 1
                """, arguments: range) {
                let name = (r[0] as String?) ?? "unknown"
                if !syscalls.contains(name) && syscalls.count < Self.maxSyscallLabels { syscalls.insert(name) }
                metrics.addCounter("ecology_sandbox_violations_total", [("syscall", syscalls.contains(name) ? name : "other")],
                                   Double(r[1] as Int64), help: "Syscalls blocked by seccomp in tool code, by syscall (from the event log).")
            }
            for r in try Row.fetchAll(db, sql: """
                SELECT COALESCE(principal,'?'), SUM(COALESCE(json_extract(data,'$.prompt_tokens'),0)),
                       SUM(COALESCE(json_extract(data,'$.completion_tokens'),0)), SUM(COALESCE(json_extract(data,'$.charged_microdollars'),0))
                FROM events WHERE type='llm_call' AND seq > ? AND seq <= ? GROUP BY 1
                """, arguments: range) {
                let agent: String = r[0]
                metrics.addCounter("ecology_llm_tokens_total", [("agent", agent), ("kind", "prompt")], Double(r[1] as Int64? ?? 0),
                                   help: "LLM tokens used, by agent and kind (prompt or completion), from the event log.")
                metrics.addCounter("ecology_llm_tokens_total", [("agent", agent), ("kind", "completion")], Double(r[2] as Int64? ?? 0),
                                   help: "LLM tokens used, by agent and kind (prompt or completion), from the event log.")
                metrics.addCounter("ecology_llm_dollars_total", [("agent", agent)], Double(r[3] as Int64? ?? 0) / 1_000_000,
                                   help: "LLM dollars charged to each agent, from the event log.")
            }
            let minted = try Int64.fetchOne(db, sql: """
                SELECT SUM(MAX(COALESCE(json_extract(data,'$.minted'),0), 0)) FROM events WHERE type='mint_resolved' AND seq > ? AND seq <= ?
                """, arguments: range) ?? 0
            metrics.addCounter("ecology_mint_scrip_total", [], Double(minted), help: "Scrip created by mint resolutions (UBI floor), from the event log.")
            let rounds = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE type='mint_resolved' AND seq > ? AND seq <= ?", arguments: range) ?? 0
            metrics.addCounter("ecology_mint_rounds_total", [], Double(rounds), help: "Mint rounds resolved, from the event log.")
            for r in try Row.fetchAll(db, sql: """
                SELECT json_extract(data,'$.error'), COUNT(*) FROM events WHERE type='invoke' AND seq > ? AND seq <= ?
                AND json_extract(data,'$.error') IN ('TIMEOUT','OUT_OF_MEMORY') GROUP BY 1
                """, arguments: range) {
                metrics.addCounter("ecology_invoke_failures_total", [("code", r[0] as String)], Double(r[1] as Int64),
                                   help: "Invokes of user tools that timed out or ran out of memory, from the event log.")
            }
            cursor = upper
        }
    }
}
