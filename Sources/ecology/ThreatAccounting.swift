import EcologyKernel
import Foundation

/// The run's threat accounting: the supervisor-side tally of every action by caller and
/// code (`ActionOutcomeTally`), registered on the kernel built for the run and flushed at
/// stop, and the adversaries' lines of the run summary.
extension RunCommand {
    /// How often the tally's counts are written while the world runs.
    static let tallyFlushSeconds = 5.0

    static func startThreatAccounting(_ kernel: Kernel) -> ActionOutcomeTally {
        let tally = ActionOutcomeTally(kernel: kernel)
        kernel.addObserver(tally)
        tally.startFlushing(every: tallyFlushSeconds)
        return tally
    }

    static func stopThreatAccounting(_ tally: ActionOutcomeTally) throws {
        do { try tally.stop() } catch { throw CLIError("could not record the action tally: \(error)") }
    }

    /// Per adversary: attempts, codes, net gain; then every positive net gain as a finding.
    static func printThreats(_ kernel: Kernel) throws {
        let threats = try kernel.threats()
        guard !threats.isEmpty else { return }
        print("adversaries (net gain against an idle agent's baseline, docs/MINDS.md):")
        Output.table(["adversary", "kind", "attempts", "codes", "scrip", "compute_ms", "disk_bytes", "llm_µ$"], threats.map { t in
            [t.adversary, t.kind, "\(t.attempts)", InspectCommand.Threats.describe(t.codes), "\(t.netGain.scrip)", "\(t.netGain.computeMs)",
             "\(t.netGain.diskBytes)", "\(t.netGain.llmMicrodollars)"]
        })
        let findings = threats.compactMap(\.finding)
        print(findings.isEmpty ? "findings: none (no adversary gained)" : findings.joined(separator: "\n"))
    }
}
