import EcologyCore
import GRDB

/// The economic KPIs of the world (SPEC section 9), over the whole world or a window of
/// world time; every formula, with its edge cases, is in docs/KPIS.md.
///
/// One module feeds `ecology inspect kpis`, the run summary, Prometheus and the dashboard,
/// so they always agree. Fractions with an empty denominator are 0, never NaN.
public struct KPIReport: Sendable, Equatable {
    /// The 13 KPI keys of `json`, in this order.
    public static let keys = [
        "gini", "velocity_per_agent_minute", "cross_agent_invoke_fraction", "composition_fraction",
        "tools_used_by_others", "specialization_index", "reuse_ratio", "mint_hhi", "price_dispersion",
        "frozen_events", "rescues", "debt_default_rate", "llm_burn_dollars_per_hour",
    ]

    /// Gini coefficient of the scrip held by live agents, now (a stock: the window does not change it).
    public var gini: Double
    /// Scrip moved by transfers, paid invokes, escrow sales, debt funding and repayments in
    /// the window, per live agent per minute of the window.
    public var velocityPerAgentMinute: Double
    /// Successful invokes of user tools whose payer is not the tool's owner, over all successful ones.
    public var crossAgentInvokeFraction: Double
    /// Successful invokes of user tools made from inside tool code (depth > 0), over all successful ones.
    public var compositionFraction: Double
    /// Distinct user tools with at least one successful invoke by a payer other than their owner.
    public var toolsUsedByOthers: Int64
    /// Use-weighted mean, over tool owners, of the Herfindahl index of their uses by others across their tools.
    public var specializationIndex: Double
    /// Share of successful invokes that reuse a tool already invoked in the window: 1 − distinct tools / invokes.
    public var reuseRatio: Double
    /// Herfindahl index of the scrip minted in the window, by receiving owner.
    public var mintHHI: Double
    /// Coefficient of variation of the prices paid by paid invokes in the window.
    public var priceDispersion: Double
    /// `agent_frozen` events in the window.
    public var frozenEvents: Int64
    /// Freeze episodes rescued in the window: another principal sent compute or scrip while it was frozen.
    public var rescues: Int64
    /// Funded debts due in the window that were not fully repaid by their due time, over all funded debts due in it.
    public var debtDefaultRate: Double
    /// LLM dollars charged in the window per hour of the window.
    public var llmBurnDollarsPerHour: Double

    /// The window asked for (nil: the whole world).
    public var windowSeconds: Double?
    /// World time the report covers: events with `fromSeconds < time ≤ toSeconds` (the
    /// whole world includes the epoch itself).
    public var fromSeconds: Double
    public var toSeconds: Double
    /// The length the rates divide by: the window, or the world's age if it is younger.
    public var durationSeconds: Double

    /// Exactly the 13 keys of `keys`, nothing else: the shape `inspect kpis --json` prints.
    public var json: JSONValue {
        .object([
            "gini": .number(gini), "velocity_per_agent_minute": .number(velocityPerAgentMinute),
            "cross_agent_invoke_fraction": .number(crossAgentInvokeFraction), "composition_fraction": .number(compositionFraction),
            "tools_used_by_others": .int(toolsUsedByOthers), "specialization_index": .number(specializationIndex),
            "reuse_ratio": .number(reuseRatio), "mint_hhi": .number(mintHHI), "price_dispersion": .number(priceDispersion),
            "frozen_events": .int(frozenEvents), "rescues": .int(rescues), "debt_default_rate": .number(debtDefaultRate),
            "llm_burn_dollars_per_hour": .number(llmBurnDollarsPerHour),
        ])
    }

    /// The window a report covers, for the readable table and the dashboard.
    public var windowJSON: JSONValue {
        .object(["window_seconds": windowSeconds.map(JSONValue.number) ?? .null, "from": .number(fromSeconds),
                 "to": .number(toSeconds), "duration_seconds": .number(durationSeconds)])
    }

    /// The longest window accepted: 100 years.
    public static let maxWindowSeconds: Double = 100 * 365.25 * 86_400
}

extension Kernel {
    /// The KPIs over the whole world (`window == nil`) or over the last `seconds` of world
    /// time, from the event log and the ledger in one read transaction.
    /// A window that is not a positive finite number of at most 100 years is INVALID_ARGS.
    public func kpis(window seconds: Double? = nil) throws -> KPIReport {
        if let seconds, !(seconds > 0 && seconds <= KPIReport.maxWindowSeconds) {
            throw KernelError.invalid("the KPI window must be a number of seconds > 0 and ≤ 100 years (\(KPIReport.maxWindowSeconds) s), got \(seconds)")
        }
        return try readOnly { db in try KPIComputation(db, end: clock.nowMicros(), window: seconds).report() }
    }
}

