import EcologyCore
import EcologyHost
import EcologyKernel
import EcologyLLM
import EcologySandbox
import Foundation
import Logging
import NIOCore

/// The supervisor: runs every funded agent as a sandboxed child, restarts crashed ones
/// with backoff (parking them past the restart intensity), freezes children of agents
/// in compute debt and thaws them on recovery, restarts agents whose artifact was
/// rewritten, wakes sleepers, charges agents' measured CPU, and resolves the mint on
/// schedule. The thread that calls `run` supervises; agents' sockets are served on the
/// shared event loops and their kernel calls on bounded pools (`SupervisorThreads`): the
/// supervisor's threads do not grow with its agents.
public final class Supervisor: @unchecked Sendable {
    // Safe: the `let`s are immutable and Sendable. `sessions`, `policies`, `restartAt`,
    // `stopping`, `actionCount` and `llmMicrodollars` are only read or written while `lock`
    // is held. `passes`, `lastSeq` and `ticks` belong to the supervision passes
    // (`superviseOnce` and its `wakeSleepers`), which run one at a time: `run`'s heartbeat
    // schedules a pass only once the previous one's future has completed (the event loop's
    // task queue orders the two), and tests call `superviseOnce` from one thread.
    public struct Options: Sendable {
        public var seed: UInt64 = 1
        /// Supervision tick: wake-ups, deadlines.
        public var tickSeconds: Double = 0.02
        /// The agent child's entry script, relative to `sandbox/` (tests substitute their own).
        public var agentEntry = "agent_main.py"
        public init() {}
    }

    /// A snapshot for the live status line and the summary.
    public struct Status: Sendable {
        public var running = 0, sleeping = 0, frozen = 0, parked = 0
        /// Live agent artifacts in the world, and those of them the operator paused.
        public var agents = 0, paused = 0
        public var actions: Int64 = 0
        public var actionsPerSecond: Double = 0
        public var scripSupply: Int64 = 0
        public var llmDollars: Double = 0
        public var nextMintResolution: Double = 0
    }

    public let kernel: Kernel
    public let executor: SandboxedExecutor
    public let gateway: LLMGateway?
    public let options: Options
    let logger = Logger(label: "ecology.supervisor")
    private let lock = NSLock()
    private var sessions: [String: AgentSession] = [:]
    private var policies: [String: RestartPolicy] = [:]
    /// When each crashed agent may start again, on the kernel's clock (seconds).
    private var restartAt: [String: Double] = [:]
    private var stopping = false
    private var actionCount: Int64 = 0
    private var llmMicrodollars: Int64 = 0
    private var lastSeq: Int64 = 0

    public init(kernel: Kernel, executor: SandboxedExecutor, gateway: LLMGateway?, options: Options = Options()) {
        self.kernel = kernel; self.executor = executor; self.gateway = gateway; self.options = options
    }

    /// Builds the gateway for `kernel`'s world: live provider, or record/replay of a cassette.
    public static func makeGateway(kernel: Kernel, mode: LLMProviderMode = .live) throws -> LLMGateway {
        let settings = kernel.config.llm
        let provider = try mode.makeProvider(settings: settings, clock: kernel.clock)
        return try LLMGateway(settings: settings, provider: provider, accounting: WorldLLMAccounting(kernel: kernel),
                              clock: kernel.clock, logger: Logger(label: "ecology.llm"))
    }

    /// Runs one supervision write (a lifecycle event, a trace, an agent's state, a CPU charge).
    /// A failure (disk full, the database busy past its timeout) must not end the session
    /// or the loop, but it is logged, never dropped silently.
    func recording(_ what: @autoclosure () -> String, _ write: () throws -> Void) {
        do { try write() } catch { logger.error("could not record \(what()): \(error)") }
    }

    func countAction() { lock.lock(); actionCount += 1; lock.unlock() }

    // MARK: - Running

