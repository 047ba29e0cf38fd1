import ArgumentParser
import EcologyConfig
import EcologyCore
import EcologyKernel
import EcologyLLM
import EcologyObservatory
import EcologySandbox
import EcologySupervisor
import Foundation
import NIOConcurrencyHelpers

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
    @Option(help: "default, or redteam: the configured agents plus one of each adversary (docs/MINDS.md).") var scenario: Scenario = .default
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
        var overrides: [String] = []
        if let agents { do { config = try config.withAgents(count: agents) } catch { throw CLIError("\(error)") }; overrides.append("--agents \(agents)") }
        if let mind { config = config.withMind(mind); overrides.append("--mind \(mind.rawValue)") }
        config = scenario.apply(to: config)
        if scenario != .default { overrides.append("--scenario \(scenario.rawValue)") }
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
        let tally = Self.startThreatAccounting(kernel)
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
        let activity = RunActivity()
        kernel.addObserver(activity)
        let start = try RunStart(kernel: kernel, resumeHint: global.command)
        // The observatory (dashboard, /metrics, JSON API; docs/OBSERVATORY.md), stopped before the agents' executor.
        let address: ObservatoryAddress? = try http.map { try ObservatoryAddress.parse($0) } ?? .default
        let observatory = try address.map {
            try ObservatoryLaunch.start(kernel: kernel, dataDir: global.dataDir, address: $0, explicit: http != nil,
                                        live: SupervisorLiveStatus(supervisor: supervisor), control: true)
        }
        defer { observatory?.stop() }
        let stop = StopSignal()
        let started = Date()
        let talk = !quiet && !global.json
        let live = talk && isatty(STDERR_FILENO) == 1
        if talk {
            let world = created.isEmpty ? "resuming the world at \(global.absoluteDataDir)"
                : "new world at \(global.absoluteDataDir) (agents \(created.joined(separator: ", ")))"
            Self.say("ecology \(EcologyVersion.current): \(world); \(duration.map { "running \(CheckedNumber.clamped($0)) s" } ?? "running until interrupted (Ctrl-C stops it cleanly)")")
            Self.say(global.configInUse(config, overrides: overrides))
            for line in start.heldBack { Self.say(line) }
        }
        var progress = RunProgress(start: start)
        supervisor.run(shouldStop: { stop.requested || duration.map { Date().timeIntervalSince(started) >= $0 } ?? false }) { s in
            guard talk else { return }
            progress.update(kernel: kernel, acted: activity.takeActors())
            let line = progress.statusLine(s, elapsed: Date().timeIntervalSince(started))
            // On a terminal the line is rewritten in place, which a wrapped line defeats: cut to the width.
            Self.say(live ? "\r\u{1B}[K" + String(line.prefix(max(20, (Self.terminalColumns() ?? 1000) - 1))) : line, newline: !live)
        }
        if live { Self.say("") }
        try Self.stopThreatAccounting(tally)
        // A round whose time came while the agents were stopping (or after the loop's last
        // check) is resolved now, not left for the next run.
        var dueAtStop: JSONValue?
        do { dueAtStop = try kernel.resolveDueMintRound() } catch { Self.say("warning: the mint round due at stop was not resolved: \(error)") }
        try RunSummary(kernel: kernel, start: start, seconds: Date().timeIntervalSince(started), supervisorActions: supervisor.status().actions,
                       resolvedAtStop: dueAtStop).print(json: global.json)
    }

    static func terminalColumns() -> Int? {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    static func say(_ text: String, newline: Bool = true) {
        FileHandle.standardError.write(Data((newline ? text + "\n" : text).utf8))
    }
}

/// Set by SIGINT/SIGTERM: the run loop sees it and stops the agents cleanly.
final class StopSignal: @unchecked Sendable {
    // Safe: every stored property is a `let` set in `init`. The two signal sources are
    // not Sendable (Dispatch does not mark them), but after `init` resumes them nothing
    // calls them again: they are only kept alive here. Their handlers touch only `flag`,
    // which is Sendable.
    private let source1: DispatchSourceSignal
    private let source2: DispatchSourceSignal
    private let flag = Flag()

    final class Flag: Sendable {
        private let value = NIOLockedValueBox(false)
        var isSet: Bool { value.withLockedValue { $0 } }
        func set() { value.withLockedValue { $0 = true } }
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