/// One KPI computation inside a read transaction: the window's bounds and the queries.
private struct KPIComputation {
    let db: Database
    let end: Int64
    /// Events count when `start < time ≤ end`.
    let start: Int64
    /// Where the covered span begins: the window's start, or the epoch if the world is younger.
    let from: Int64
    let window: Double?
    let durationMicros: Int64

    init(_ db: Database, end: Int64, window: Double?) throws {
        self.db = db; self.end = end; self.window = window
        let epoch = Int64(try String.fetchOne(db, sql: "SELECT value FROM world_meta WHERE key='epoch'") ?? "") ?? end
        if let window {
            start = end.saturatingSubtract(CheckedNumber.micros(fromSeconds: window))
        } else {
            start = Int64.min  // everything, bootstrap (at the epoch) included
        }
        from = min(end, max(start, epoch))
        durationMicros = end.saturatingSubtract(from)
    }

    func report() throws -> KPIReport {
        let agents = try Row.fetchAll(db, sql: """
            SELECT p.scrip FROM principals p JOIN artifacts a ON a.id = p.id WHERE a.kind = 'agent' AND a.deleted_at IS NULL
            """).map { $0[0] as Int64 }
        let minutes = Double(durationMicros) / 60_000_000
        let uses = try invokes()
        let movedScrip = try scripMoved()
        return KPIReport(
            gini: EconomicMeasures.gini(agents),
            velocityPerAgentMinute: EconomicMeasures.ratio(movedScrip, Double(agents.count) * minutes),
            crossAgentInvokeFraction: EconomicMeasures.ratio(Double(uses.filter(\.byOther).count), Double(uses.count)),
            compositionFraction: EconomicMeasures.ratio(Double(uses.filter { $0.depth > 0 }.count), Double(uses.count)),
            toolsUsedByOthers: Int64(Set(uses.filter(\.byOther).map(\.tool)).count),
            specializationIndex: Self.specialization(uses),
            reuseRatio: uses.isEmpty ? 0 : 1 - Double(Set(uses.map(\.tool)).count) / Double(uses.count),
            mintHHI: try mintConcentration(),
            priceDispersion: EconomicMeasures.coefficientOfVariation(try paidPrices()),
            frozenEvents: try count("agent_frozen"),
            rescues: try rescues(),
            debtDefaultRate: try debtDefaultRate(),
            llmBurnDollarsPerHour: EconomicMeasures.ratio(try sum("llm_call", "$.charged_microdollars") / 1_000_000,
                                                          Double(durationMicros) / 3_600_000_000),
            windowSeconds: window, fromSeconds: seconds(from),
            toSeconds: seconds(end), durationSeconds: Double(durationMicros) / 1_000_000)
    }

    /// The time condition on `events`, with its two arguments.
    private var inWindow: String { "time > ? AND time <= ?" }
    private var bounds: StatementArguments { [start, end] }

