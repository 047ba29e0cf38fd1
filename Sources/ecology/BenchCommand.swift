import ArgumentParser
import EcologyBenchmarks
import EcologyCore
import EcologyKernel
import EcologySupervisor
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks; each prints one JSON object of figures with --json.",
        subcommands: [Ledger.self, Invoke.self, Agents.self, Soak.self, ContractStall.self])

    struct Ledger: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Durable kernel transfers/s vs raw SQLite inserts/s, and search latency over 100,000 artifacts.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Number of transfers.") var transfers = 50_000
        @Option(help: "Number of artifacts for the search benchmark.") var searchArtifacts = 100_000
        func validate() throws {
            // Negative counts would make empty-range loops trap; huge ones only take long.
            if transfers < 1 { throw ValidationError("--transfers must be at least 1") }
            if searchArtifacts < 1 { throw ValidationError("--search-artifacts must be at least 1") }
        }

        func run() throws {
            let figures = try BenchCommand.withTempDirectory { dir in
                var o = LedgerBenchmark.Options(directory: dir)
                o.transfers = transfers; o.rawInserts = transfers; o.searchArtifacts = searchArtifacts
                return try LedgerBenchmark.run(o, progress: BenchCommand.progress("ledger"))
            }
            if global.json { Output.json(figures) } else { print(Output.pretty(figures)) }
        }
    }
}

extension BenchCommand {
    static func withTempDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try body(dir)
    }

    static func progress(_ name: String) -> (String) -> Void {
        { msg in FileHandle.standardError.write(Data("bench \(name): \(msg)\n".utf8)) }
    }

    struct Invoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invoke a trivial Python tool through the whole path: p50/p99 latency, invocations/s, python3 -c pass baseline, RSS before/after.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Invokes measured for latency and throughput.") var iterations = 1000
        @Option(help: "Further invokes to check that supervisor memory stays flat.") var memoryIterations = 10_000
        func validate() throws {
            if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
            if memoryIterations < 0 { throw ValidationError("--memory-iterations must be at least 0") }
        }
        func run() throws {
            let config = try global.loadConfig()
            let figures = try BenchCommand.withTempDirectory { dir in
                try SupervisorBenchmarks.invoke(directory: dir, iterations: iterations, memoryIterations: memoryIterations,
                                                config: config, progress: BenchCommand.progress("invoke"))
            }
            if global.json { Output.json(figures) } else { print(Output.pretty(figures)) }
        }
    }

    struct Agents: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "N heuristic agents for a while: actions/s, cheap-call latency under load, supervisor and agent RSS.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Number of agents.") var agents = 200
        @Option(help: "Seconds to run.") var seconds: Double = 60
        func validate() throws {
            if agents < 1 { throw ValidationError("--agents must be at least 1") }
            if !(seconds > 0 && seconds <= Double(CheckedNumber.maxDurationSeconds)) {
                throw ValidationError("--seconds must be a number > 0 and ≤ \(CheckedNumber.maxDurationSeconds)")
            }
        }
        func run() throws {
            let config = try global.loadConfig()
            let figures = try BenchCommand.withTempDirectory { dir in
                try SupervisorBenchmarks.agents(directory: dir, agents: agents, seconds: seconds, config: config,
                                                progress: BenchCommand.progress("agents"))
            }
            if global.json { Output.json(figures) } else { print(Output.pretty(figures)) }
        }
    }

    struct Soak: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "K heuristic agents for N minutes: per minute RSS, fds, threads, WAL and DB size, action latency; slopes per hour.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Minutes to run (one sample per minute).") var minutes = 30
        @Option(help: "Number of heuristic agents.") var agents = 50
        func validate() throws {
            if minutes < 1 || minutes > 100_000 { throw ValidationError("--minutes must be 1-100000") }
            if agents < 1 || agents > 10_000 { throw ValidationError("--agents must be 1-10000") }
        }
        func run() throws {
            let config = try global.loadConfig()
            let figures = try BenchCommand.withTempDirectory { dir in
                try SoakBenchmark.run(directory: dir, agents: agents, minutes: minutes, config: config,
                                      progress: BenchCommand.progress("soak"))
            }
            if global.json { Output.json(figures) } else { print(Output.pretty(figures)) }
        }
    }
}
