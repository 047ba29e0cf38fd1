import ArgumentParser
import EcologyCore
import EcologyKernel
import Foundation

/// What `ecology run` prints when it stops: this run first (its duration, actions,
/// agents spawned, mint rounds, where new scrip came from, each agent's change, the KPIs over the run's duration), then
/// the world as a whole (all runs since it was created), then the invariants. Every
/// column is defined under its table; `--json` gives the same figures under `run` and
/// `world`.
struct RunSummary {
    let kernel: Kernel
    let start: RunStart
    let seconds: Double
    /// Every call the agents made this run (kernel actions, sleeps, LLM calls).
    let supervisorActions: Int64
    /// The mint round that was due when the supervisor stopped, resolved after it.
    let resolvedAtStop: JSONValue?

    func print(json: Bool) throws {
        let agents = try kernel.agents()
        let report = try kernel.checkInvariants()
        let runEvents = try kernel.eventCounts(afterSeq: start.seq)
        let worldEvents = try kernel.eventCounts()
        let mint = try kernel.mintRoundTotals(afterRound: start.round)
        let spawned = try kernel.agentsCreated(afterSeq: start.seq).ids
        let supply = try kernel.totalScrip()
        // The KPIs of this run: the window is its duration (docs/KPIS.md). A run too short
        // for a window (0 s) has none rather than no summary.
        let kpis = try? kernel.kpis(window: min(max(seconds, 0.001), KPIReport.maxWindowSeconds))
        let threats = try kernel.threats()
        var rows: [AgentRow] = []
        for a in agents {
            guard let id = a["id"]?.stringValue else { continue }
            let before = start.agents[id]
            let scrip = a["scrip"]?.intValue ?? 0, actions = a["actions"]?.intValue ?? 0
            rows.append(AgentRow(id: id, mind: a["mind"]?.stringValue ?? "?", status: a["status"]?.stringValue ?? "?", scrip: scrip,
                                 change: scrip.saturatingSubtract(before?.scrip ?? 0), awarded: mint.awardedTo[id] ?? 0,
                                 compute: a["compute"]?.intValue ?? 0, artifacts: try kernel.artifactCount(owner: id),
                                 actions: actions.saturatingSubtract(before?.actions ?? 0), totalActions: actions, isNew: before == nil))
        }
        let worldActions = rows.reduce(Int64(0)) { $0.saturatingAdd($1.totalActions) }
        let f = report.figures
        if json {
            Output.json(.object([
                "seconds": .number(seconds), "actions": .int(supervisorActions),
                "run": .object([
                    "seconds": .number(seconds), "actions": .int(supervisorActions),
                    "agents_at_start": .int(Int64(start.agents.count)), "agents_spawned": .array(spawned.map(JSONValue.string)),
                    "events": .object(runEvents.mapValues(JSONValue.int)),
                    "scrip_supply_at_start": .int(start.supply), "scrip_supply": .int(supply),
                    "mint": .object(["rounds": .int(mint.rounds), "awarded": .int(mint.awarded), "ubi_floor": .int(mint.ubiFloor),
                                     "ubi_from_payments": .int(mint.ubiFromPayments), "burned": .int(mint.burned), "minted": .int(mint.minted),
                                     "resolved_at_stop": resolvedAtStop?["round"] ?? .null]),
                    "kpis": kpis?.json ?? .null, "kpis_window": kpis?.windowJSON ?? .null,
                ]),
                "world": .object([
                    "agents": .int(Int64(rows.count)), "actions": .int(worldActions), "events": .object(worldEvents.mapValues(JSONValue.int)),
                    "initial_scrip": .int(f["initial_scrip"] ?? 0), "minted_scrip": .int(f["minted_scrip"] ?? 0), "scrip_supply": .int(supply),
                ]),
                "agents": .array(zip(agents, rows).map { a, r in
                    var o = a.objectValue ?? [:]
                    o["artifacts"] = .int(r.artifacts); o["scrip_change"] = .int(r.change); o["awarded"] = .int(r.awarded)
                    o["actions_this_run"] = .int(r.actions); o["new_this_run"] = .bool(r.isNew)
                    return .object(o)
                }),
                "threats": .array(threats.map(\.json)),
                "invariants": report.json,
            ]))
            if !report.ok { throw ExitCode(1) }
            return
        }
        let rate = seconds > 0 ? Double(supervisorActions) / seconds : 0
        Swift.print("This run: \(String(format: "%.1f", seconds)) s, \(supervisorActions) actions (\(String(format: "%.1f", rate))/s), "
                    + "\(start.agents.count) agents at the start" + (spawned.isEmpty ? "" : ", \(spawned.count) spawned (\(Self.list(spawned)))")
                    + ", \(mint.rounds) mint round\(mint.rounds == 1 ? "" : "s")" + (resolvedAtStop.map { r in " (round \(r["round"]?.intValue ?? 0) was due at the stop and resolved then)" } ?? ""))
        var scrip = "  scrip supply \(start.supply) → \(supply): \(Self.signed(mint.minted)) minted by the mint (awards \(mint.awarded), UBI floor \(mint.ubiFloor)"
        if mint.burned > 0 { scrip += ", minus \(mint.burned) burned" }
        scrip += "); \(mint.ubiFromPayments) of winners' payments shared as UBI (moved, not created)"
        Swift.print(scrip)
        Output.table(["agent", "mind", "status", "scrip", "change", "awarded", "compute", "artifacts", "actions"], rows.map { r in
            [r.id + (r.isNew ? " (new)" : ""), r.mind, r.status, "\(r.scrip)", Self.signed(r.change), "\(r.awarded)", "\(r.compute)", "\(r.artifacts)", "\(r.actions)"]
        })
        Swift.print("""
              scrip, compute (CPU-ms), artifacts (live ones it owns): now. change: scrip now minus at the start of this run
              (a new agent started at 0). awarded: new scrip the mint created for its winning artifacts this run.
              actions: its calls this run (kernel actions, sleeps, LLM calls).
            """)
        Swift.print("events this run: " + Self.counts(runEvents))
        if let kpis { Self.printKPIs(kpis) }
        try RunCommand.printThreats(kernel)
        let worldEventTotal = worldEvents.values.reduce(Int64(0)) { $0.saturatingAdd($1) }
        Swift.print("World (every run since it was created): \(rows.count) agents, \(worldActions) actions by them, \(worldEventTotal) events kept, "
                    + "scrip supply \(supply) = initial \(f["initial_scrip"] ?? 0) + minted \(f["minted_scrip"] ?? 0)")
        Swift.print("invariants: \(report.ok ? "ok" : "FAILED: " + report.violations.joined(separator: "; "))")
        if !report.ok { throw ExitCode(1) }
    }