    /// The state of the supervision passes. One pass runs at a time (the heartbeat in `run`
    /// schedules the next only once the previous has returned; tests call `superviseOnce`
    /// from one thread), so these fields, `lastSeq` and `ticks` need no lock.
    private struct Passes {
        var started = false
        var lastWindow = 0.0
        var lastActions: Int64 = 0
        var nextRetention = 0.0
        var nextHeapTrim = 0.0
    }

    /// How often the supervisor hands the allocator's free pages back (`HeapPolicy.trim`).
    static let heapTrimIntervalSeconds = 60.0
    private var passes = Passes()

    /// Runs until `shouldStop()` returns true, calling `onStatus` about once per window.
    /// The heartbeat is a repeated task on an event loop, every `Options.tickSeconds`; each
    /// pass (`superviseOnce`) runs on the kernel pool, because it reads and writes the world,
    /// and the next is scheduled only when it has returned. Every decision a pass takes
    /// (windows, deadlines, restart backoff, the mint schedule, retention) is on the kernel's
    /// `WorldClock`. The calling thread asks `shouldStop` and hands each pass's status to
    /// `onStatus` (both stay on it, as before), then stops every agent.
    public func run(shouldStop: () -> Bool, onStatus: (Status) -> Void = { _ in }) {
        let loop = SupervisorThreads.eventLoops.next()
        let pool = SupervisorThreads.kernelPool
        let statuses = StatusMailbox()
        let tick = TimeAmount.microseconds(max(1_000, CheckedNumber.micros(fromSeconds: options.tickSeconds)))
        let heartbeat = loop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: tick) { _ in
            pool.runIfActive(eventLoop: loop) { self.superviseOnce(onStatus: statuses.post) }
        }
        while !shouldStop() {
            for s in statuses.take(waitingAtMost: options.tickSeconds) { onStatus(s) }
        }
        let cancelled = loop.makePromise(of: Void.self)
        heartbeat.cancel(promise: cancelled)
        try? cancelled.futureResult.wait()
        stopAll()
    }

    /// One supervision pass at the kernel clock's now: wakes sleepers whose condition holds;
    /// once per metrics window also starts and restarts agents, charges CPU and freezes or
    /// thaws, resolves the mint when due, runs retention when due and, once a minute, hands
    /// the allocator's free pages back to the kernel (`HeapPolicy`).
    func superviseOnce(onStatus: (Status) -> Void = { _ in }) {
        let now = kernel.clock.nowSeconds
        if !passes.started {
            passes.started = true
            lastSeq = (try? kernel.lastEventSeq()) ?? 0
            passes.nextRetention = now + kernel.config.retention.intervalSeconds
        }
        wakeSleepers()
        guard now - passes.lastWindow >= kernel.config.supervisor.metricsWindowSeconds else { return }
        let window = passes.lastWindow == 0 ? 1 : now - passes.lastWindow
        passes.lastWindow = now
        superviseAgents(now: now)
        chargeAndFreeze()
        do { try kernel.resolveMintIfDue() } catch { logger.error("mint resolution failed: \(error)") }
        if now >= passes.nextRetention {
            // Bounded batches; while a backlog remains, again at the next window.
            var backlog = false
            do { backlog = try kernel.runRetention().backlog } catch { logger.error("retention pass failed: \(error)") }
            passes.nextRetention = now + (backlog ? 0 : kernel.config.retention.intervalSeconds)
        }
        if now >= passes.nextHeapTrim {
            passes.nextHeapTrim = now + Self.heapTrimIntervalSeconds
            HeapPolicy.trim()
        }
        var s = status()
        s.actionsPerSecond = Double(s.actions - passes.lastActions) / window
        passes.lastActions = s.actions
        onStatus(s)
    }

    public func status() -> Status {
        var s = Status()
        lock.lock()
        for session in sessions.values {
            switch session.status {
            case .running, .starting: s.running += 1
            case .sleeping: s.sleeping += 1
            case .frozen: s.frozen += 1
            default: break
            }
        }
        s.actions = actionCount
        s.llmDollars = Double(llmMicrodollars) / 1_000_000
        lock.unlock()
        let agents = (try? kernel.agents()) ?? []
        s.agents = agents.count
        s.parked = agents.filter { $0["parked"]?.boolValue == true }.count
        s.paused = agents.filter { $0["paused"]?.boolValue == true }.count
        s.scripSupply = (try? kernel.totalScrip()) ?? 0
        s.nextMintResolution = (try? kernel.mintStatus()["next_resolution"]?.doubleValue) ?? 0
        return s
    }

    /// Starts funded agents, restarts crashed ones when their backoff has passed, and
    /// restarts agents whose artifact was rewritten.
    private func superviseAgents(now: Double) {
        guard let agents = try? kernel.supervisedAgents() else { return }
        let live = Set(agents.map(\.id))
        lock.lock()
        let current = sessions
        lock.unlock()
        let paused = Set(agents.filter(\.paused).map(\.id))
        for (id, session) in current where !live.contains(id) || paused.contains(id) {
            session.requestStop(grace: kernel.config.supervisor.shutdownTimeoutSeconds)
        }
        for session in current.values { session.closeIfChildEnded() }
        for agent in agents {
            if agent.paused { continue }
            if let session = current[agent.id] {
                if session.configVersion != agent.version && session.status != .stopping {
                    // Rights trading: whoever may write the agent's artifact changes its mind; restart with the new config.
                    session.set(.stopping)
                    recording("agent_restarting of \(agent.id)") {
                        try kernel.recordEvent("agent_restarting", principal: agent.id, ["reason": "artifact rewritten", "version": .int(agent.version)])
                    }
                    session.requestStop(grace: kernel.config.supervisor.shutdownTimeoutSeconds)
                }
                continue
            }
            guard agent.funded, !agent.parked else { continue }
            lock.lock(); if policies[agent.id]?.recentCrashes ?? 0 > kernel.config.supervisor.restartIntensity { policies[agent.id] = nil }; lock.unlock()
            lock.lock(); let due = restartAt[agent.id].map { now >= $0 } ?? true; lock.unlock()
            if due { start(agent.id, config: agent.config, version: agent.version) }
        }
    }

    /// Nothing starts once `stopAll` has begun: `stopping` is checked under the same lock
    /// that `stopAll` sets it and takes its snapshot of the sessions under, so a session is
    /// either in that snapshot (and stopped) or never started. (`run` can reach `stopAll`
    /// while the last pass still runs on the kernel pool: a repeated task's cancellation
    /// does not wait for the future a pass returned.)
    private func start(_ id: String, config: JSONValue, version: Int64) {
        let session = AgentSession(agentID: id, config: config, version: version, supervisor: self)
        lock.lock()
        if stopping { lock.unlock(); return }
        sessions[id] = session; restartAt[id] = nil
        lock.unlock()
        session.launch()
    }

    /// Called once per session, on a pool thread, when it has ended.
    func sessionEnded(_ session: AgentSession, crash: String?) {
        let id = session.agentID
        recording("the end of \(id)") {
            try kernel.updateAgentState(id, status: crash == nil ? "stopped" : "crashed", actionsDelta: session.takeActionCount())
        }
        lock.lock()
        if sessions[id] === session { sessions[id] = nil }
        let stop = stopping
        lock.unlock()
        guard let crash, !stop, !session.isStopRequested else { return }
        let s = kernel.config.supervisor
        lock.lock()
        var policy = policies[id] ?? RestartPolicy(intensity: s.restartIntensity, periodSeconds: s.restartPeriodSeconds, backoffSeconds: s.restartBackoffSeconds)
        let now = kernel.clock.nowSeconds
        let decision = policy.recordCrash(at: now)
        policies[id] = policy
        if case .restart(let after) = decision { restartAt[id] = now + after }
        lock.unlock()
        let parked = decision == .park
        recording("the crash of \(id)") {
            try kernel.recordEvent("agent_crashed", principal: id, ["reason": .string(crash), "parked": .bool(parked),
                                                                    "recent_crashes": .int(Int64(policy.recentCrashes))])
            try kernel.updateAgentState(id, status: parked ? "parked" : "crashed", restarts: policy.recentCrashes, parked: parked)
        }
        if parked { logger.warning("agent \(id) parked after \(policy.recentCrashes) crashes: \(crash)") }
    }

    /// Charges each running agent's measured CPU; freezes the children of agents in
    /// compute debt and thaws them when they recover.
    private func chargeAndFreeze() {
        lock.lock(); let current = Array(sessions.values); lock.unlock()
        let window = current.map { s in (id: s.agentID, cpuMicros: s.takeCPUDelta(), status: s.status.rawValue, actions: s.takeActionCount()) }
        let frozen: [String: Bool]
        do { frozen = try kernel.recordSupervisionWindow(window) } catch {
            // Nothing was recorded: the CPU (and actions) go into the next window, not away.
            logger.error("could not record the supervision window: \(error)")
            for (session, w) in zip(current, window) { session.giveBack(cpuMicros: w.cpuMicros, actions: w.actions) }
            return
        }
        // Make each child match its bucket: frozen in debt, thawed once it has recovered.
        // The decision is the kernel's pure `FreezeRule`; here it is only applied.
        for session in current {
            guard let inDebt = frozen[session.agentID] else { continue }
            switch FreezeRule.transition(inDebt: inDebt, childFrozen: session.status == .frozen,
                                         sleeping: session.currentSleeper != nil) {
            case .freeze?: session.currentProcess?.freeze(); session.set(.frozen)
            case .thawToRunning?: session.currentProcess?.thaw(); session.set(.running)
            case .thawToSleeping?: session.currentProcess?.thaw(); session.set(.sleeping)
            case nil: break
            }
        }
    }

    /// Balance predicates are evaluated every this many ticks (100 ms at the default tick).
    static let balanceCheckTicks = 5
    private var ticks = 0

    /// Delivers new events, expired deadlines and satisfied balance predicates to sleepers.
    private func wakeSleepers() {
        lock.lock(); let asleep = sessions.values.compactMap { s in s.currentSleeper.map { (s, $0) } }; lock.unlock()
        let sleeping = asleep.map { ($0.0.agentID, $0.1) }
        // Fetch from the oldest cursor among event sleepers, so an event that landed while
        // an agent was falling asleep is still delivered to it.
        let from = sleeping.filter { $0.1.condition.waitsForEvent }.map { $0.1.cursor }.min().map { min($0, lastSeq) } ?? lastSeq
        let events = (try? kernel.events(after: from, limit: 2000)) ?? []
        for e in events where e.type == "llm_call" && e.seq > lastSeq {
            if let c = e.data["charged_microdollars"]?.intValue { lock.lock(); llmMicrodollars += c; lock.unlock() }
        }
        if let last = events.last { lastSeq = max(lastSeq, last.seq) }
        guard !sleeping.isEmpty else { return }
        let now = kernel.clock.nowMicros()
        // Balances only of the agents that sleep on one, and only every few ticks: the query
        // (one row per such sleeper) was 8 % of the supervisor's CPU at 200 agents when it
        // ran every tick, and a balance wake 100 ms later is as good as 20 ms later.
        ticks &+= 1
        let balanceSleepers = ticks % Supervisor.balanceCheckTicks != 0 ? [] :
            sleeping.filter { $0.1.condition.balanceResource != nil }.map(\.0)
        let balances = Dictionary(((try? kernel.balances(of: balanceSleepers)) ?? []).map { ($0["id"]?.stringValue ?? "", $0) },
                                  uniquingKeysWith: { a, _ in a })
        for (session, sleeper) in asleep {
            let id = session.agentID
            let c = sleeper.condition
            var woke: JSONValue?
            let cursor = sleeper.cursor
            if let last = events.last { sleeper.cursor = max(cursor, last.seq) }
            if let e = events.first(where: { $0.seq > cursor && c.matches($0) }) {
                woke = ["woke_by": "event", "event": e.json]
            } else if let b = balances[id], c.balanceSatisfied(b) {
                woke = ["woke_by": "balance", "balances": b]
            } else if let d = c.deadlineMicros, now >= d {
                woke = ["woke_by": "duration"]
            }
            if let woke { session.wake(sleeper, woke) }
        }
    }

    /// The `llm` action: through the gateway, which reserves and settles on the ledger.
    func llm(_ agent: String, _ params: JSONValue) -> Envelope {
        guard let gateway else {
            return .failure(KernelError(.executionError, "no LLM gateway is configured for this run (mind heuristic needs none)"))
        }
        let request: ChatRequest
        do { request = try ChatRequest(json: params) } catch let e as KernelError { return .failure(e) } catch {
            return .failure(KernelError(.invalidArgs, "\(error)"))
        }
        switch gateway.complete(principal: agent, request: request) {
        case .success(let record):
            var event = record.json.objectValue ?? [:]
            event["messages"] = nil
            recording("the llm_call of \(agent)") {
                try kernel.recordEvent("llm_call", principal: agent, .object(event))
                try kernel.recordTrace(agent: agent, kind: "llm_call", record.json)
            }
            return .ok(.object(["message": record.response.json, "finish_reason": record.finishReason.map(JSONValue.string) ?? .null,
                                "usage": ["prompt_tokens": .int(record.promptTokens), "completion_tokens": .int(record.completionTokens)],
                                "cost_microdollars": .int(record.chargedMicrodollars), "estimated": .bool(record.estimated)]))
        case .failure(let e):
            if let charged = e.details?["charged_microdollars"]?.intValue, charged > 0 {
                recording("the failed llm_call of \(agent)") {
                    try kernel.recordEvent("llm_call", principal: agent, ["error": .string(e.code.rawValue), "charged_microdollars": .int(charged)])
                }
            }
            recording("the llm_error trace of \(agent)") { try kernel.recordTrace(agent: agent, kind: "llm_error", e.json) }
            return .failure(e)
        }
    }

    /// Stops every agent: closes sockets, waits the grace period, kills the rest.
    public func stopAll() {
        lock.lock(); stopping = true; let current = Array(sessions.values); lock.unlock()
        let grace = kernel.config.supervisor.shutdownTimeoutSeconds
        for s in current { s.requestStop(grace: grace) }
        let deadline = monotonicSeconds() + grace + 6
        while monotonicSeconds() < deadline {
            lock.lock(); let left = sessions.count; lock.unlock()
            if left == 0 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    func sessionsSnapshot() -> [AgentSession] { lock.lock(); defer { lock.unlock() }; return Array(sessions.values) }

    public var sessionCount: Int { lock.lock(); defer { lock.unlock() }; return sessions.count }

    /// Host pids of the agent children running now (for the benchmarks' memory readings).
    public func agentChildPIDs() -> [Int32] { sessionsSnapshot().compactMap { $0.currentProcess?.hostPid } }
}

/// The statuses the heartbeat's passes produce, for `run`'s calling thread.
private final class StatusMailbox: @unchecked Sendable {
    // Safe: `pending` is only read or written while `condition` is locked (`post`, `take`).
    // An NSCondition rather than a Mutex: `take` waits for a `post`.
    private let condition = NSCondition()
    private var pending: [Supervisor.Status] = []

    func post(_ status: Supervisor.Status) {
        condition.lock(); pending.append(status); condition.signal(); condition.unlock()
    }

    /// What was posted, waiting up to `seconds` for something when nothing was.
    func take(waitingAtMost seconds: Double) -> [Supervisor.Status] {
        condition.lock(); defer { condition.unlock() }
        if pending.isEmpty { _ = condition.wait(until: Date(timeIntervalSinceNow: seconds)) }
        let out = pending
        pending.removeAll()
        return out
    }
}

func monotonicSeconds() -> Double { Double(monotonicNanos()) / 1e9 }
