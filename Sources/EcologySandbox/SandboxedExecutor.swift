import Foundation
#if canImport(Glibc)
import Glibc
#endif
import EcologyCore
import EcologyWire
import Logging

/// Which sandbox layers are active in this process (what `ecology doctor` prints).
public struct SandboxLayers: Sendable, Equatable {
    /// net, pid, mount, ipc, uts -> active; plus "rootfs" (read-only root) and "seccomp_report".
    public var namespaces: [String: Bool]
    public var cgroup: CgroupVersion
    public var cgroupDetail: String
    public var seccomp: Bool
    public var rlimits: Bool
    public var privilegeDrop: Bool
    public var warnings: [String]

    public var json: JSONValue {
        .object([
            "namespaces": .object(namespaces.mapValues(JSONValue.bool)),
            "cgroup": .string(cgroup.rawValue), "cgroup_detail": .string(cgroupDetail),
            "seccomp": .bool(seccomp), "rlimits": .bool(rlimits), "privilege_drop": .bool(privilegeDrop),
            "warnings": .array(warnings.map(JSONValue.string)),
        ])
    }
}

/// Runs artifact and contract code in fresh sandboxed Python children forked from a warm
/// zygote, and starts long-lived agent children with the same launcher.
/// Thread-safe and re-entrant: `kernelCalls` may call `execute` again (nested invokes).
public final class SandboxedExecutor: ArtifactExecutor, @unchecked Sendable {
    // Safe: the `let`s are immutable and Sendable (`pool` is thread-safe itself, `refillQueue`
    // is a serial queue). `zygote`, `agentZygote`, `freeIndexes`, `nextIndex`, `closed` and
    // `warm` (and the `ready` and `forking` of every `WarmSet` in it) are only read or
    // written while `lock` is held.
    public struct Options: Sendable {
        public var sandboxDir: String?
        /// nil: detect (v2 preferred, then v1); `.none`: do not use cgroups.
        public var cgroups: CgroupVersion?
        public var namespaces = true
        /// Children forked ahead of time per execution shape (see `WarmChild`); 0 forks
        /// every child on demand.
        public var warmChildren = 2
        public init(sandboxDir: String? = nil, cgroups: CgroupVersion? = nil, warmChildren: Int = 2) {
            self.sandboxDir = sandboxDir; self.cgroups = cgroups; self.warmChildren = warmChildren
        }
    }

    public let config: WorldConfig
    public let policies: [ChildKind: SandboxPolicy]
    public let sandboxDir: String
    public let layers: SandboxLayers
    let logger = Logger(label: "ecology.sandbox")
    private let zygoteOptions: Zygote.Options
    private let lock = NSLock()
    /// Forks artifact and contract executions (preloads what tools import).
    private var zygote: Zygote
    /// Forks agent children; started with the first agent. A zygote of its own because an
    /// agent's RSS carries everything its zygote preloaded, and agents never run user code.
    private var agentZygote: Zygote?
    private let pool: CgroupPool?
    private var freeIndexes: [Int] = []
    private var nextIndex = 0
    private var closed = false
    private let warmPerShape: Int
    /// Ready children by execution shape, most recently used shape last (guarded by `lock`).
    private var warm: [WarmSet] = []
    /// Forks replacements for the ready children taken, off the callers' threads.
    private let refillQueue = DispatchQueue(label: "ecology.sandbox.warm-children")
    /// At most this many shapes keep warm children (in a world: artifact tools and custom contracts).
    static let warmShapes = 3

