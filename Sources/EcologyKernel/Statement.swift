import EcologyCore
import GRDB

/// One movement on a principal's account (docs/KPIS.md, "The agent statement").
public struct StatementLine: Sendable, Equatable {
    /// The event that caused it (0 for the computed compute line, which no event records).
    public var seq: Int64
    /// World time, seconds.
    public var time: Double
    /// The event's type, or `compute_refill` for the computed line.
    public var event: String
    /// One of `AgentStatement.resources`.
    public var resource: String
    /// Positive in, negative out, in the resource's unit.
    public var delta: Int64
    /// The resource's balance after this line (the sum of every line up to it).
    public var balance: Int64
    /// The other party, when there is one.
    public var counterparty: String?
    public var note: String?

    public var json: JSONValue {
        .object(["seq": .int(seq), "time": .number(time), "event": .string(event), "resource": .string(resource),
                 "delta": .int(delta), "balance": .int(balance),
                 "counterparty": counterparty.map(JSONValue.string) ?? .null, "note": note.map(JSONValue.string) ?? .null])
    }
}

/// Every movement of scrip, compute, LLM dollars and disk on one principal's account,
/// with the event that caused it, summing to its balances (SPEC section 9).
public struct AgentStatement: Sendable {
    /// The resources, with their units: scrip; CPU-milliseconds; LLM budget in
    /// micro-dollars; bytes stored and charged to it (`disk_used`); its disk quota in bytes.
    public static let resources = ["scrip", "compute_ms", "llm_microdollars", "disk_bytes", "disk_quota_bytes"]

    public var agent: String
    /// The lines, oldest first: all of them, or the most recent `limit`.
    public var lines: [StatementLine]
    /// Every line's delta summed per resource (all lines, also when `limit` shows fewer).
    public var totals: [String: Int64]
    /// The ledger's balances now, per resource.
    public var balances: [String: Int64]
    /// How many lines there are in all (`lines` may hold only the last `limit`).
    public var lineCount: Int
    /// The computed compute line in exact bucket units (CPU-nanoseconds, `TokenBucket`'s
    /// scaled units): refill credited less the charges no event itemizes. 0 in a world
    /// with no refill (rate 0) and no kernel action costs.
    public var unitemizedComputeNanos: Int64

    /// Whether the lines sum to the balances, resource by resource.
    public var balanced: Bool { Self.resources.allSatisfy { totals[$0, default: 0] == balances[$0, default: 0] } }

    public var json: JSONValue {
        .object(["agent": .string(agent), "lines": .array(lines.map(\.json)), "line_count": .int(Int64(lineCount)),
                 "totals": .object(totals.mapValues(JSONValue.int)), "balances": .object(balances.mapValues(JSONValue.int)),
                 "balanced": .bool(balanced), "unitemized_compute_ns": .int(unitemizedComputeNanos)])
    }
}