    private func count(_ type: String) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM events WHERE type = ? AND \(inWindow)"),
                           arguments: [type] + bounds) ?? 0
    }

    /// The sum of an integer field of one event type (a missing field counts 0).
    private func sum(_ type: String, _ path: String, where condition: String = "1") throws -> Double {
        try Double.fetchOne(db.cachedStatement(sql: """
            SELECT COALESCE(SUM(CAST(json_extract(data, ?) AS REAL)), 0) FROM events WHERE type = ? AND \(inWindow) AND \(condition)
            """), arguments: [path, type] + bounds) ?? 0
    }

    /// Scrip that changed hands between principals: transfers, paid invoke prices, escrow
    /// sales, debt funding and repayments (a repayment to oneself moves nothing).
    private func scripMoved() throws -> Double {
        try sum("transfer", "$.amount", where: "json_extract(data, '$.resource') = 'scrip'")
            + sum("invoke", "$.price_paid")
            + sum("escrow_purchase", "$.price")
            + sum("debt_issued", "$.amount")
            + sum("debt_repaid", "$.amount", where: "COALESCE(json_extract(data, '$.holder'), '') != COALESCE(principal, '')")
    }

    /// One successful invoke of a user tool (genesis services record no `invoke` event).
    struct Use {
        var tool: String
        var owner: String
        var depth: Int64
        var byOther: Bool
    }

    private func invokes() throws -> [Use] {
        // `depth` is missing from events written before it was recorded: those count as top level.
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT json_extract(data, '$.artifact_id'), json_extract(data, '$.payer'), json_extract(data, '$.owner'),
                   COALESCE(json_extract(data, '$.depth'), 0)
            FROM events WHERE type = 'invoke' AND \(inWindow) AND json_extract(data, '$.error') IS NULL
            """), arguments: bounds).map { row in
                let payer = (row[1] as String?) ?? "", owner = (row[2] as String?) ?? ""
                return Use(tool: (row[0] as String?) ?? "", owner: owner, depth: (row[3] as Int64?) ?? 0, byOther: payer != owner)
            }
    }

    /// For each owner, the Herfindahl index of its uses by others across its tools,
    /// weighted by its share of all uses by others.
    static func specialization(_ uses: [Use]) -> Double {
        var byOwner: [String: [String: Double]] = [:]
        var total = 0.0
        for u in uses where u.byOther {
            byOwner[u.owner, default: [:]][u.tool, default: 0] += 1
            total += 1
        }
        guard total > 0 else { return 0 }
        return byOwner.values.reduce(0) { sum, tools in
            let n = tools.values.reduce(0, +)
            return sum + n / total * EconomicMeasures.herfindahl(Array(tools.values))
        }
    }

    private func paidPrices() throws -> [Double] {
        try Double.fetchAll(db.cachedStatement(sql: """
            SELECT CAST(json_extract(data, '$.price_paid') AS REAL) FROM events
            WHERE type = 'invoke' AND \(inWindow) AND json_extract(data, '$.price_paid') > 0
            """), arguments: bounds)
    }

    private func mintConcentration() throws -> Double {
        var byOwner: [String: Double] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT json_extract(w.value, '$.owner'), CAST(json_extract(w.value, '$.minted') AS REAL)
            FROM events e, json_each(e.data, '$.winners') w WHERE e.type = 'mint_resolved' AND e.time > ? AND e.time <= ?
            """), arguments: bounds) {
            guard let owner = row[0] as String?, let minted = row[1] as Double?, minted > 0 else { continue }
            byOwner[owner, default: 0] += minted
        }
        return EconomicMeasures.herfindahl(Array(byOwner.values))
    }

    /// Replays freezes, thaws and gifts from the beginning (a freeze may predate the window)
    /// and counts the freeze episodes first helped inside the window.
    private func rescues() throws -> Int64 {
        var frozen: Set<String> = [], rescued: Set<String> = []
        var count: Int64 = 0
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT type, principal, time, json_extract(data, '$.from'), json_extract(data, '$.to') FROM events
            WHERE type IN ('agent_frozen', 'agent_unfrozen')
               OR (type = 'transfer' AND json_extract(data, '$.resource') = 'scrip')
               OR (type = 'quota_transfer' AND json_extract(data, '$.resource') IN ('compute', 'compute_rate'))
            ORDER BY seq
            """))
        while let row = try rows.next() {
            let type: String = row[0], time: Int64 = row[2]
            if time > end { break }
            switch type {
            case "agent_frozen":
                if let p = row[1] as String? { frozen.insert(p); rescued.remove(p) }
            case "agent_unfrozen":
                if let p = row[1] as String? { frozen.remove(p); rescued.remove(p) }
            default:
                guard let to = row[4] as String?, let from = row[3] as String?, from != to,
                      frozen.contains(to), !rescued.contains(to) else { continue }
                rescued.insert(to)
                if time > start { count += 1 }
            }
        }
        return count
    }

    /// Funded debts (active or repaid; requested and cancelled ones never lent anything)
    /// due in the window, and of those the ones not fully repaid by their due time.
    private func debtDefaultRate() throws -> Double {
        let due = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT id, repay_amount, due_at FROM debts WHERE status IN ('active', 'repaid') AND due_at > ? AND due_at <= ?
            """), arguments: bounds)
        guard !due.isEmpty else { return 0 }
        var repayments: [String: [(time: Int64, amount: Int64)]] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT json_extract(data, '$.debt_id'), time, json_extract(data, '$.amount') FROM events WHERE type = 'debt_repaid' AND time <= ?
            """), arguments: [end]) {
            guard let id = row[0] as String?, let amount = row[2] as Int64? else { continue }
            repayments[id, default: []].append((row[1], amount))
        }
        var defaulted = 0
        for row in due {
            let id: String = row[0], owed: Int64 = row[1], dueAt: Int64 = row[2]
            let paid = (repayments[id] ?? []).filter { $0.time <= dueAt }.reduce(Int64(0)) { $0.saturatingAdd($1.amount) }
            if paid < owed { defaulted += 1 }
        }
        return EconomicMeasures.ratio(Double(defaulted), Double(due.count))
    }
}