    public init(config: WorldConfig, options: Options = Options()) throws {
        self.config = config
        warmPerShape = max(0, options.warmChildren)
        var policies: [ChildKind: SandboxPolicy] = [:]
        var filters: [ChildKind: [UInt8]] = [:]
        for kind in ChildKind.allCases {
            let p = SandboxPolicy.for(kind: kind, config: config)
            policies[kind] = p
            filters[kind] = try SeccompCompiler.compile(p.seccomp).bpf
        }
        self.policies = policies
        sandboxDir = try options.sandboxDir ?? SandboxLocator.locate()
        var ns = SandboxPolicy.Namespaces()
        if !options.namespaces { ns = .init(net: false, pid: false, mount: false, ipc: false, uts: false) }
        let artifactPolicy = policies[.artifact]!
        zygoteOptions = Zygote.Options(
            python: config.sandbox.python, sandboxDir: sandboxDir, filters: filters,
            environment: artifactPolicy.environment, namespaces: ns,
            zygoteFilter: try SeccompCompiler.compile(.zygote(uidBase: artifactPolicy.uidBase, gid: artifactPolicy.gid)).bpf,
            waiterFilter: try SeccompCompiler.compile(.zygoteWaiter).bpf,
            maxFrameBytes: config.limits.maxFrameBytes)
        let z = try Zygote(zygoteOptions)
        zygote = z
        var warnings = z.warnings
        var layout = CgroupLayout.detect(prefer: options.cgroups == CgroupVersion.none ? nil : options.cgroups)
        var pool: CgroupPool?
        if options.cgroups == CgroupVersion.none || config.sandbox.mode == "none" {
            layout = CgroupLayout(version: .none, ownDirs: [:], reason: "cgroups disabled by configuration")
        } else if layout.version != .none {
            let art = policies[.artifact]!.cgroup
            do {
                pool = try CgroupPool(layout: layout, pids: art.pids, cpuPercent: art.cpuPercent)
            } catch {
                warnings.append("cgroups: \(error) — limits fall back to rlimits")
                layout = CgroupLayout(version: .none, ownDirs: [:], reason: "\(layout.reason), not writable: \(error)")
            }
        } else {
            warnings.append("cgroups: \(layout.reason) — memory falls back to RLIMIT_AS, no per-child pids limit")
        }
        self.pool = pool
        let root = getuid() == 0
        if !root { warnings.append("not root: children keep the supervisor's uid (no per-slot uid, no bounding-set drop)") }
        layers = SandboxLayers(namespaces: z.layers, cgroup: layout.version, cgroupDetail: layout.reason,
                               seccomp: true, rlimits: true, privilegeDrop: root, warnings: warnings)
        for w in warnings { logger.warning("SANDBOX DEGRADED: \(w)") }
    }

    deinit { shutdown() }

    /// Stops the zygote (which kills every child) and removes the cgroup pool.
    public func shutdown() {
        lock.lock()
        if closed { lock.unlock(); return }
        closed = true
        let z = zygote, za = agentZygote
        lock.unlock()
        refillQueue.sync {}  // a refill in progress sees `closed` and discards what it forked
        lock.lock()
        let idle = warm.flatMap(\.ready)
        warm = []
        lock.unlock()
        // Idle children first, and wait for them: their slots can only be removed once empty.
        for w in idle { discard(w) }
        for w in idle { _ = w.ticket.waitExit(until: Posix.now() + 1) }
        z.shutdown()
        za?.shutdown()
        pool?.destroy()
    }

    /// The host pids of the zygote processes running now: for each zygote the outer process,
    /// which only waits, and the server (pid 1 of the sandbox pid namespace), which forks.
    public func zygoteProcesses() -> [(name: String, pid: Int32)] {
        lock.lock(); defer { lock.unlock() }
        var out: [(String, Int32)] = []
        for (name, z) in [("executions", zygote as Zygote?), ("agents", agentZygote)] {
            guard let z, z.isAlive else { continue }
            out.append(("\(name) zygote (waiter)", z.processID))
            if let server = z.serverHostPid { out.append(("\(name) zygote (server)", server)) }
        }
        return out
    }

    // MARK: - slots

    struct Lease {
        let index: Int
        let cgroup: CgroupPool.Slot?
    }

