import ArgumentParser
import EcologyCore
import EcologyKernel

extension InspectCommand {
    struct Threats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each adversary's attempts, containment codes and net gain (docs/MINDS.md).",
            discussion: "Counts are written by the running supervisor every few seconds and at stop. --json: a list of {adversary, kind, attempts, codes, net_gain}.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let threats = try global.openWorld().threats()
            if global.json { Output.json(.array(threats.map(\.json))); return }
            if threats.isEmpty { print("no adversaries in this world (mind adversary:KIND; ecology run --scenario redteam)"); return }
            Output.table(["adversary", "kind", "attempts", "codes", "scrip", "compute_ms", "disk_bytes", "llm_µ$"], threats.map { t in
                [t.adversary, t.kind, "\(t.attempts)", Self.describe(t.codes), "\(t.netGain.scrip)", "\(t.netGain.computeMs)",
                 "\(t.netGain.diskBytes)", "\(t.netGain.llmMicrodollars)"]
            })
            for finding in threats.compactMap(\.finding) { print(finding) }
        }

        /// "CODE n, CODE n", most frequent first.
        static func describe(_ codes: [String: Int64]) -> String {
            codes.isEmpty ? "-" : codes.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
    }
}
