import ArgumentParser
import EcologyConfig
import EcologyCore
import EcologyKernel
import EcologyLLM
import EcologyObservatory
import EcologySandbox
import EcologySupervisor
import Foundation

extension AgentMind: ExpressibleByArgument {}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the world: init if needed, supervise the agents, show progress, print a summary.",
        discussion: "Resumes an existing world. SIGINT/SIGTERM stop it cleanly; kill -9 loses no committed action.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Seconds to run (default: until interrupted).") var duration: Double?
    @Option(help: "Number of agents (more than the configured ones get generated names).") var agents: Int?
    @Option(help: "Mind for configured agents: heuristic or llm.") var mind: AgentMind?
    @Option(help: "Seed for the heuristic minds.") var seed: UInt64 = 1
    @Flag(help: "No live status line.") var quiet = false
    @Option(help: "Record LLM responses to this cassette file.") var recordLlm: String?
    @Option(help: "Replay LLM responses from this cassette file (no network).") var replayLlm: String?
    @Option(help: "Dashboard and /metrics address, ADDR:PORT, or off (default 127.0.0.1:8787; another free port if that one is busy).") var http: String?

    func validate() throws {
        // At most 100 years, like every configured duration: the value is shown as whole seconds and compared with elapsed time.
        if let duration, !(duration > 0 && duration <= Double(CheckedNumber.maxDurationSeconds)) {
            throw ValidationError("--duration must be a number of seconds > 0 and ≤ \(CheckedNumber.maxDurationSeconds)")
        }
        if let agents, agents < 1 { throw ValidationError("--agents must be at least 1") }
        if recordLlm != nil && replayLlm != nil { throw ValidationError("give --record-llm or --replay-llm, not both") }
        do { _ = try http.map(ObservatoryAddress.parse) } catch let e as ObservatoryAddressError { throw ValidationError(e.description) }
    }

    func run() throws {
        var config = try global.loadConfig()
        if let agents { do { config = try config.withAgents(count: agents) } catch { throw CLIError("\(error)") } }
        if let mind { config = config.withMind(mind) }
        do { try config.validate() } catch { throw CLIError("\(error)") }

        let lock = try SupervisorLock(dataDir: global.dataDir)
        defer { lock.release() }
        let executor: SandboxedExecutor
        do { executor = try SandboxedExecutor(config: config) } catch {
            throw CLIError("the sandbox cannot start on this host: \(error) (see `ecology doctor`)")
        }
        defer { executor.shutdown() }
        let llmScorer = config.mint.scorer == "llm" ? GatewayMintScorer() : nil
        let kernel = try global.openWorld(config: config, executor: executor, scorer: llmScorer, requireInit: false)
        let created = try kernel.bootstrap(agents: agents == nil ? nil : config.agents)
        let usesLLM = config.agents.contains { $0.mind == "llm" } || config.mint.scorer == "llm"
        var gateway: LLMGateway?
        if usesLLM {
            var mode = LLMProviderMode.live
            if let recordLlm { mode = .record(cassette: URL(fileURLWithPath: recordLlm)) }
            if let replayLlm { mode = .replay(cassette: URL(fileURLWithPath: replayLlm)) }
            do { gateway = try Supervisor.makeGateway(kernel: kernel, mode: mode) } catch { throw CLIError("LLM gateway: \(error)") }
            if let gateway { llmScorer?.bind(gateway) }
        }
        for w in executor.layers.warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
        var options = Supervisor.Options()
        options.seed = seed
        let supervisor = Supervisor(kernel: kernel, executor: executor, gateway: gateway, options: options)
        // The observatory (dashboard, /metrics, JSON API; docs/OBSERVATORY.md), stopped before the agents' executor.
        let address: ObservatoryAddress? = try http.map { try ObservatoryAddress.parse($0) } ?? .default
        let observatory = try address.map {
            try ObservatoryLaunch.start(kernel: kernel, dataDir: global.dataDir, address: $0, explicit: http != nil,
                                        live: SupervisorLiveStatus(supervisor: supervisor), control: true)
        }
        defer { observatory?.stop() }
        let stop = StopSignal()
        let started = Date()
        let live = !quiet && !global.json && isatty(STDERR_FILENO) == 1
        if !quiet && !global.json {
            let resumed = created.isEmpty ? "resuming the world at \(global.dataDir)" : "new world at \(global.dataDir) (agents \(created.joined(separator: ", ")))"
            FileHandle.standardError.write(Data("ecology: \(resumed); \(duration.map { "running \(CheckedNumber.clamped($0)) s" } ?? "running until interrupted")\n".utf8))
        }
        supervisor.run(shouldStop: { stop.requested || duration.map { Date().timeIntervalSince(started) >= $0 } ?? false }) { s in
            guard !quiet && !global.json else { return }
            let next = max(0, s.nextMintResolution - Date().timeIntervalSince1970)
            let line = String(format: "%5.0fs  agents %d running, %d sleeping, %d frozen, %d parked | %6.1f actions/s | scrip %d | LLM $%.4f | mint in %.0fs",
                              Date().timeIntervalSince(started), s.running, s.sleeping, s.frozen, s.parked, s.actionsPerSecond, s.scripSupply, s.llmDollars, next)
            FileHandle.standardError.write(Data((live ? "\r\u{1B}[K" + line : line + "\n").utf8))
        }
        if live { FileHandle.standardError.write(Data("\n".utf8)) }
        try printSummary(kernel: kernel, supervisor: supervisor, seconds: Date().timeIntervalSince(started))
    }

    private func printSummary(kernel: Kernel, supervisor: Supervisor, seconds: Double) throws {
        let agents = try kernel.agents()
        let report = try kernel.checkInvariants()
        let counts = try kernel.eventCounts()
        let earnings = try kernel.earnings()
        if global.json {
            Output.json(.object(["seconds": .number(seconds), "actions": .int(supervisor.status().actions),
                                 "agents": .array(agents.map { a in
                                     var o = a.objectValue ?? [:]
                                     o["earned"] = .int(earnings[a["id"]?.stringValue ?? ""] ?? 0)
                                     o["artifacts"] = .int((try? kernel.artifactCount(owner: a["id"]?.stringValue ?? "")) ?? 0)
                                     return .object(o)
                                 }),
                                 "events": .object(counts.mapValues(JSONValue.int)), "invariants": report.json]))
            return
        }
        print("ran \(String(format: "%.1f", seconds)) s, \(supervisor.status().actions) actions")
        Output.table(["agent", "mind", "status", "scrip", "compute", "artifacts", "actions", "earned"], try agents.map { a in
            let id = a["id"]!.stringValue!
            return [id, a["mind"]?.stringValue ?? "?", a["status"]!.stringValue!, "\(a["scrip"]!.intValue!)", "\(a["compute"]!.intValue!)",
                    "\(try kernel.artifactCount(owner: id))", "\(a["actions"]!.intValue!)", "\(earnings[id] ?? 0)"]
        })
        print("events: " + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        print("invariants: \(report.ok ? "ok" : "FAILED: " + report.violations.joined(separator: "; "))")
        if !report.ok { throw ExitCode(1) }
    }
}