    /// The live zygote that forks children of `kind`, (re)started if it is gone.
    private func currentZygote(for kind: ChildKind) throws -> Zygote {
        lock.lock(); defer { lock.unlock() }
        if closed { throw SandboxError("executor is shut down") }
        let forAgents = kind == .agent
        let current = forAgents ? agentZygote : zygote
        if let current, current.isAlive { return current }
        if current != nil { logger.error("\(forAgents ? "agent " : "")zygote died; restarting it") }
        var options = zygoteOptions
        if forAgents { options.preload = .agent }
        let z = try Zygote(options)
        if forAgents { agentZygote = z } else { zygote = z }
        return z
    }

    private func lease(memoryBytes: Int64) throws -> Lease {
        if let pool {
            let s = try pool.acquire(memoryBytes: memoryBytes)
            return Lease(index: s.index, cgroup: s)
        }
        lock.lock(); defer { lock.unlock() }
        if let i = freeIndexes.popLast() { return Lease(index: i, cgroup: nil) }
        nextIndex += 1
        return Lease(index: nextIndex - 1, cgroup: nil)
    }

    private func release(_ lease: Lease) {
        if let s = lease.cgroup { pool?.release(s); return }
        lock.lock(); freeIndexes.append(lease.index); lock.unlock()
    }

    private func rlimits(_ policy: SandboxPolicy, memoryBytes: Int64, cpuSeconds: Int?) -> [String: Int64] {
        var r: [String: Int64] = ["open_files": Int64(policy.rlimits.openFiles),
                                  "file_size_bytes": policy.rlimits.fileSizeBytes,
                                  "core_bytes": policy.rlimits.coreBytes, "memlock_bytes": 0]
        if let c = cpuSeconds { r["cpu_seconds"] = Int64(c) }
        if getuid() == 0 { r["processes"] = Int64(policy.cgroup.pids) }
        if pool == nil { r["address_space_bytes"] = max(memoryBytes * 4, 256 << 20) }
        return r
    }

    /// Forks a child and takes the supervisor's end of its socket (made by the zygote in the
    /// children's network namespace). On failure nothing is left behind but the lease,
    /// which the caller still owns: a child that was started is killed, and the lease is
    /// released by the caller only once it has exited (`release(_:after:)`).
    private func spawn(_ kind: ChildKind, policy: SandboxPolicy, lease: Lease, memoryBytes: Int64, cpuSeconds: Int?,
                       entry: String?) throws -> Started {
        let z = try currentZygote(for: kind)
        let procs = try lease.cgroup.map { try pool!.openProcs($0) } ?? []
        defer { procs.forEach { close($0) } }
        let t = try z.spawn(kind: kind, cgroupProcs: procs, uid: policy.uidBase + UInt32(lease.index),
                            gid: policy.gid, rlimits: rlimits(policy, memoryBytes: memoryBytes, cpuSeconds: cpuSeconds),
                            tmpBytes: policy.filesystem.tmpBytes, entry: entry)
        guard let started = t.takeSocket(until: Posix.now() + 10) else {
            t.abandonSocket()
            z.kill(t)
            throw LostChild(zygote: z, ticket: t,
                            message: "the zygote did not start the child: \(t.currentFailure ?? "no socket before the deadline")")
        }
        return Started(zygote: z, ticket: t, socket: started.socket, nsPid: started.nsPid, hostPid: started.hostPid)
    }

    /// A forked child and the supervisor's end of its socket (owned by the caller).
    struct Started {
        let zygote: Zygote
        let ticket: ChildTicket
        let socket: Int32
        let nsPid: Int32
        let hostPid: Int32?
    }

    /// A spawn that failed after the zygote may have forked: its slot is freed only once
    /// the child (if any) has exited.
    struct LostChild: Error, CustomStringConvertible {
        let zygote: Zygote
        let ticket: ChildTicket
        let message: String
        var description: String { message }
    }

