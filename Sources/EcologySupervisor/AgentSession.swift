import EcologyCore
import EcologyKernel
import EcologyLLM
import EcologySandbox
import EcologyWire
import Foundation

/// One agent's life in the supervisor: its sandboxed child and the thread that serves
/// the child's kernel calls. Identity is bound here: every call on this socket acts as
/// `agentID`, whatever the frame says.
final class AgentSession: @unchecked Sendable {
    enum Status: String { case starting, running, sleeping, frozen, stopping, stopped, crashed, parked }

    let agentID: String
    let configVersion: Int64
    private let config: JSONValue
    /// Strong on purpose: the session's thread uses the supervisor until it ends, and a stop
    /// that outlasts `Supervisor.stopAll`'s deadline (thousands of agents on a saturated host)
    /// must not leave it reading a freed supervisor. The cycle ends when the session does
    /// (`Supervisor.sessionEnded` drops it).
    private let supervisor: Supervisor
    private let lock = NSLock()
    private var _status: Status = .starting
    private var process: AgentProcess?
    private var stopRequested = false
    /// How long a stopping child may take to exit after its socket closes (`requestStop`).
    private var stopGrace = 0.5
    private var sleeper: Sleeper?
    private(set) var chargedCPUMicros: Int64 = 0
    private var pendingActions: Int64 = 0

    /// A parked sleep: the session thread waits on `semaphore` until the watcher wakes it.
    final class Sleeper: @unchecked Sendable {
        let condition: WakeCondition
        let semaphore = DispatchSemaphore(value: 0)
        var wokeBy: JSONValue?
        /// The last event seq this sleeper has been shown (the watcher advances it).
        var cursor: Int64
        init(_ c: WakeCondition) { condition = c; cursor = c.afterSeq }
    }

    init(agentID: String, config: JSONValue, version: Int64, supervisor: Supervisor) {
        self.agentID = agentID; self.config = config; self.configVersion = version; self.supervisor = supervisor
    }

    var status: Status { lock.lock(); defer { lock.unlock() }; return _status }
    func set(_ s: Status) { lock.lock(); _status = s; lock.unlock() }
    var currentSleeper: Sleeper? { lock.lock(); defer { lock.unlock() }; return sleeper }
    var currentProcess: AgentProcess? { lock.lock(); defer { lock.unlock() }; return process }

    func takeActionCount() -> Int64 { lock.lock(); defer { lock.unlock() }; let n = pendingActions; pendingActions = 0; return n }

    /// Runs the child until it exits or the session is stopped. Returns the exit's
    /// description when the child ended on its own (a crash), nil on a requested stop.
    func run() -> String? {
        let kernel = supervisor.kernel
        let proc: AgentProcess
        do {
            proc = try supervisor.executor.spawnAgent(entry: supervisor.options.agentEntry)
        } catch {
            return "could not start: \(error)"
        }
        lock.lock(); process = proc; let stopNow = stopRequested; lock.unlock()
        if stopNow { _ = proc.stop(grace: 0.2); return nil }
        let channel = AgentChannel(fd: proc.socket, maxFrameBytes: kernel.config.limits.maxFrameBytes)
        let start: JSONValue = .object([
            "type": "start", "id": 0, "agent_id": .string(agentID), "mind": config["mind"] ?? "heuristic",
            "prompt": config["prompt"] ?? "", "model": .string(config["model"]?.stringValue ?? kernel.config.llm.model),
            "seed": .int(Int64(bitPattern: supervisor.options.seed &+ UInt64(truncatingIfNeeded: agentID.hashValueStable))),
            "structured_output": .string(kernel.config.llm.structuredOutput),
        ])
        set(.running)
        supervisor.recording("the start of \(agentID)") {
            try kernel.updateAgentState(agentID, status: "running")
            try kernel.recordEvent("agent_started", principal: agentID, ["pid": .int(Int64(proc.pid)), "version": .int(configVersion)])
        }
        guard channel.send(start) else { return finish(proc, crash: "socket closed before start") }
        while true {
            if isStopRequested { return finish(proc, crash: nil) }
            let result: AgentChannel.ReadResult
            do { result = try channel.read(timeout: 0.5) } catch {
                return finish(proc, crash: "PROTOCOL_ERROR: \(error)")
            }
            switch result {
            case .timeout:
                if proc.hasEnded { return finish(proc, crash: isStopRequested ? nil : describeEnd(proc, proc.exit)) }
                continue
            case .closed:
                return finish(proc, crash: isStopRequested ? nil : describeEnd(proc, proc.waitExit(timeout: 1)))
            case .frame(let frame):
                if let error = serve(frame, channel: channel) { return finish(proc, crash: "PROTOCOL_ERROR: \(error)") }
            }
        }
    }

    /// Answers one frame. Returns a protocol violation, if any (which ends the child).
    private func serve(_ frame: JSONValue, channel: AgentChannel) -> String? {
        let kernel = supervisor.kernel
        switch frame["type"]?.stringValue {
        case "trace":
            supervisor.recording("a trace of \(agentID)") {
                try kernel.recordTrace(agent: agentID, kind: frame["kind"]?.stringValue ?? "note", frame["data"] ?? .null)
            }
            return nil
        case "call":
            guard let id = frame["id"]?.intValue, let action = frame["action"]?.stringValue else {
                return "call without an integer id and an action"
            }
            let params = frame["params"] ?? .object([:])
            let response: Envelope
            switch action {
            case "llm": response = supervisor.llm(agentID, params)
            case "sleep": response = sleep(params)
            default: response = kernel.handle(action: action, params: params, context: .principal(agentID))
            }
            lock.lock(); pendingActions += 1; lock.unlock()
            supervisor.countAction()
            channel.send(frame: replyFrame(id: id, action: action, response))
            return nil
        default:
            return "unknown message type '\(frame["type"]?.stringValue?.prefix(40) ?? "none")'"
        }
    }