/// Set by SIGINT/SIGTERM: the run loop sees it and stops the agents cleanly.
final class StopSignal: @unchecked Sendable {
    private let source1: DispatchSourceSignal
    private let source2: DispatchSourceSignal
    private let flag = Flag()

    final class Flag: @unchecked Sendable {
        private let lock = NSLock(); private var value = false
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
        func set() { lock.lock(); value = true; lock.unlock() }
    }

    init() {
        signal(SIGINT, SIG_IGN); signal(SIGTERM, SIG_IGN)
        source1 = DispatchSource.makeSignalSource(signal: SIGINT)
        source2 = DispatchSource.makeSignalSource(signal: SIGTERM)
        let f = flag
        source1.setEventHandler { f.set() }; source2.setEventHandler { f.set() }
        source1.resume(); source2.resume()
    }

    var requested: Bool { flag.isSet }
}

/// One supervisor per data directory: an exclusive flock held for the whole run
/// (released by the kernel if the process dies, even by kill -9).
struct SupervisorLock {
    let fd: Int32

    init(dataDir: String) throws {
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let path = (dataDir as NSString).appendingPathComponent("supervisor.lock")
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIError("cannot open \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(fd)
            throw CLIError("another `ecology run` (pid \(holder)) is supervising \(dataDir); stop it first")
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
    }

    func release() { flock(fd, LOCK_UN); close(fd) }
}