    /// Releases `lease` when the failed spawn's child has ended (at once if it never started).
    private func release(_ lease: Lease, after error: Error) {
        guard let lost = error as? LostChild else { release(lease); return }
        lost.ticket.whenEnded { [weak self] in
            lost.zygote.release(lost.ticket)
            if lost.ticket.currentExit == nil, let s = lease.cgroup { self?.pool?.killAll(s) }
            self?.release(lease)
        }
    }

    // MARK: - warm children

    /// What a child must have been started with to serve an execution: its kind and the
    /// limits fixed at fork (cgroup memory, CPU rlimit). Everything else travels in the
    /// `execute` frame.
    struct WarmShape: Equatable {
        let kind: ChildKind
        let memoryBytes: Int64
        let cpuSeconds: Int
    }

    /// A child forked before it was needed: it completes the whole sandbox setup (namespaces,
    /// cgroup, rlimits, uid, no_new_privs, seccomp) and then blocks reading its socket, so an
    /// execution only pays for sending its `execute` frame. It serves exactly one execution,
    /// like a child forked on demand; its slot's counters are read before the fork, so the
    /// CPU charged is the same as for a child forked on demand.
    struct WarmChild {
        let shape: WarmShape
        let zygote: Zygote
        let ticket: ChildTicket
        let lease: Lease
        let socket: Int32
        let cpuBefore: Int64?
        let oomBefore: Int64
    }

    /// The ready children of one shape, and how many are being forked for it.
    final class WarmSet {
        let shape: WarmShape
        var ready: [WarmChild] = []
        var forking = 0
        init(_ shape: WarmShape) { self.shape = shape }
    }

    /// Forks a child for `shape`; the caller uses it or keeps it ready.
    private func forkChild(_ shape: WarmShape) throws -> WarmChild {
        let policy = policies[shape.kind]!
        let lease = try self.lease(memoryBytes: shape.memoryBytes)
        let oomBefore = lease.cgroup.map { pool!.oomKills($0) } ?? 0
        let cpuBefore = lease.cgroup.flatMap { pool!.cpuMicros($0) }
        do {
            let c = try spawn(shape.kind, policy: policy, lease: lease, memoryBytes: shape.memoryBytes,
                              cpuSeconds: shape.cpuSeconds, entry: nil)
            Posix.setNonBlocking(c.socket)
            return WarmChild(shape: shape, zygote: c.zygote, ticket: c.ticket, lease: lease, socket: c.socket,
                             cpuBefore: cpuBefore, oomBefore: oomBefore)
        } catch {
            release(lease, after: error)
            throw error
        }
    }

    /// A ready child of this shape, if one is waiting (and still alive, from the live zygote).
    private func takeWarm(_ shape: WarmShape) -> WarmChild? {
        guard warmPerShape > 0 else { return nil }
        var dead: [WarmChild] = []
        defer { for w in dead { discard(w) } }
        lock.lock(); defer { lock.unlock() }
        guard let set = warm.first(where: { $0.shape == shape }) else { return nil }
        while !set.ready.isEmpty {
            let w = set.ready.removeFirst()
            if w.ticket.currentExit == nil && w.ticket.currentFailure == nil && w.zygote === zygote && zygote.isAlive {
                return w
            }
            dead.append(w)
        }
        return nil
    }