extension Kernel {
    /// The statement of one principal (an agent, or any artifact with standing), read from
    /// the event log and the ledger in one read transaction. `limit` keeps the most recent
    /// lines (totals still cover all of them); it must be positive.
    public func statement(of agent: String, limit: Int? = nil) throws -> AgentStatement {
        if let limit, limit < 1 { throw KernelError.invalid("limit must be a positive number of lines, got \(limit)") }
        let id = try ArtifactID.validate(agent, field: "agent")
        return try readOnly { db in
            let now = clock.nowMicros()
            let principal = try Principal.require(db, id)
            var builder = StatementBuilder(agent: id, config: config)
            let quoted = JSONCodec.string(.string(id))
            // Every event that may name the principal, in order; `StatementBuilder.add` keeps the exact movements.
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT seq, time, type, principal, data FROM events
                WHERE type IN (\(StatementBuilder.eventTypes.map { "'\($0)'" }.joined(separator: ",")))
                  AND (principal = ?1 OR instr(data, ?2) > 0)
                ORDER BY seq
                """), arguments: [id, quoted])
            while let row = try rows.next() {
                let data = (try? JSONCodec.decode(row[4] as String)) ?? .null
                builder.add(seq: row[0], time: row[1], type: row[2], principal: row[3], data: data)
            }
            builder.closeCompute(scaledNow: principal.compute.scaledBalance(atMicros: now), now: now)
            let balances: [String: Int64] = [
                "scrip": principal.scrip, "compute_ms": principal.compute.balance(atMicros: now),
                "llm_microdollars": principal.llmBudget, "disk_bytes": principal.diskUsed, "disk_quota_bytes": principal.diskQuota,
            ]
            let all = builder.lines
            return AgentStatement(agent: id, lines: limit.map { Array(all.suffix($0)) } ?? all, totals: builder.totals,
                                  balances: balances, lineCount: all.count, unitemizedComputeNanos: builder.unitemizedCompute)
        }
    }
}

/// Turns events into statement lines for one principal, keeping running balances.
///
/// Compute is kept exactly in the bucket's scaled units (CPU-nanoseconds); each compute
/// line's delta is the change of the balance rounded down to whole CPU-ms, the rounding
/// `TokenBucket.balance` uses, so the lines sum to the balance the ledger reports.
struct StatementBuilder {
    /// The event types that move a resource.
    static let eventTypes = ["artifact_written", "artifact_deleted", "transfer", "quota_transfer", "invoke", "contract_evaluated",
                             "escrow_purchase", "debt_issued", "debt_repaid", "mint_bid", "mint_withdraw", "mint_resolved", "llm_call"]
    static let nanosPerMs = TokenBucket.scale

    let agent: String
    let config: WorldConfig
    private(set) var lines: [StatementLine] = []
    private(set) var totals: [String: Int64] = Dictionary(uniqueKeysWithValues: AgentStatement.resources.map { ($0, 0) })
    /// The exact compute sum of the lines so far, in CPU-ns.
    private var computeNanos: Int64 = 0
    private(set) var unitemizedCompute: Int64 = 0

    init(agent: String, config: WorldConfig) { self.agent = agent; self.config = config }

    private mutating func line(_ seq: Int64, _ time: Int64, _ event: String, _ resource: String, _ delta: Int64,
                               counterparty: String? = nil, note: String? = nil) {
        guard delta != 0 else { return }
        let balance = totals[resource, default: 0].saturatingAdd(delta)
        totals[resource] = balance
        lines.append(StatementLine(seq: seq, time: seconds(time), event: event, resource: resource, delta: delta,
                                   balance: balance, counterparty: counterparty, note: note))
    }

    /// A compute movement given in CPU-ns: the line shows the change of the floored CPU-ms balance.
    private mutating func compute(_ seq: Int64, _ time: Int64, _ event: String, nanos: Int64,
                                  counterparty: String? = nil, note: String? = nil) {
        guard nanos != 0 else { return }
        let before = Self.floorMs(computeNanos)
        computeNanos = computeNanos.saturatingAdd(nanos)
        let delta = Self.floorMs(computeNanos).saturatingSubtract(before)
        let balance = totals["compute_ms", default: 0].saturatingAdd(delta)
        totals["compute_ms"] = balance
        lines.append(StatementLine(seq: seq, time: seconds(time), event: event, resource: "compute_ms", delta: delta,
                                   balance: balance, counterparty: counterparty, note: note))
    }

    static func floorMs(_ nanos: Int64) -> Int64 {
        let q = nanos / nanosPerMs
        return nanos % nanosPerMs < 0 ? q - 1 : q
    }

    /// CPU-ns of a `cpu_ms` field (measured microseconds / 1000, as events record it).
    static func nanos(cpuMs value: JSONValue?) -> Int64 {
        guard let ms = value?.doubleValue, ms.isFinite, ms > 0, let micros = Int64(exactly: (ms * 1000).rounded()) else { return 0 }
        return micros.saturatingMultiply(nanosPerMs / 1000)
    }

    /// The computed line: whatever the bucket holds now beyond the itemized lines is refill
    /// less the charges without an event (docs/KPIS.md).
    mutating func closeCompute(scaledNow: Int64, now: Int64) {
        unitemizedCompute = scaledNow.saturatingSubtract(computeNanos)
        compute(0, now, "compute_refill", nanos: unitemizedCompute,
                note: "computed: refill (rate × time, up to capacity) less kernel action costs and the agent's own process CPU, which no event itemizes")
    }

    mutating func add(seq: Int64, time: Int64, type: String, principal: String?, data: JSONValue) {
        let me = agent
        func text(_ key: String) -> String? { data[key]?.stringValue }
        func amount(_ key: String) -> Int64 { max(0, data[key]?.intValue ?? 0) }
        switch type {
        case "artifact_written":
            // Bytes written, grown or shrunk, charged to their billing principal.
            if text("charged_to") == me {
                let artifact = text("artifact_id") ?? "?", delta = data["disk_delta"]?.intValue ?? 0
                line(seq, time, type, "disk_bytes", delta, counterparty: artifact,
                     note: data["created"]?.boolValue == true ? "\(artifact) written" : "\(artifact) rewritten")
            }
            // The world's grant to a principal it created itself (bootstrap); spawned ones start empty.
            guard principal == Kernel.systemID, data["charged_to"] == nil, text("artifact_id") == me,
                  data["created"]?.boolValue == true else { return }
            let isAgent = text("kind") == "agent"
            let r = config.resources
            line(seq, time, type, "scrip", amount("scrip"), counterparty: Kernel.systemID, note: "genesis grant")
            let computeMs = data["compute_ms"]?.intValue ?? r.compute.initial
            compute(seq, time, type, nanos: computeMs.saturatingMultiply(Self.nanosPerMs), counterparty: Kernel.systemID, note: "genesis grant")
            let llmDefault = isAgent || me == MintService.id ? r.llmBudgetMicrodollars : 0
            line(seq, time, type, "llm_microdollars", data["llm_microdollars"]?.intValue ?? llmDefault,
                 counterparty: Kernel.systemID, note: "genesis grant")
            line(seq, time, type, "disk_quota_bytes", data["disk_quota_bytes"]?.intValue ?? (isAgent ? r.diskQuotaBytes : Kernel.genesisDiskQuota),
                 counterparty: Kernel.systemID, note: "genesis grant")
            line(seq, time, type, "disk_bytes", data["disk_bytes"]?.intValue ?? 0, note: "its own artifact")
        case "artifact_deleted":
            guard text("charged_to") == me else { return }
            let artifact = text("artifact_id") ?? "?"
            line(seq, time, type, "disk_bytes", -amount("freed_bytes"), counterparty: artifact,
                 note: data["reason"]?.stringValue == "retention" ? "\(artifact) removed by retention" : "\(artifact) deleted")
        case "transfer":
            let resource: String
            switch text("resource") {
            case "scrip": resource = "scrip"
            case "llm_budget": resource = "llm_microdollars"
            case "ownership": bytesMoved(seq, time, type, data); return
            default: return
            }
            let n = amount("amount")
            if text("from") == me { line(seq, time, type, resource, -n, counterparty: text("to")) }
            if text("to") == me { line(seq, time, type, resource, n, counterparty: text("from")) }
        case "quota_transfer":
            let n = amount("amount"), from = text("from"), to = text("to")
            let sign: Int64 = from == me ? -1 : to == me ? 1 : 0
            guard sign != 0 else { return }
            let other = sign < 0 ? to : from
            switch text("resource") {
            case "compute": compute(seq, time, type, nanos: sign * n.saturatingMultiply(Self.nanosPerMs), counterparty: other)
            case "llm_budget": line(seq, time, type, "llm_microdollars", sign * n, counterparty: other)
            case "disk": line(seq, time, type, "disk_quota_bytes", sign * n, counterparty: other)
            default: return  // compute_rate and compute_capacity change refill: the computed line
            }
        case "invoke":
            let tool = text("artifact_id") ?? "?", depth = data["depth"]?.intValue ?? 0
            let via = depth > 0 ? " (nested, depth \(depth), called by \(text("caller") ?? "?"))" : ""
            let price = amount("price_paid"), payer = text("payer"), owner = text("owner")
            if payer == me {
                compute(seq, time, type, nanos: -Self.nanos(cpuMs: data["cpu_ms"]), counterparty: tool,
                        note: "CPU of \(tool)\(via)")
                if price > 0 { line(seq, time, type, "scrip", -price, counterparty: owner, note: "price of \(tool)\(via)") }
            }
            if owner == me, payer != me, price > 0 {
                line(seq, time, type, "scrip", price, counterparty: payer, note: "price of \(tool)")
            }
        case "contract_evaluated":
            guard text("payer") == me else { return }
            compute(seq, time, type, nanos: -Self.nanos(cpuMs: data["cpu_ms"]), counterparty: text("contract_id"),
                    note: "contract \(text("contract_id") ?? "?") asked about \(text("action") ?? "?") on \(text("artifact_id") ?? "?")")
        case "escrow_purchase":
            let price = amount("price"), what = "listing \(data["listing_id"]?.intValue ?? 0) (\(text("artifact_id") ?? "?"))"
            if text("buyer") == me { line(seq, time, type, "scrip", -price, counterparty: text("seller"), note: "bought \(what)") }
            if text("seller") == me { line(seq, time, type, "scrip", price, counterparty: text("buyer"), note: "sold \(what)") }
        case "debt_issued":
            bytesMoved(seq, time, type, data)  // funded: the claim's bytes pass to its holder
            let n = amount("amount"), debt = text("debt_id") ?? "?"
            if text("creditor") == me { line(seq, time, type, "scrip", -n, counterparty: text("debtor"), note: "lent on \(debt)") }
            if text("debtor") == me { line(seq, time, type, "scrip", n, counterparty: text("creditor"), note: "borrowed on \(debt)") }
        case "debt_repaid":
            let n = amount("amount"), debt = text("debt_id") ?? "?", holder = text("holder")
            guard holder != principal else { return }  // a holder repaying itself moves nothing
            if principal == me { line(seq, time, type, "scrip", -n, counterparty: holder, note: "repaid \(debt)") }
            if holder == me { line(seq, time, type, "scrip", n, counterparty: principal, note: "repayment of \(debt)") }
        case "mint_bid":
            guard principal == me else { return }
            line(seq, time, type, "scrip", amount("replaced"), counterparty: MintService.id, note: "earlier bid refunded")
            line(seq, time, type, "scrip", -amount("amount"), counterparty: MintService.id,
                 note: "bid held for \(text("artifact_id") ?? "?")")
        case "mint_withdraw":
            guard principal == me else { return }
            line(seq, time, type, "scrip", amount("refunded"), counterparty: MintService.id, note: "bid withdrawn")
        case "mint_resolved":
            let round = data["round"]?.intValue ?? 0
            for w in data["winners"]?.arrayValue ?? [] {
                let artifact = w["artifact_id"]?.stringValue ?? "?"
                if w["bidder"]?.stringValue == me {
                    let refund = max(0, (w["bid"]?.intValue ?? 0).saturatingSubtract(w["paid"]?.intValue ?? 0))
                    line(seq, time, type, "scrip", refund, counterparty: MintService.id, note: "round \(round): won \(artifact), rest of the bid refunded")
                }
                if w["owner"]?.stringValue == me {
                    line(seq, time, type, "scrip", max(0, w["minted"]?.intValue ?? 0), counterparty: MintService.id,
                         note: "round \(round): minted for \(artifact)")
                }
            }
            for l in data["losers"]?.arrayValue ?? [] where l["bidder"]?.stringValue == me {
                line(seq, time, type, "scrip", max(0, l["refunded"]?.intValue ?? 0), counterparty: MintService.id,
                     note: "round \(round): bid lost, refunded")
            }
            if let share = data["ubi_shares"]?[me]?.intValue {
                line(seq, time, type, "scrip", max(0, share), counterparty: MintService.id, note: "round \(round): UBI")
            }
        case "llm_call":
            guard principal == me else { return }
            line(seq, time, type, "llm_microdollars", -amount("charged_microdollars"), note: text("model").map { "LLM call (\($0))" } ?? "LLM call")
        default:
            return
        }
    }

    /// Stored bytes that changed billing principal with an ownership, listing or debt change
    /// (`bytes, bytes_from, bytes_to`, recorded by `Kernel.recharge`'s callers).
    private mutating func bytesMoved(_ seq: Int64, _ time: Int64, _ type: String, _ data: JSONValue) {
        let bytes = max(0, data["bytes"]?.intValue ?? 0), artifact = data["artifact_id"]?.stringValue ?? data["debt_id"]?.stringValue ?? "?"
        let from = data["bytes_from"]?.stringValue, to = data["bytes_to"]?.stringValue
        if from == agent { line(seq, time, type, "disk_bytes", -bytes, counterparty: to, note: "bytes of \(artifact) now charged to \(to ?? "?")") }
        if to == agent { line(seq, time, type, "disk_bytes", bytes, counterparty: from, note: "bytes of \(artifact) now charged here") }
    }
}
