import EcologyCore
import EcologyKernel
import EcologyLLM
import EcologySandbox
import EcologyWire
import Foundation
import NIOCore
import NIOConcurrencyHelpers

/// One agent's life in the supervisor: its sandboxed child and the channel that serves
/// the child's kernel calls. Identity is bound here: every call on this socket acts as
/// `agentID`, whatever the frame says.
///
/// No thread is the session's own (docs/ARCHITECTURE.md, "Threads"): the child is spawned
/// and stopped, and each frame served, on `SupervisorThreads.kernelPool` (the `llm` action on
/// `llmPool`); its socket lives on an event loop (`AgentChannel`). One frame is served at a
/// time, in order: the next is read only once the previous one is answered (`served`).
/// A `sleep` parks the request: no thread waits; the supervisor's watcher `wake`s it.
final class AgentSession: @unchecked Sendable {
    // Safe: the `let`s are immutable and Sendable. Every `var` (`_status`, `process`,
    // `channel`, `stopRequested`, `stopGrace`, `sleeper`, `chargedCPUMicros`,
    // `pendingActions`, `queued`, `working`, `closed`, `ending`, `violation`) is only read
    // or written while `lock` is held: the event loop, the pools and the supervision
    // thread all touch the session.
    enum Status: String { case starting, running, sleeping, frozen, stopping, stopped, crashed, parked }

    let agentID: String
    let configVersion: Int64
    private let config: JSONValue
    /// Strong on purpose: the session's work on the pools uses the supervisor until the
    /// session ends, and a stop that outlasts `Supervisor.stopAll`'s deadline (thousands of
    /// agents on a saturated host) must not leave it reading a freed supervisor. The cycle
    /// ends when the session does (`Supervisor.sessionEnded` drops it).
    private let supervisor: Supervisor
    private let lock = NSLock()
    private var _status: Status = .starting
    private var process: AgentProcess?
    private var channel: Channel?
    private var stopRequested = false
    /// How long a stopping child may take to exit after its socket closes (`requestStop`).
    private var stopGrace = 0.5
    private var sleeper: Sleeper?
    private var chargedCPUMicros: Int64 = 0
    private var pendingActions: Int64 = 0
    /// Frames read but not yet served (bounded: see `AgentChannel`).
    private var queued = CircularBuffer<JSONValue>()
    /// A frame (or a wake-up's answer) is being handled on a pool.
    private var working = false
    private var closed = false
    private var ending = false
    /// Why the child broke the protocol, once it has (the first reason wins).
    private var violation: String?

    /// A parked sleep: its request waits, unanswered, until the watcher `wake`s it.
    final class Sleeper: Sendable {
        let condition: WakeCondition
        /// Whether the sleep was logged (`agent_sleeping`), so its end is (`agent_woke`).
        let logged: Bool
        /// The `id` of the `sleep` call, which the wake-up answers.
        let requestID: Int64
        /// The last event seq this sleeper has been shown (the watcher, `Supervisor.wakeSleepers`,
        /// advances it; consecutive passes may run on different threads).
        var cursor: Int64 {
            get { shown.withLockedValue { $0 } }
            set { shown.withLockedValue { $0 = newValue } }
        }
        private let shown: NIOLockedValueBox<Int64>
        init(_ c: WakeCondition, logged: Bool, requestID: Int64) {
            condition = c; self.logged = logged; self.requestID = requestID; shown = NIOLockedValueBox(c.afterSeq)
        }
    }

    /// What serving one frame came to.
    enum Outcome {
        /// Answer with this frame (length prefix included).
        case reply([UInt8])
        /// Nothing to answer (a trace).
        case none
        /// The request sleeps until `wake`.
        case asleep(Sleeper)
        /// The child broke the protocol: its channel ends.
        case violation(String)
    }

    init(agentID: String, config: JSONValue, version: Int64, supervisor: Supervisor) {
        self.agentID = agentID; self.config = config; self.configVersion = version; self.supervisor = supervisor
    }