    /// Tops up the ready children of `shape`, the shape most recently asked for; a shape
    /// beyond `warmShapes` evicts the least recently used one. A shape seen for the first
    /// time is only remembered: children are forked ahead for shapes that recur.
    private func refillWarm(_ shape: WarmShape) {
        guard warmPerShape > 0 else { return }
        var evicted: [WarmChild] = []
        lock.lock()
        if closed { lock.unlock(); return }
        let set: WarmSet
        let recurring: Bool
        if let i = warm.firstIndex(where: { $0.shape == shape }) {
            set = warm.remove(at: i)
            recurring = true
        } else {
            set = WarmSet(shape)
            recurring = false
        }
        warm.append(set)
        while warm.count > Self.warmShapes { evicted += warm.removeFirst().ready }
        let missing = recurring ? max(0, warmPerShape - set.ready.count - set.forking) : 0
        set.forking += missing
        lock.unlock()
        for w in evicted { discard(w) }
        guard missing > 0 else { return }
        var fresh: [WarmChild] = []
        for _ in 0..<missing {
            guard let w = try? forkChild(shape) else { break }
            fresh.append(w)
        }
        lock.lock()
        set.forking -= missing
        let keep = !closed && warm.contains { $0 === set }
        if keep { set.ready += fresh }
        lock.unlock()
        if !keep { for w in fresh { discard(w) } }
    }

    /// Kills the ready children (they stay in the pool, dead) and waits for their exit; for tests.
    func killIdleChildrenForTesting() -> Int {
        lock.lock(); let idle = warm.flatMap(\.ready); lock.unlock()
        for w in idle { w.zygote.kill(w.ticket) }
        for w in idle { _ = w.ticket.waitExit(until: Posix.now() + 5) }
        return idle.count
    }

    /// Ends an unused child and frees its slot once it has exited.
    private func discard(_ w: WarmChild) {
        close(w.socket)  // an idle child reading its socket sees EOF and exits
        w.ticket.whenEnded { [weak self] in
            w.zygote.release(w.ticket)
            if w.ticket.currentExit == nil, let s = w.lease.cgroup { self?.pool?.killAll(s) }
            self?.release(w.lease)
        }
        if w.ticket.currentExit == nil { w.zygote.kill(w.ticket) }
    }

    // MARK: - executions

