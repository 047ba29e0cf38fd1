import ArgumentParser
import EcologyCore
import EcologyKernel
import Foundation

extension InspectCommand {
    /// `ecology inspect statement AGENT`: every movement on one account (docs/KPIS.md).
    struct Statement: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "statement",
            abstract: "An agent's statement: every movement of scrip, compute, LLM dollars and disk with the event that caused it.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Agent (or any principal) ID.") var agent: String
        @Option(help: "Show only the most recent N lines (totals still cover every line).") var limit: Int?

        func validate() throws {
            if let limit, limit < 1 || limit > 10_000_000 { throw ValidationError("--limit must be 1-10000000, got \(limit)") }
        }

        func run() throws {
            let statement = try global.openWorld().statement(of: agent, limit: limit)
            if global.json { Output.json(statement.json); return }
            let f = DateFormatter(); f.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"; f.timeZone = TimeZone(identifier: "UTC")
            if statement.lines.count < statement.lineCount {
                print("(the last \(statement.lines.count) of \(statement.lineCount) lines)")
            }
            Output.table(["seq", "time (UTC)", "event", "resource", "delta", "balance", "counterparty", "note"], statement.lines.map { l in
                [l.seq == 0 ? "-" : "\(l.seq)", f.string(from: Date(timeIntervalSince1970: l.time)), l.event, l.resource,
                 l.delta > 0 ? "+\(l.delta)" : "\(l.delta)", "\(l.balance)", l.counterparty ?? "", String((l.note ?? "").prefix(100))]
            })
            print("")
            Output.table(["resource", "lines sum", "balance", ""], AgentStatement.resources.map { r in
                let total = statement.totals[r] ?? 0, balance = statement.balances[r] ?? 0
                return [r, "\(total)", "\(balance)", total == balance ? "ok" : "MISMATCH"]
            })
            if !statement.balanced { throw ExitCode(1) }
        }
    }
}
