import ArgumentParser
import EcologyCore
import EcologyKernel
import Foundation

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Look at the world without changing it.",
        subcommands: [Balances.self, Artifacts.self, Events.self, Agents.self, Traces.self, Mint.self, Escrow.self, Invariants.self,
                      KPIs.self])

    struct Balances: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Balances of every principal (llm_budget in dollars).")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let rows = try global.openWorld().balances()
            if global.json { Output.json(.array(rows)); return }
            Output.table(["id", "scrip", "compute", "llm_budget", "disk_used", "disk_quota", "frozen"], rows.map { r in
                [r["id"]!.stringValue!, "\(r["scrip"]!.intValue!)", "\(r["compute"]!.intValue!)",
                 String(format: "$%.4f", r["llm_budget"]!.doubleValue!), "\(r["disk_used"]!.intValue!)",
                 "\(r["disk_quota"]!.intValue! > 1 << 50 ? "-" : "\(r["disk_quota"]!.intValue!)")", r["frozen"]!.boolValue! ? "yes" : ""]
            })
        }
    }

    struct Artifacts: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Artifacts (tombstones with --include-deleted).")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Include tombstones.") var includeDeleted = false
        func run() throws {
            let rows = try global.openWorld().artifacts(includeDeleted: includeDeleted)
            if global.json { Output.json(.array(rows)); return }
            Output.table(["id", "kind", "owner", "contract", "size", "version", "price", "deleted"], rows.map { r in
                [r["id"]!.stringValue!, r["kind"]!.stringValue!, r["owner_id"]!.stringValue!, r["access_contract_id"]!.stringValue!,
                 "\(r["size_bytes"]!.intValue!)", "\(r["version"]!.intValue!)", "\(r["price"]!.intValue!)", r["deleted_at"]!.isNull ? "" : "yes"]
            })
        }
    }

    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The most recent events, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "How many events.") var limit: Int = 50
        @Option(help: "Only events of this type.") var type: String?
        func validate() throws { if limit < 1 || limit > 1_000_000 { throw ValidationError("--limit must be 1-1000000") } }
        func run() throws {
            let events = try global.openWorld().recentEvents(limit: limit, type: type)
            if global.json { Output.json(.array(events.map(\.json))); return }
            let f = DateFormatter(); f.dateFormat = "HH:mm:ss.SSS"
            Output.table(["seq", "time", "type", "principal", "data"], events.map { e in
                ["\(e.seq)", f.string(from: Date(timeIntervalSince1970: Double(e.timeMicros) / 1e6)), e.type, e.principal ?? "",
                 String(JSONCodec.string(e.data).prefix(100))]
            })
        }
    }

    struct Agents: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Agents with their supervision state.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let rows = try global.openWorld().agents()
            if global.json { Output.json(.array(rows)); return }
            Output.table(["id", "mind", "status", "restarts", "actions", "scrip", "compute", "frozen"], rows.map { r in
                [r["id"]!.stringValue!, r["mind"]?.stringValue ?? "?", r["status"]!.stringValue!, "\(r["restarts"]!.intValue!)",
                 "\(r["actions"]!.intValue!)", "\(r["scrip"]!.intValue!)", "\(r["compute"]!.intValue!)", r["frozen"]!.boolValue! ? "yes" : ""]
            })
        }
    }

    struct Traces: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An agent's trace: its decisions and LLM calls, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Agent ID.") var agent: String
        @Option(help: "How many entries.") var limit: Int = 50
        func run() throws {
            let rows = try global.openWorld().traces(agent: agent, limit: max(1, min(limit, 100_000)))
            if global.json { Output.json(.array(rows)); return }
            for r in rows {
                print("\(r["seq"]!.intValue!)  \(r["kind"]!.stringValue!)  \(JSONCodec.string(r["data"] ?? .null).prefix(160))")
            }
        }
    }

    struct Mint: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Next resolution, active bids, last round.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let status = try global.openWorld().mintStatus()
            if global.json { Output.json(status) } else { print(Output.pretty(status)) }
        }
    }

    struct Escrow: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Escrow listings (active only unless --all).")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Include sold and cancelled listings.") var all = false
        func run() throws {
            let rows = try global.openWorld().escrowListings(activeOnly: !all)
            if global.json { Output.json(.array(rows)); return }
            Output.table(["listing", "artifact", "seller", "price", "status", "buyer"], rows.map { r in
                ["\(r["listing_id"]!.intValue!)", r["artifact_id"]!.stringValue!, r["seller"]!.stringValue!, "\(r["price"]!.intValue!)",
                 r["status"]!.stringValue!, r["buyer"]?.stringValue ?? ""]
            })
        }
    }

    struct Invariants: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every ledger invariant; exits non-zero if any fails.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let report = try global.openWorld().checkInvariants()
            if global.json { Output.json(report.json) } else {
                for v in report.violations { print("FAIL  \(v)") }
                for n in report.notes { print("note  \(n)") }
                let f = report.figures
                print("\(report.ok ? "ok" : "FAILED"): initial \(f["initial_scrip"] ?? 0) + minted \(f["minted_scrip"] ?? 0) = total \(f["total_scrip"] ?? 0) scrip (held bids \(f["held_bids"] ?? 0)) across \(f["principals"] ?? 0) principals")
            }
            if !report.ok { throw ExitCode(1) }
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export the world.", subcommands: [Events.self])

    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The whole event log, one JSON object per line.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "JSON Lines output (the only format).") var jsonl = false
        func run() throws {
            guard jsonl else { throw CLIError("say --jsonl (the only export format)") }
            let kernel = try global.openWorld()
            var out = ""
            try kernel.forEachEvent { e in
                out += JSONCodec.string(e.json); out += "\n"
                if out.utf8.count > 1 << 20 { FileHandle.standardOutput.write(Data(out.utf8)); out = "" }
            }
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }
}