    /// Every limit of an execution is enforced here, by the supervisor, whatever the code in
    /// the child does (it may bypass `runner.py` entirely and write its own frames):
    /// - wall clock: `request.timeoutSeconds` on the monotonic clock, and never beyond the
    ///   deadline of the execution whose kernel call this one serves (a nested execution
    ///   started while serving a `call` frame ends no later than its parent);
    /// - CPU: RLIMIT_CPU of the policy's limit, lowered to `request.cpuLimitSeconds` (what
    ///   the payer can pay for), and the cgroup's cpu quota;
    ///   memory: the cgroup slot (else RLIMIT_AS), both set by the zygote before the fork
    ///   returns to Python (`zygote.py`), never by the runner;
    /// - output: the result is measured here (`ExecutionLimits.resultError`); too large is
    ///   EXECUTION_ERROR with `details.limit = "output"`, whatever the runner checked;
    /// - frames: no frame beyond `limits.max_frame_bytes` (a result beyond the output limit
    ///   is refused as it arrives); a reply too large for the child is replaced by an error;
    ///   at most `ExecutionLimits.maxKernelCalls` kernel calls per execution.
    public func execute(_ request: ExecutionRequest, kernelCalls: @escaping KernelCallHandler) -> ExecutionOutcome {
        let start = Posix.now()
        func elapsed() -> Int64 { CheckedNumber.micros(fromSeconds: Posix.now() - start) }
        func fail(_ code: ErrorCode, _ message: String) -> ExecutionOutcome {
            ExecutionOutcome(result: .failure(KernelError(code, message)), cpuMicros: 0, wallMicros: elapsed())
        }
        let policy = policies[request.kind]!
        var timeout = request.timeoutSeconds.isFinite && request.timeoutSeconds > 0
            ? request.timeoutSeconds : (policy.wallTimeoutSeconds ?? config.limits.invokeTimeoutSeconds)
        if let enclosing = ExecutionLimits.enclosingDeadline {
            let left = enclosing - start
            if left <= 0 {
                return fail(.timeout, "the execution this one serves has reached its wall-clock deadline; nothing was started")
            }
            timeout = min(timeout, left)
        }
        let deadline = start + timeout
        let memory = request.memoryLimitBytes > 0 ? request.memoryLimitBytes : policy.cgroup.memoryBytes
        // A result travels in one frame: the output limit never exceeds the frame limit.
        let frameLimit = max(4096 + 1024, config.limits.maxFrameBytes)
        let maxOutput = min(request.maxOutputBytes > 0 ? min(request.maxOutputBytes, policy.maxOutputBytes) : policy.maxOutputBytes,
                            frameLimit - 4096)
        // The CPU limit is fixed at fork and part of the warm-child shape: it depends on the
        // policy and on what the payer can pay, never on the (varying) time left.
        var cpuLimit = policy.rlimits.cpuSeconds ?? ExecutionRequest.wholeSeconds(timeout)
        if let paid = request.cpuLimitSeconds { cpuLimit = min(cpuLimit, max(1, paid)) }

        // A fresh child for this execution: one forked ahead of time for this shape, else now.
        let shape = WarmShape(kind: request.kind, memoryBytes: memory, cpuSeconds: cpuLimit)
        var child: WarmChild
        let ready = takeWarm(shape)
        // Replacements are forked by the zygote while this child runs.
        if warmPerShape > 0 { refillQueue.async { [weak self] in self?.refillWarm(shape) } }
        if let ready {
            child = ready
        } else {
            do { child = try forkChild(shape) } catch { return fail(.internal, "sandbox: \(error)") }
        }

        var message = ExecuteMessage(request)
        message.maxOutputBytes = maxOutput
        let executeFrame = Frame.encode(WireMessage.execute(message).json)
        var sent = Posix.sendAll(child.socket, executeFrame, deadline: deadline)
        if !sent && Posix.now() < deadline {
            // The child's end is closed before it took its execute frame: it died waiting
            // (killed from outside while warm), so the code never ran. A fresh child runs it.
            discard(child)
            do { child = try forkChild(shape) } catch { return fail(.internal, "sandbox: \(error)") }
            sent = Posix.sendAll(child.socket, executeFrame, deadline: deadline)
        }
        let lease = child.lease, z = child.zygote, ticket = child.ticket, mine = child.socket
        let oomBefore = child.oomBefore, cpuBefore = child.cpuBefore
        defer { close(mine) }

        var result: Envelope?
        var protocolError: KernelError?
        /// A limit the child broke that ends the execution (output, kernel calls).
        var limitError: KernelError?
        var timedOut = false
        var killed = false
        var callsServed = 0

        if !sent {
            timedOut = Posix.now() >= deadline
        } else {
            var decoder = FrameDecoder(maxFrameBytes: frameLimit)
            var buf = [UInt8](repeating: 0, count: 65_536)
            serve: while true {
                let ev = Posix.poll(mine, events: Int16(POLLIN), deadline: deadline)
                if ev == 0 { timedOut = true; break }
                let n = buf.withUnsafeMutableBytes { recv(mine, $0.baseAddress, $0.count, 0) }
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                do {
                    if n <= 0 {
                        try decoder.finish()
                        break
                    }
                    decoder.append(buf[0..<n])
                    while let frame = try decoder.next() {
                        switch try WireMessage(json: frame) {
                        case .call(let id, let action, let params):
                            callsServed += 1
                            if callsServed > ExecutionLimits.maxKernelCalls {
                                limitError = ExecutionLimits.kernelCallsError()
                                break serve
                            }
                            // Served on this thread: a nested execution it starts inherits this deadline.
                            let reply: Envelope = policy.kernelCallsAllowed
                                ? ExecutionLimits.serving(until: deadline) { kernelCalls(action, params) }
                                : .failure(KernelError(.accessDenied, "contracts are pure: kernel calls are refused"))
                            _ = Posix.sendAll(mine, ExecutionLimits.replyFrame(id: id, action: action, reply, frameLimit: frameLimit),
                                              deadline: deadline)
                            // Serving the call did not pause this execution's clock.
                            if Posix.now() >= deadline { timedOut = true; break serve }
                        case .result(let id, let response):
                            guard id == WireMessage.executeID else { throw MessageError("result for unknown id \(id)") }
                            if let tooLarge = ExecutionLimits.resultError(response, maxOutputBytes: maxOutput) {
                                limitError = tooLarge
                            } else {
                                result = ExecutionLimits.attributed(response)
                            }
                            break serve
                        case .reply(let id, _):
                            throw MessageError("child sent a reply to unknown id \(id)")
                        case let other:
                            throw MessageError("unexpected \(other.type) message from child")
                        }
                    }
                } catch let e as FrameError {
                    protocolError = e.kernelError; break
                } catch let e as MessageError {
                    protocolError = e.kernelError; break
                } catch {
                    protocolError = KernelError(.protocolError, "\(error)"); break
                }
            }
        }
        // Fast path: the child answered. Its CPU comes from the slot's cgroup counter, and
        // the slot is recycled when the exit record arrives, off the caller's critical path.
        if let result, protocolError == nil, limitError == nil, !timedOut, let slot = lease.cgroup, let pool,
           let before = cpuBefore, let now = pool.cpuMicros(slot) {
            ticket.whenEnded { [weak self] in
                z.release(ticket)
                if ticket.currentExit == nil { pool.killAll(slot) }
                self?.release(lease)
            }
            if ticket.currentExit == nil {
                // An answered child has nothing left to do: kill it if it lingers.
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Self.lingerMillis)) {
                    if ticket.currentExit == nil { z.kill(ticket) }
                }
            }
            return ExecutionOutcome(result: result.asResult, cpuMicros: max(0, now - before), wallMicros: elapsed())
        }
        defer { z.release(ticket) }
        if result == nil || protocolError != nil || limitError != nil || timedOut {
            z.kill(ticket); killed = true
        }
        // A child that answered exits at once; give it a moment, then kill it.
        var exit = ticket.waitExit(until: Posix.now() + (killed ? 5 : 0.5))
        if exit == nil && !killed {
            z.kill(ticket); killed = true
            exit = ticket.waitExit(until: Posix.now() + 5)
        }
        guard let exit else {
            // The zygote is gone or wedged: its children died with it (pdeathsig / pid ns).
            if let s = lease.cgroup { pool?.killAll(s) }
            // No exit record, but the slot's counter still measured the child: it is charged.
            let measured = lease.cgroup.flatMap { pool?.cpuMicros($0) }.flatMap { now in cpuBefore.map { max(0, now - $0) } } ?? 0
            release(lease)
            var lost = fail(.internal, "sandbox: lost track of the child (\(ticket.currentFailure ?? "no exit record"))")
            lost.cpuMicros = measured
            return lost
        }
        let oomAfter = lease.cgroup.map { pool!.oomKills($0) } ?? 0
        release(lease)

        var outcome = ExecutionOutcome(result: .failure(KernelError(.internal, "unclassified")), cpuMicros: exit.cpuMicros,
                                       wallMicros: elapsed(), peakMemoryBytes: exit.maxRSSBytes)
        outcome.result = classify(exit: exit, result: result, protocolError: protocolError, timedOut: timedOut,
                                  oom: oomAfter > oomBefore, cpuLimit: cpuLimit, timeout: timeout,
                                  violated: &outcome.violatedSyscall)
        // A broken limit is the answer, unless the child was killed for something worse first.
        if let limitError, outcome.violatedSyscall == nil, !timedOut, oomAfter <= oomBefore { outcome.result = .failure(limitError) }
        return outcome
    }

    /// How long an answered child may take to exit before it is killed (its CPU after the
    /// answer is not charged).
    static let lingerMillis = 50

    private func classify(exit: ChildExit, result: Envelope?, protocolError: KernelError?, timedOut: Bool, oom: Bool,
                          cpuLimit: Int, timeout: Double, violated: inout String?) -> Result<JSONValue, KernelError> {
        if let nr = exit.syscall {
            let name = SeccompCompiler.syscallName(nr)
            violated = name
            return .failure(KernelError(.sandboxViolation, "blocked syscall \(name)",
                                        details: ["syscall": .string(name), "number": .int(Int64(nr))]))
        }
        if exit.signal == SIGSYS {
            violated = "unknown"
            return .failure(KernelError(.sandboxViolation, "killed by seccomp (syscall not reported)",
                                        details: ["signal": "SIGSYS"]))
        }
        if oom {
            return .failure(KernelError(.outOfMemory, "the child exceeded its memory limit", details: ["limit": "memory"]))
        }
        if let result, result.error?.code == .outOfMemory { return Envelope(json: result.json).asResult }
        if timedOut {
            return .failure(KernelError(.timeout, "execution exceeded its wall-clock limit of \(timeout) s",
                                        details: ["limit": "wall", "seconds": .number(timeout)]))
        }
        if exit.signal == SIGXCPU || (exit.signal == SIGKILL && exit.cpuMicros >= Int64(cpuLimit).saturatingMultiply(1_000_000)) {
            return .failure(KernelError(.timeout, "execution exceeded its CPU limit of \(cpuLimit) s",
                                        details: ["limit": "cpu", "seconds": .int(Int64(cpuLimit))]))
        }
        if let protocolError { return .failure(protocolError) }
        if let result { return result.asResult }
        if let s = exit.signal {
            return .failure(KernelError(.executionError, "the child was killed by signal \(s)", details: ["signal": .int(Int64(s))]))
        }
        return .failure(KernelError(.protocolError, "the child exited (code \(exit.exitCode ?? -1)) without a result"))
    }

    // MARK: - agents

    /// Starts a long-lived child of kind `agent` running `entry` (a script path relative to
    /// `sandbox/`) with its socket as fd 3. The caller owns the returned handle.
    public func spawnAgent(entry: String, memoryBytes: Int64? = nil) throws -> AgentProcess {
        let policy = policies[.agent]!
        let memory = memoryBytes ?? policy.cgroup.memoryBytes
        let lease = try self.lease(memoryBytes: memory)
        // Slots are reused and their CPU counter is cumulative: the agent's CPU is what it adds.
        let cpuBaseline = cgroupCPU(lease) ?? 0
        let c: Started
        do {
            c = try spawn(.agent, policy: policy, lease: lease, memoryBytes: memory, cpuSeconds: nil, entry: entry)
        } catch {
            // The lease is given up exactly once, after the child (if any) has exited: a
            // second release would hand the slot to two children.
            release(lease, after: error)
            throw SandboxError("agent child did not start: \(error)")
        }
        return AgentProcess(executor: self, zygote: c.zygote, ticket: c.ticket, lease: lease, socket: c.socket,
                            namespacePid: c.nsPid, hostPid: c.hostPid, cpuBaseline: cpuBaseline)
    }

    func cgroupCPU(_ lease: Lease) -> Int64? { lease.cgroup.flatMap { pool?.cpuMicros($0) } }
    func setFrozen(_ lease: Lease, _ frozen: Bool) -> Bool { lease.cgroup.map { pool?.setFrozen($0, frozen) ?? false } ?? false }
    /// Frees an agent's slot; a child lost with its zygote leaves nothing behind in it.
    /// The slot is thawed first: a child can end frozen (cgroup v2 delivers SIGKILL to
    /// frozen tasks), and a frozen slot would freeze the next child that joins it.
    func finish(_ lease: Lease, lost: Bool = false) {
        if lost, let s = lease.cgroup { pool?.killAll(s) }
        _ = setFrozen(lease, false)
        release(lease)
    }
}

extension Envelope {
    var asResult: Result<JSONValue, KernelError> {
        switch self {
        case .ok(let v): return .success(v)
        case .failure(let e): return .failure(e)
        }
    }
}
