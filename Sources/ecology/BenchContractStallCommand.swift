import ArgumentParser
import EcologyBenchmarks
import EcologyCore
import Foundation

extension BenchCommand {
    /// `ecology bench contract-stall`: how long another principal's transfer takes while an
    /// artifact guarded by a slow custom contract is read, against the same transfer alone.
    /// A contract that ran inside the reader's write transaction stalled every writer of the
    /// world for up to its run (docs/KERNEL.md, "Decide, then apply").
    struct ContractStall: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "contract-stall",
            abstract: "Transfer latency alone and while another principal reads an artifact guarded by a slow contract (real sandbox); runs interleaved.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Interleaved runs (each: transfers alone, then transfers during reads).") var runs = 3
        @Option(help: "Transfers measured per run and mode.") var transfers = 10
        @Option(help: "Seconds the contract takes to answer.") var contractSeconds = 0.8
        func validate() throws {
            if runs < 1 || runs > 1000 { throw ValidationError("--runs must be 1-1000") }
            if transfers < 1 || transfers > 100_000 { throw ValidationError("--transfers must be 1-100000") }
            if !(contractSeconds > 0 && contractSeconds <= 10) { throw ValidationError("--contract-seconds must be a number > 0 and ≤ 10") }
        }

        func run() throws {
            let config = try global.loadConfig()
            let figures = try BenchCommand.withTempDirectory { dir in
                try ContractStallBenchmark.run(directory: dir, runs: runs, transfers: transfers, contractSeconds: contractSeconds,
                                               config: config, progress: BenchCommand.progress("contract-stall"))
            }
            if global.json { Output.json(figures) } else { print(Output.pretty(figures)) }
        }
    }
}