    /// The encoded reply, or, when it would exceed the frame limit (which the child would
    /// refuse as a protocol error and die of), an `INVALID_ARGS` error that says so. The
    /// action itself has happened either way; only its answer is replaced.
    private func replyFrame(id: Int64, action: String, _ response: Envelope) -> [UInt8] {
        let frame = Frame.encode(.object(["type": "reply", "id": .int(id), "response": response.json]))
        let limit = supervisor.kernel.config.limits.maxFrameBytes
        guard frame.count - 4 > limit else { return frame }
        let error = KernelError(.invalidArgs, "the answer to \(action) is \(frame.count - 4) bytes, over the frame limit of \(limit); ask for less (a smaller limit, a page, a narrower filter)",
                                details: ["bytes": .int(Int64(frame.count - 4)), "limit": .int(Int64(limit))])
        return Frame.encode(.object(["type": "reply", "id": .int(id), "response": Envelope.failure(error).json]))
    }

    private func sleep(_ params: JSONValue) -> Envelope {
        let kernel = supervisor.kernel
        let condition: WakeCondition
        do {
            condition = try WakeCondition(params: params, nowMicros: kernel.clock.nowMicros(), afterSeq: try kernel.lastEventSeq())
        } catch let e as KernelError { return .failure(e) } catch { return .failure(KernelError(.internal, "\(error)")) }
        let s = Sleeper(condition)
        lock.lock(); sleeper = s; _status = .sleeping; lock.unlock()
        // Short pacing sleeps (under a second, on time alone) are not logged: they are most
        // of an agent's sleeps and would double the event log's write load.
        let logged = condition.waitsForEvent || condition.balanceResource != nil
            || (condition.deadlineMicros ?? 0) - kernel.clock.nowMicros() >= 1_000_000
        if logged { supervisor.recording("agent_sleeping of \(agentID)") { try kernel.recordEvent("agent_sleeping", principal: agentID, params) } }
        while s.semaphore.wait(timeout: .now() + 0.5) == .timedOut {
            if isStopRequested { s.wokeBy = ["woke_by": "stop"]; break }
            // A child that died asleep (OOM killer, a kill from outside) is a crash to handle now, not when the sleep ends.
            if currentProcess?.hasEnded == true { s.wokeBy = ["woke_by": "exit"]; break }
        }
        lock.lock(); sleeper = nil; if _status == .sleeping { _status = .running }; lock.unlock()
        let woke = s.wokeBy ?? ["woke_by": "stop"]
        if logged { supervisor.recording("agent_woke of \(agentID)") { try kernel.recordEvent("agent_woke", principal: agentID, woke) } }
        return .ok(woke)
    }

    var isStopRequested: Bool { lock.lock(); defer { lock.unlock() }; return stopRequested }

    /// Asks the session to end: wakes a sleep, closes the socket (EOF), kills after the grace period.
    func requestStop(grace: Double) {
        lock.lock(); stopRequested = true; stopGrace = grace; let p = process; let s = sleeper; lock.unlock()
        s?.wokeBy = ["woke_by": "stop"]; s?.semaphore.signal()
        p?.requestStop(grace: grace)
    }

    private func finish(_ proc: AgentProcess, crash: String?) -> String? {
        lock.lock(); let grace = stopGrace; lock.unlock()
        let exit = proc.exit == nil ? proc.stop(grace: grace) : proc.exit
        chargeCPU(final: exit?.cpuMicros)
        lock.lock(); process = nil; lock.unlock()
        supervisor.recording("agent_stopped of \(agentID)") {
            try supervisor.kernel.recordEvent("agent_stopped", principal: agentID,
                                              ["reason": .string(crash ?? "stopped"), "exit": .string(describe(exit))])
        }
        return crash
    }

    /// Charges the CPU used since the last charge to the agent's compute bucket.
    func chargeCPU(final: Int64? = nil) {
        let delta = takeCPUDelta(final: final)
        if delta > 0 { supervisor.recording("the CPU charge of \(agentID)") { try supervisor.kernel.chargeAgentCPU(agentID, cpuMicros: delta) } }
    }

    /// Returns CPU and actions taken for a window that could not be recorded, so the next
    /// window charges them: measured CPU is never dropped.
    func giveBack(cpuMicros: Int64, actions: Int64) {
        lock.lock(); defer { lock.unlock() }
        if cpuMicros > 0 { chargedCPUMicros -= cpuMicros }
        pendingActions += actions
    }

    /// CPU used since the last call (the caller charges it).
    func takeCPUDelta(final: Int64? = nil) -> Int64 {
        guard let total = final ?? currentProcess?.cpuMicros() else { return 0 }
        lock.lock(); defer { lock.unlock() }
        let delta = total - chargedCPUMicros
        if delta > 0 { chargedCPUMicros = total; return delta }
        return 0
    }

    /// How the child ended: its exit, or why it was lost without one (its zygote died).
    private func describeEnd(_ proc: AgentProcess, _ exit: ChildExit?) -> String {
        if exit == nil, let lost = proc.lostReason { return "lost (\(lost))" }
        return describe(exit)
    }

    private func describe(_ exit: ChildExit?) -> String {
        guard let e = exit else { return "exit unknown" }
        if let s = e.syscall { return "SANDBOX_VIOLATION: syscall \(s)" }
        if let sig = e.signal { return "killed by signal \(sig)" }
        return "exit code \(e.exitCode ?? -1)"
    }
}

extension String {
    /// A hash that is the same in every process (Swift's hashValue is seeded per run).
    var hashValueStable: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
