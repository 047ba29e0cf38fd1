import EcologyCore
import EcologyKernel
import EcologyStore
import Foundation
import GRDB

/// Every read the observatory makes of one world: the JSON of each API route and the
/// gauges of a scrape. All of it is blocking SQLite work on a `DatabasePool` reader
/// (a WAL snapshot, never the writer), called only from the observatory's thread pool,
/// never on an event loop.
public final class WorldReader: Sendable {
    public let kernel: Kernel
    public let metrics: ObservatoryMetrics
    let live: (any LiveWorldStatus)?
    let kpiSource: (any KPISource)?
    let statementSource: (any StatementSource)?
    let tally = EventTally()
    /// The most rows any list route returns in one page.
    public static let maxPage: Int64 = 1000

    public init(kernel: Kernel, metrics: ObservatoryMetrics, live: (any LiveWorldStatus)?,
                kpis: (any KPISource)? = nil, statements: (any StatementSource)? = nil) {
        self.kernel = kernel; self.metrics = metrics; self.live = live
        self.kpiSource = kpis; self.statementSource = statements
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T { try kernel.database.readTransaction(body) }

    static func seconds(_ micros: Int64) -> Double { Double(micros) / 1_000_000 }

    func meta(_ db: Database, _ key: String) throws -> Int64? {
        try String.fetchOne(db, sql: "SELECT value FROM world_meta WHERE key = ?", arguments: [key]).flatMap { Int64($0) }
    }

    // MARK: agents

    /// One state per agent, the first that applies: `parked` (crashed past the restart
    /// intensity), `paused` (by an operator), `frozen` (in compute debt), then the recorded
    /// supervision status; without a live supervisor, `running`/`sleeping` read `stopped`.
    func state(of agent: JSONValue) -> String {
        if agent["parked"]?.boolValue == true { return "parked" }
        if agent["paused"]?.boolValue == true { return "paused" }
        if agent["frozen"]?.boolValue == true { return "frozen" }
        let status = agent["status"]?.stringValue ?? "never started"
        if live == nil && (status == "running" || status == "sleeping") { return "stopped" }
        return status
    }

    /// The agents table: every live agent with its balances, state and restarts.
    public func agents() throws -> [JSONValue] {
        let agents = try kernel.agents()
        let balances = Dictionary(try kernel.balances(of: agents.compactMap { $0["id"]?.stringValue }).compactMap { b in
            b["id"]?.stringValue.map { ($0, b) }
        }, uniquingKeysWith: { a, _ in a })
        return agents.map { a in
            var row = a.objectValue ?? [:]
            let b = balances[a["id"]?.stringValue ?? ""]
            row["llm_budget"] = b?["llm_budget"] ?? .number(0)
            row["disk_used"] = b?["disk_used"] ?? .int(0)
            row["disk_quota"] = b?["disk_quota"] ?? .int(0)
            row["state"] = .string(state(of: a))
            return .object(row)
        }
    }

    public func agentsByState() throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for a in try kernel.agents() { counts[state(of: a), default: 0] += 1 }
        return counts
    }

    // MARK: overview

    public func overview() throws -> JSONValue {
        let byState = try agentsByState()
        let supply = try kernel.totalScrip()
        let (minted, initial, nextMint, llmMicros, lastSeq, rounds) = try read { db in
            (try meta(db, "minted_scrip") ?? 0, try meta(db, "initial_scrip") ?? 0, try meta(db, "mint_next_resolution"),
             try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(json_extract(data,'$.charged_microdollars')),0) FROM events WHERE type='llm_call'") ?? 0,
             try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq),0) FROM events") ?? 0,
             try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM mint_rounds") ?? 0)
        }
        let now = kernel.clock.nowMicros()
        var out: [String: JSONValue] = [
            "agents_by_state": .object(byState.mapValues(JSONValue.int)),
            "agents": .int(byState.values.reduce(0, +)),
            "scrip_supply": .int(supply), "scrip_initial": .int(initial), "scrip_minted": .int(minted),
            "llm_dollars": .number(Double(llmMicros) / 1_000_000),
            "mint_rounds": .int(rounds),
            "next_mint_at": nextMint.map { JSONValue.number(Self.seconds($0)) } ?? .null,
            "next_mint_in_seconds": nextMint.map { JSONValue.number(max(0, Self.seconds($0 - now))) } ?? .null,
            "last_event_seq": .int(lastSeq), "now": .number(Self.seconds(now)),
            "live": .bool(live != nil),
            "actions_per_second": live.map { JSONValue.number($0.actionsPerSecond()) } ?? .null,
        ]
        if let kpiSource { out["kpis"] = try kpiSource.kpis(window: nil).json }
        return .object(out)
    }

    // MARK: one agent

    public func agent(_ id: String, traceLimit: Int) throws -> JSONValue {
        guard let row = try agents().first(where: { $0["id"]?.stringValue == id }) else { throw APIError.notFound("no agent \(id)") }
        let artifacts = try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, kind, version, price, can_execute, size_bytes, created_at, updated_at FROM artifacts
                WHERE owner_id = ? AND deleted_at IS NULL ORDER BY updated_at DESC LIMIT 200
                """, arguments: [id]).map { r -> JSONValue in
                .object(["id": .string(r[0]), "kind": .string(r[1]), "version": .int(r[2]), "price": .int(r[3]),
                         "executable": .bool(r[4]), "size_bytes": .int(r[5]), "created_at": .number(Self.seconds(r[6])),
                         "updated_at": .number(Self.seconds(r[7]))])
            }
        }
        var out: [String: JSONValue] = ["agent": row, "artifacts": .array(artifacts),
                                        "traces": .array(try kernel.traces(agent: id, limit: traceLimit))]
        out["statement"] = try statementSource?.statement(of: id, limit: Int(Self.maxPage)) ?? .null
        return .object(out)
    }

    // MARK: events

    /// Events after `after`, oldest first, optionally of one type and/or principal.
    public func events(after: Int64, limit: Int64, type: String?, principal: String?) throws -> [JSONValue] {
        try read { db in
            try WorldEvent.fetch(db, afterSeq: after, limit: Int(limit), type: type, principal: principal, cache: nil).map(\.json)
        }
    }

    /// The most recent `limit` events (oldest first), for a page that opens mid-run.
    public func latestEvents(limit: Int64, type: String?, principal: String?) throws -> [JSONValue] {
        try read { db in
            try WorldEvent.fetch(db, limit: Int(limit), type: type, principal: principal, newestFirst: true).reversed().map(\.json)
        }
    }

    public func eventTypes() throws -> [JSONValue] {
        try kernel.eventCounts().sorted { $0.key < $1.key }.map { .object(["type": .string($0.key), "count": .int($0.value)]) }
    }
}