    var status: Status { lock.lock(); defer { lock.unlock() }; return _status }
    func set(_ s: Status) { lock.lock(); _status = s; lock.unlock() }
    /// The session's parked sleep, if it is asleep and not yet woken.
    var currentSleeper: Sleeper? { lock.lock(); defer { lock.unlock() }; return sleeper }
    var currentProcess: AgentProcess? { lock.lock(); defer { lock.unlock() }; return process }

    func takeActionCount() -> Int64 { lock.lock(); defer { lock.unlock() }; let n = pendingActions; pendingActions = 0; return n }

    // MARK: - Life cycle

    /// Starts the child (on the kernel pool: spawning is a round trip to the zygote), then
    /// serves its socket. The session ends with `Supervisor.sessionEnded`.
    func launch() {
        SupervisorThreads.kernelPool.submit { _ in self.open() }
    }

    private func open() {
        let kernel = supervisor.kernel
        let proc: AgentProcess
        do {
            proc = try supervisor.executor.spawnAgent(entry: supervisor.options.agentEntry)
        } catch {
            supervisor.sessionEnded(self, crash: "could not start: \(error)")
            return
        }
        lock.lock(); process = proc; let stopNow = stopRequested; lock.unlock()
        if stopNow {
            _ = proc.stop(grace: 0.2)
            lock.lock(); process = nil; lock.unlock()
            supervisor.sessionEnded(self, crash: nil)
            return
        }
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
        guard let socket = proc.detachSocket() else { return stopChild(proc, crash: "socket closed before start") }
        AgentChannel.open(socket: socket, maxFrameBytes: kernel.config.limits.maxFrameBytes, session: self).whenComplete { result in
            switch result {
            case .failure(let error):
                self.lock.lock(); self.ending = true; self.lock.unlock()
                self.stopChild(proc, crash: "socket closed before start: \(error)")
            case .success(let channel):
                self.lock.lock(); self.channel = channel; let stop = self.stopRequested; self.lock.unlock()
                if stop { channel.close(promise: nil); return }
                channel.writeAndFlush(ByteBuffer(bytes: Frame.encode(start))).whenFailure { _ in
                    self.protocolViolation(nil, else: "socket closed before start")
                    channel.close(promise: nil)
                }
                channel.read()
            }
        }
    }

    // MARK: - Frames (called on the channel's event loop)

    /// A decoded frame: served now, or after the ones before it.
    func received(_ frame: JSONValue) {
        lock.lock()
        if closed || violation != nil { lock.unlock(); return }
        if working || sleeper != nil { queued.append(frame); lock.unlock(); return }
        working = true
        lock.unlock()
        serveOnPool(frame)
    }

    /// The end of one socket read: whether to read again (nothing held, nothing in flight).
    func readComplete() -> Bool {
        lock.lock(); defer { lock.unlock() }
        return !working && sleeper == nil && queued.isEmpty && !closed
    }

    private func serveOnPool(_ frame: JSONValue) {
        let llm = frame["type"]?.stringValue == "call" && frame["action"]?.stringValue == "llm"
        (llm ? SupervisorThreads.llmPool : SupervisorThreads.kernelPool).submit { _ in
            let outcome = self.serve(frame)
            self.onLoop { self.served(outcome) }
        }
    }

