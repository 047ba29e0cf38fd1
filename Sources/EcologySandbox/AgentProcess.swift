import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A long-lived sandboxed agent child. The supervisor talks to it over `socket` (frames of
/// EcologyWire), charges `cpuMicros()` continuously, and may freeze, thaw, stop or kill it.
public final class AgentProcess: @unchecked Sendable {
    // Safe: the `let`s are immutable and Sendable (the executor, zygote and ticket are
    // thread-safe themselves). `finished` and `socketDetached` are only read or written
    // while `lock` is held (`signalKill` and `setFrozen` hold it across their cgroup
    // writes, so that `finish` cannot release the slot in between).
    /// The supervisor's end of the child's socketpair: owned by this handle (closed by
    /// `stop`/`kill`) until `detachSocket` hands it to an event loop.
    public let socket: Int32
    /// The child's pid in the host (supervisor's) pid namespace, when the kernel reported it.
    public let hostPid: Int32?
    /// The child's pid inside the sandbox pid namespace.
    public let namespacePid: Int32
    private let executor: SandboxedExecutor
    private let zygote: Zygote
    private let ticket: ChildTicket
    private let lease: SandboxedExecutor.Lease
    /// The slot's cgroup CPU counter before this child started (earlier occupants' CPU).
    private let cpuBaseline: Int64
    private let lock = NSLock()
    private var finished = false
    /// Set by `detachSocket`: the descriptor belongs to someone else, who closes it; this
    /// handle never touches it again (its number may be reused once they have).
    private var socketDetached = false

    init(executor: SandboxedExecutor, zygote: Zygote, ticket: ChildTicket, lease: SandboxedExecutor.Lease,
         socket: Int32, namespacePid: Int32, hostPid: Int32?, cpuBaseline: Int64) {
        self.executor = executor; self.zygote = zygote; self.ticket = ticket; self.lease = lease
        self.socket = socket; self.namespacePid = namespacePid; self.hostPid = hostPid; self.cpuBaseline = cpuBaseline
    }

    deinit { _ = kill() }

    /// The pid to show operators: the host pid when known.
    public var pid: Int32 { hostPid ?? namespacePid }

    /// The exit, once the child has ended.
    public var exit: ChildExit? { ticket.currentExit }

    /// Why the child is gone without an exit record, if it is: its zygote died (the pid
    /// namespace took the child with it), so no exit will ever be reported.
    public var lostReason: String? { ticket.currentExit == nil ? ticket.currentFailure : nil }

    /// Whether the child has ended: exited, or lost with its zygote.
    public var hasEnded: Bool { ticket.currentExit != nil || ticket.currentFailure != nil }

    /// CPU used so far (user + system) in microseconds: the cgroup's counter, else /proc.
    public func cpuMicros() -> Int64 {
        if let e = ticket.currentExit { return e.cpuMicros }
        if let c = executor.cgroupCPU(lease) { return max(0, c - cpuBaseline) }
        guard let hostPid, let stat = Posix.readFile("/proc/\(hostPid)/stat"),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let u = Int64(fields[11]), let s = Int64(fields[12]) else { return 0 }
        return (u + s) * 1_000_000 / Int64(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Freezes every process of the agent (cgroup freezer, else SIGSTOP). False once the
    /// child has ended.
    @discardableResult
    public func freeze() -> Bool { setFrozen(true) }

    /// Thaws what `freeze` froze. False once the child has ended.
    @discardableResult
    public func thaw() -> Bool { setFrozen(false) }

    /// Under the lock and only while the handle is not finished, like `signalKill`: once
    /// `finish` has released the slot it may belong to another agent, whose freezer state
    /// this must never change (the supervisor's window can still hold this handle then).
    private func setFrozen(_ frozen: Bool) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard !finished, ticket.currentExit == nil else { return false }
        if executor.setFrozen(lease, frozen) { return true }
        guard let hostPid else { return false }
        return Glibc.kill(hostPid, frozen ? SIGSTOP : SIGCONT) == 0
    }

    /// Waits for the child to end on its own.
    public func waitExit(timeout: Double) -> ChildExit? {
        let e = ticket.waitExit(until: Posix.now() + timeout)
        if hasEnded { finish() }
        return e
    }

    /// Closes the socket (the agent sees EOF), waits `grace` seconds, then kills.
    public func stop(grace: Double = 1) -> ChildExit? {
        closeSocket()
        if let e = waitExit(timeout: grace) { return e }
        return kill()
    }

    /// Like `stop`, without waiting: closes the socket now and kills the child `grace`
    /// seconds later if it is still running. Whoever owns the handle still reaps it
    /// (`waitExit`, `stop` or `kill`). For stopping many agents at once: a blocked thread
    /// per stop would queue thousands of stops behind the dispatch pool's thread limit.
    public func requestStop(grace: Double) {
        closeSocket()
        DispatchQueue.global().asyncAfter(deadline: .now() + grace) { [self] in signalKill() }
    }

    /// SIGKILL (thawing first, so a frozen child can die), then reaps.
    @discardableResult
    public func kill() -> ChildExit? {
        signalKill()
        let e = ticket.waitExit(until: Posix.now() + 5)
        finish()
        return e
    }

    /// Gives the socket to a new owner (the supervisor's event loop), who closes it. From
    /// then on `stop`, `requestStop` and `kill` leave the descriptor alone: the owner closes
    /// it first (the agent reads EOF), then stops the child. Nil if the handle is already
    /// finished or the socket was already detached.
    public func detachSocket() -> Int32? {
        lock.lock(); defer { lock.unlock() }
        guard !finished, !socketDetached else { return nil }
        socketDetached = true
        return socket
    }

    /// Shuts the socket down (the agent reads EOF) unless the handle is already finished
    /// (then the descriptor is closed and its number may belong to someone else) or the
    /// socket was detached (its owner closes it).
    private func closeSocket() {
        lock.lock(); defer { lock.unlock() }
        if !finished && !socketDetached { Glibc.shutdown(socket, Int32(SHUT_RDWR)) }
    }

    /// Thaws and SIGKILLs the child unless it has ended. Under the lock, so the slot cannot
    /// have been released (and handed to another agent, whose freezer state this would
    /// change) in between.
    private func signalKill() {
        lock.lock(); defer { lock.unlock() }
        guard !finished, ticket.currentExit == nil else { return }
        _ = executor.setFrozen(lease, false)
        zygote.kill(ticket)
    }

    /// Gives up the socket, the ticket and the slot, once the child has ended (exited, or
    /// lost with its zygote: then nothing of it may stay in the slot's cgroup).
    private func finish() {
        lock.lock()
        if finished || !hasEnded { lock.unlock(); return }
        finished = true
        let ownsSocket = !socketDetached
        lock.unlock()
        if ownsSocket { Glibc.close(socket) }
        zygote.release(ticket)
        executor.finish(lease, lost: lostReason != nil)
    }
}