    private struct AgentRow {
        let id: String, mind: String, status: String
        let scrip: Int64, change: Int64, awarded: Int64, compute: Int64, artifacts: Int64, actions: Int64, totalActions: Int64
        let isNew: Bool
    }

    /// The KPIs in rows of three, `key value`, under the length of world time they cover.
    private static func printKPIs(_ report: KPIReport) {
        Swift.print("KPIs of this run (the last \(String(format: "%.1f", report.durationSeconds)) s of world time; definitions: docs/KPIS.md):")
        let values = report.json.objectValue ?? [:]
        let cells = KPIReport.keys.map { key -> String in
            switch values[key] {
            case .int(let i)?: return "\(key) \(i)"
            case .number(let d)?: return "\(key) " + String(format: "%.4f", d)
            default: return "\(key) ?"
            }
        }
        let width = (cells.map(\.count).max() ?? 0) + 3
        for row in stride(from: 0, to: cells.count, by: 3) {
            Swift.print("  " + cells[row..<min(row + 3, cells.count)].map { $0.padding(toLength: width, withPad: " ", startingAt: 0) }.joined()
                .trimmingCharacters(in: .whitespaces))
        }
    }

    private static func signed(_ n: Int64) -> String { n > 0 ? "+\(n)" : "\(n)" }

    private static func counts(_ c: [String: Int64]) -> String {
        c.isEmpty ? "none" : c.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    private static func list(_ ids: [String]) -> String {
        ids.count <= 6 ? ids.joined(separator: ", ") : ids.prefix(5).joined(separator: ", ") + ", … \(ids.count - 5) more"
    }
}