    /// Runs `body` on the channel's event loop (nothing to do if the channel never opened).
    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        lock.lock(); let loop = channel?.eventLoop; lock.unlock()
        loop?.execute(body)
    }

    /// A frame's outcome, back on the loop: answer it, then take the next frame.
    private func served(_ outcome: Outcome) {
        lock.lock(); let channel = self.channel; lock.unlock()
        switch outcome {
        case .reply(let bytes): channel?.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
        case .none: break
        case .violation(let reason):
            protocolViolation(reason)
            channel?.close(promise: nil)
        case .asleep(let s):
            lock.lock()
            working = false
            let isClosed = closed
            if !isClosed { sleeper = s; _status = .sleeping }
            lock.unlock()
            if isClosed { endAfterClose() }
            return
        }
        next()
    }

    /// The next held frame, else another read; or the session's end once the channel is closed.
    private func next() {
        lock.lock()
        if closed {
            working = false
            lock.unlock()
            return endAfterClose()
        }
        if let frame = queued.popFirst() {
            lock.unlock()
            return serveOnPool(frame)
        }
        working = false
        let channel = self.channel
        lock.unlock()
        channel?.read()
    }

    /// Records why the child broke the protocol (the first reason is kept). `fallback`
    /// is used only when no reason is recorded yet and the frame gave none.
    func protocolViolation(_ reason: String?, else fallback: String? = nil) {
        lock.lock(); defer { lock.unlock() }
        guard violation == nil else { return }
        if let reason { violation = "PROTOCOL_ERROR: \(reason)" } else { violation = fallback }
    }

    /// The channel is closed (EOF from the child, a reset, a refused frame, or our own
    /// close on a stop). The session ends once no frame of it is being served.
    func channelClosed() {
        lock.lock()
        closed = true
        queued.removeAll()
        sleeper = nil
        let busy = working
        lock.unlock()
        if !busy { endAfterClose() }
    }

    // MARK: - Sleeping

    /// Ends a parked sleep with `woke` (the watcher's reason). False if the session was not
    /// asleep on `s` any more (woken already, stopped, or its child gone).
    @discardableResult
    func wake(_ s: Sleeper, _ woke: JSONValue) -> Bool {
        lock.lock()
        guard sleeper === s, !closed else { lock.unlock(); return false }
        sleeper = nil
        if _status == .sleeping { _status = .running }
        working = true
        lock.unlock()
        SupervisorThreads.kernelPool.submit { _ in
            if s.logged {
                self.supervisor.recording("agent_woke of \(self.agentID)") {
                    try self.supervisor.kernel.recordEvent("agent_woke", principal: self.agentID, woke)
                }
            }
            self.countAction()
            let reply = self.replyFrame(id: s.requestID, action: "sleep", .ok(woke))
            self.onLoop { self.served(.reply(reply)) }
        }
        return true
    }

    /// Answers one frame (on a pool thread).
    private func serve(_ frame: JSONValue) -> Outcome {
        let kernel = supervisor.kernel
        switch frame["type"]?.stringValue {
        case "trace":
            supervisor.recording("a trace of \(agentID)") {
                try kernel.recordTrace(agent: agentID, kind: frame["kind"]?.stringValue ?? "note", frame["data"] ?? .null)
            }
            return .none
        case "call":
            guard let id = frame["id"]?.intValue, let action = frame["action"]?.stringValue else {
                return .violation("call without an integer id and an action")
            }
            let params = frame["params"] ?? .object([:])
            let response: Envelope
            switch action {
            case "llm": response = supervisor.llm(agentID, params)
            case "sleep":
                switch sleep(id: id, params) {
                case .success(let s): return .asleep(s)
                case .failure(let e): response = .failure(e)
                }
            default: response = kernel.handle(action: action, params: params, context: .principal(agentID))
            }
            countAction()
            return .reply(replyFrame(id: id, action: action, response))
        default:
            return .violation("unknown message type '\(frame["type"]?.stringValue?.prefix(40) ?? "none")'")
        }
    }

    private func countAction() {
        lock.lock(); pendingActions += 1; lock.unlock()
        supervisor.countAction()
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

    /// The `sleep` action up to its parking: the condition parsed, the sleep logged. The
    /// request is answered by `wake` (the sleep counts as an action then).
    private func sleep(id: Int64, _ params: JSONValue) -> Result<Sleeper, KernelError> {
        let kernel = supervisor.kernel
        let condition: WakeCondition
        do {
            condition = try WakeCondition(params: params, nowMicros: kernel.clock.nowMicros(), afterSeq: try kernel.lastEventSeq())
        } catch let e as KernelError { return .failure(e) } catch { return .failure(KernelError(.internal, "\(error)")) }
        // Short pacing sleeps (under a second, on time alone) are not logged: they are most
        // of an agent's sleeps and would double the event log's write load.
        let logged = condition.waitsForEvent || condition.balanceResource != nil
            || (condition.deadlineMicros ?? 0) - kernel.clock.nowMicros() >= 1_000_000
        if logged { supervisor.recording("agent_sleeping of \(agentID)") { try kernel.recordEvent("agent_sleeping", principal: agentID, params) } }
        return .success(Sleeper(condition, logged: logged, requestID: id))
    }

    var isStopRequested: Bool { lock.lock(); defer { lock.unlock() }; return stopRequested }

    /// Asks the session to end: closes the channel (the child reads EOF; a sleep ends with
    /// it), and has the child killed after the grace period.
    func requestStop(grace: Double) {
        lock.lock(); stopRequested = true; stopGrace = grace; let p = process; let c = channel; lock.unlock()
        p?.requestStop(grace: grace)
        c?.close(promise: nil)
    }

    /// The supervisor's check that a child which ended without closing its socket (a
    /// descendant still holds it) does not keep its session open: the channel is closed.
    func closeIfChildEnded() {
        lock.lock(); let p = process; let c = channel; let isClosed = closed; lock.unlock()
        if !isClosed, p?.hasEnded == true { c?.close(promise: nil) }
    }

    /// After the channel closed and its last frame was served: why the session ends, then
    /// the child's end (without a thread waiting for it), then `finish`.
    private func endAfterClose() {
        lock.lock()
        if ending { lock.unlock(); return }
        ending = true
        let proc = process, stop = stopRequested, violation = self.violation
        lock.unlock()
        guard let proc else { return supervisor.sessionEnded(self, crash: nil) }
        if stop { return stopChild(proc, crash: nil) }
        if let violation { return stopChild(proc, crash: violation) }
        // The child closed its end: it is exiting; give it a second to say how.
        whenEnded(proc, within: 1) { _ in
            let crash = self.isStopRequested ? nil : self.describeEnd(proc, proc.exit)
            self.stopChild(proc, crash: crash)
        }
    }

    /// Ends the child (the socket is closed by now; a kill follows after the grace period)
    /// and, once it has exited, the session.
    private func stopChild(_ proc: AgentProcess, crash: String?) {
        lock.lock(); let grace = stopGrace; lock.unlock()
        if !proc.hasEnded { proc.requestStop(grace: grace) }
        whenEnded(proc, within: grace + 5) { _ in
            SupervisorThreads.kernelPool.submit { _ in self.finish(proc, crash: crash) }
        }
    }

    /// Calls `body` (on an event loop) once `proc` has ended or `seconds` have passed,
    /// checking on the loop's timer: no thread waits on a child.
    private func whenEnded(_ proc: AgentProcess, within seconds: Double, _ body: @escaping @Sendable (Bool) -> Void) {
        let loop = SupervisorThreads.eventLoops.next()
        let deadline = monotonicSeconds() + seconds
        @Sendable func check(_ delayMillis: Int64) {
            if proc.hasEnded { return body(true) }
            if monotonicSeconds() >= deadline { return body(false) }
            loop.scheduleTask(in: .milliseconds(delayMillis)) { check(min(50, delayMillis * 2)) }
        }
        loop.execute { check(2) }
    }

    /// The session's last step (on the kernel pool): reaps the child (killing it if it
    /// outlived its grace), charges its last CPU, records the stop, tells the supervisor.
    private func finish(_ proc: AgentProcess, crash: String?) {
        let exit = proc.hasEnded ? proc.waitExit(timeout: 0) : proc.kill()
        chargeCPU(final: exit?.cpuMicros)
        lock.lock(); process = nil; lock.unlock()
        supervisor.recording("agent_stopped of \(agentID)") {
            try supervisor.kernel.recordEvent("agent_stopped", principal: agentID,
                                              ["reason": .string(crash ?? "stopped"), "exit": .string(describe(exit))])
        }
        supervisor.sessionEnded(self, crash: crash)
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
