import EcologyCore
import EcologyKernel
import EcologySupervisor
import Foundation

/// Where the world stood when this run began: what the status line and the summary
/// count "this run" from, so that neither mixes this run with the world's past.
struct RunStart {
    /// The last event before the run.
    let seq: Int64
    /// The last mint round before the run.
    let round: Int64
    let supply: Int64
    /// Each agent's scrip and action count at the start.
    let agents: [String: (scrip: Int64, actions: Int64)]
    /// One line per kind of agent the supervisor will not start: paused, parked.
    let heldBack: [String]

    init(kernel: Kernel, resumeHint: (String) -> String) throws {
        seq = try kernel.lastEventSeq()
        round = try kernel.lastMintRound()
        supply = try kernel.totalScrip()
        let rows = try kernel.agents()
        var agents: [String: (scrip: Int64, actions: Int64)] = [:]
        var paused: [String] = [], parked: [String] = []
        for r in rows {
            guard let id = r["id"]?.stringValue else { continue }
            agents[id] = (r["scrip"]?.intValue ?? 0, r["actions"]?.intValue ?? 0)
            if r["paused"]?.boolValue == true { paused.append(id) }
            if r["parked"]?.boolValue == true { parked.append(id) }
        }
        self.agents = agents
        var lines: [String] = []
        if let first = paused.first {
            lines.append("paused (not started until resumed): \(paused.joined(separator: ", ")); resume with `\(resumeHint("agent resume \(first)"))`")
        }
        if let first = parked.first {
            lines.append("parked (crashed past the restart intensity; not started): \(parked.joined(separator: ", ")); clear with `\(resumeHint("agent unpark \(first)"))`")
        }
        heldBack = lines
    }
}

/// The live status line of `ecology run`, about once a second on stderr. Its words:
/// acting (agents that made a kernel action since the last line), waiting (running
/// agents that did not: most are in a short pacing sleep or sleeping on an event),
/// spawned (agents created this run), and where the scrip supply's growth this run
/// came from (the mint's awards and the UBI floor: the only sources of new scrip).
struct RunProgress {
    let start: RunStart
    private(set) var mint = MintRoundTotals()
    private(set) var spawned: [String] = []
    private var cursor: Int64
    private var acted = 0

    init(start: RunStart) {
        self.start = start
        cursor = start.seq
        mint.lastRound = start.round
    }

    /// Reads what is new since the last update (only new rounds and new events).
    mutating func update(kernel: Kernel, acted actors: Set<String>) {
        if let more = try? kernel.mintRoundTotals(afterRound: mint.lastRound) { mint.add(more) }
        if let (ids, through) = try? kernel.agentsCreated(afterSeq: cursor) { spawned += ids; cursor = through }
        acted = actors.count
    }

    func statusLine(_ s: Supervisor.Status, elapsed: Double) -> String {
        let alive = s.running + s.sleeping
        let acting = min(acted, alive)
        var agents = "\(s.agents) agents"
        if !spawned.isEmpty { agents += " (+\(spawned.count) spawned)" }
        agents += ": \(acting) acting, \(alive - acting) waiting"
        for (n, word) in [(s.frozen, "frozen"), (s.parked, "parked"), (s.paused, "paused")] where n > 0 { agents += ", \(n) \(word)" }
        let growth = s.scripSupply.saturatingSubtract(start.supply)
        var scrip = "scrip \(s.scripSupply) (\(growth >= 0 ? "+" : "")\(growth): mint awards \(mint.awarded), UBI floor \(mint.ubiFloor)"
        if mint.burned > 0 { scrip += ", burned \(mint.burned)" }
        scrip += ")"
        let next = max(0, s.nextMintResolution - Date().timeIntervalSince1970)
        return String(format: "%5.0fs  ", elapsed) + agents + String(format: " | %.1f actions/s | ", s.actionsPerSecond) + scrip
            + String(format: " | LLM $%.4f | mint: ", s.llmDollars) + "\(mint.rounds) round\(mint.rounds == 1 ? "" : "s"), next in \(CheckedNumber.clamped(next.rounded()))s"
    }
}
