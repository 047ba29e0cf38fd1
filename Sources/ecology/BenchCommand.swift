import ArgumentParser
import EcologyCore
import EcologyKernel
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks; each prints one JSON object of figures with --json.",
        subcommands: [Ledger.self])

    struct Ledger: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Durable kernel transfers/s vs raw SQLite inserts/s, and search latency over 100,000 artifacts.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Number of transfers.") var transfers = 50_000
        @Option(help: "Number of artifacts for the search benchmark.") var searchArtifacts = 100_000

        func run() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-bench-\(getpid())").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var o = LedgerBenchmark.Options(directory: dir)
            o.transfers = transfers; o.rawInserts = transfers; o.searchArtifacts = searchArtifacts
            let figures = try LedgerBenchmark.run(o) { msg in
                FileHandle.standardError.write(Data("bench ledger: \(msg)\n".utf8))
            }
            if global.json { Output.json(figures) } else { print(Output.pretty(figures)) }
        }
    }
}
