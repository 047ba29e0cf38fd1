import Foundation
#if canImport(Glibc)
import Glibc
#endif
import EcologyCore

/// How a sandboxed child ended, as the zygote saw it in `wait4`.
public struct ChildExit: Sendable, Equatable {
    public var pid: Int32
    public var exitCode: Int32?
    public var signal: Int32?
    public var userMicros: Int64
    public var systemMicros: Int64
    public var maxRSSBytes: Int64
    /// Set when the seccomp reporter caught a denied syscall.
    public var syscall: Int32?
    public var cpuMicros: Int64 { userMicros + systemMicros }
}

/// One child's bookkeeping between `spawn` and its `exited` record.
final class ChildTicket: @unchecked Sendable {
    // Safe: `id` is immutable. `nsPid`, `hostPid`, `exit`, `failure`, `onEnd`, `socket` and
    // `socketAbandoned` are only read or written while `cond` is locked (`fireEnd` is
    // entered with it locked and unlocks it before running `onEnd`; `deinit` runs when no
    // other thread holds the ticket). An NSCondition rather than a Mutex: `waitExit` and
    // `waitSpawned` wait for the reader thread's records.
    let id: Int64
    private let cond = NSCondition()
    private var nsPid: Int32?
    private var hostPid: Int32?
    private var exit: ChildExit?
    private var failure: String?
    private var onEnd: (() -> Void)?
    /// The supervisor's end of the child's socket, from the `spawned` record, until taken.
    private var socket: Int32?
    private var socketAbandoned = false

    init(id: Int64) { self.id = id }

    deinit { if let socket { close(socket) } }

    /// Runs `body` once the child has exited (or the zygote died), at once if it already has.
    func whenEnded(_ body: @escaping () -> Void) {
        cond.lock()
        if exit != nil || failure != nil { cond.unlock(); body(); return }
        onEnd = body
        cond.unlock()
    }

    private func fireEnd() {
        let body = onEnd
        onEnd = nil
        cond.broadcast()
        cond.unlock()
        body?()
    }

    func spawned(nsPid: Int32, hostPid: Int32?, socket: Int32?) {
        cond.lock()
        self.nsPid = nsPid; self.hostPid = hostPid
        if let socket {
            if socketAbandoned || self.socket != nil { close(socket) } else { self.socket = socket }
        }
        cond.broadcast(); cond.unlock()
    }

    /// Waits for the `spawned` record and takes the supervisor's end of the child's socket:
    /// the caller owns it from then on. nil if the child was not started (or the record
    /// carried no socket) before the deadline.
    func takeSocket(until deadline: Double) -> (socket: Int32, nsPid: Int32, hostPid: Int32?)? {
        _ = waitSpawned(until: deadline)
        cond.lock(); defer { cond.unlock() }
        socketAbandoned = true  // taken once: a later copy would be a stray descriptor
        guard let s = socket, let nsPid else { return nil }
        socket = nil
        return (s, nsPid, hostPid)
    }

    /// Nobody will take the socket (the spawn is being given up): it is closed now, or as
    /// soon as a late `spawned` record brings it.
    func abandonSocket() {
        cond.lock(); defer { cond.unlock() }
        socketAbandoned = true
        if let s = socket { close(s); socket = nil }
    }
    func exited(_ e: ChildExit) { cond.lock(); exit = e; fireEnd() }
    func failed(_ message: String) { cond.lock(); failure = message; fireEnd() }

    /// Waits for the exit record until the monotonic deadline.
    func waitExit(until deadline: Double) -> ChildExit? {
        cond.lock(); defer { cond.unlock() }
        while exit == nil && failure == nil {
            let left = deadline - Posix.now()
            if left <= 0 { break }
            _ = cond.wait(until: Date(timeIntervalSinceNow: left))
        }
        return exit
    }

    func waitSpawned(until deadline: Double) -> (Int32?, Int32?) {
        cond.lock(); defer { cond.unlock() }
        while nsPid == nil && exit == nil && failure == nil {
            let left = deadline - Posix.now()
            if left <= 0 { break }
            _ = cond.wait(until: Date(timeIntervalSinceNow: left))
        }
        return (nsPid, hostPid)
    }

    var currentExit: ChildExit? { cond.lock(); defer { cond.unlock() }; return exit }
    var currentFailure: String? { cond.lock(); defer { cond.unlock() }; return failure }
}

/// The supervisor's handle on `sandbox/zygote.py`, the pre-initialised Python fork-server.
/// Started with posix_spawn (the multithreaded supervisor never forks) and a SOCK_SEQPACKET
/// control socket; one reader thread dispatches the zygote's records to waiting callers.
final class Zygote: @unchecked Sendable {
    // Safe: the `let`s are immutable (`ctrl` is a descriptor number; writes to it are
    // serialized by `sendLock`, reads happen on the reader thread alone). `tickets`,
    // `nextID` and `dead` are only read or written while `lock` is held; `ctrlOpen` only
    // while `sendLock` is held. `reader` is written once, in `init`, before any other
    // thread can see the zygote (the reader thread itself never reads it), and only read
    // afterwards (`shutdown`).
    struct Options {
        var python: String
        var sandboxDir: String
        var filters: [ChildKind: [UInt8]]
        var environment: [String: String]
        var namespaces: SandboxPolicy.Namespaces
        var preload: Preload = .userCode
        /// The zygote server's own seccomp filter (`SeccompPolicy.zygote`), inherited by
        /// every child beneath its own.
        var zygoteFilter: [UInt8]
        /// The outer zygote process's filter (`SeccompPolicy.zygoteWaiter`).
        var waiterFilter: [UInt8]
        /// `limits.max_frame_bytes`: the children's wire module takes the same limit.
        var maxFrameBytes: Int = 1 << 20
    }

    /// The capabilities the zygote server keeps (effective and permitted; its inheritable,
    /// ambient and bounding sets are empty), each for a step of a child's setup or for the
    /// server itself. docs/SANDBOX.md lists them with the reason; everything else is dropped
    /// before the zygote serves its first spawn.
    static let keptCapabilities: [(name: String, number: Int, why: String)] = [
        ("CAP_KILL", 5, "SIGKILL to its children, which run under other uids (kill records, shutdown)"),
        ("CAP_SETGID", 6, "a child's setgroups([]) and setresgid to the sandbox gid"),
        ("CAP_SETUID", 7, "a child's setresuid to its slot's uid (which also drops every capability)"),
        ("CAP_SYS_ADMIN", 21, "a child's unshare(CLONE_NEWNS | CLONE_NEWCGROUP) and its /tmp tmpfs mount; "
            + "SCM_CREDENTIALS naming the child's pid in the spawned record"),
    ]

    /// What the zygote's Python runs: the script is read from fd 4 and compiled under the
    /// name it has inside the sandbox, so neither the zygote's command line (which every
    /// child inherits in /proc/self/cmdline) nor its code objects carry the host path of
    /// the sandbox directory.
    static let bootstrap = "import sys;f=open(4,'rb');s=f.read();f.close();exec(compile(s,'/sandbox/zygote.py','exec'))"

    /// What the zygote imports before forking (`preload` in `sandbox/zygote.py`): every
    /// child inherits it for free, and also carries it in its RSS.
    enum Preload: String {
        /// The standard modules tools commonly import: for artifact and contract executions.
        case userCode = "user_code"
        /// Only what the agent runtime imports: for long-lived agent children.
        case agent
    }

    let processID: pid_t
    let serverHostPid: Int32?
    let layers: [String: Bool]
    let warnings: [String]
    private let ctrl: Int32
    private let lock = NSLock()
    private var tickets: [Int64: ChildTicket] = [:]
    private var nextID: Int64 = 1
    private var dead: String?
    private var reader: Thread?
    /// Guards every write to `ctrl` and its closing: once closed, its number may belong to
    /// another descriptor (a child's socket), which a late `kill` must never write to.
    private let sendLock = NSLock()
    private var ctrlOpen = true

    init(_ options: Options, startTimeout: Double = 20) throws {
        let (mine, theirs0) = try Posix.socketPair(type: Int32(SOCK_SEQPACKET.rawValue))
        var theirs = theirs0
        if theirs == 3 { theirs = fcntl(theirs0, F_DUPFD_CLOEXEC, 10); close(theirs0) }
        var on: Int32 = 1
        setsockopt(mine, SOL_SOCKET, SO_PASSCRED, &on, socklen_t(MemoryLayout<Int32>.size))

        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&fa, theirs, 3)
        posix_spawn_file_actions_addopen(&fa, 4, options.sandboxDir + "/zygote.py", O_RDONLY, 0)
        // The sandbox directory as a descriptor: the zygote copies the scripts from it and
        // never holds the host path (which every child would inherit in its memory).
        posix_spawn_file_actions_addopen(&fa, 5, options.sandboxDir, O_RDONLY | O_DIRECTORY, 0)
        // Descriptors other threads opened without O_CLOEXEC: the zygote closes all >= 6 first thing.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t(); sigemptyset(&empty)
        var all = sigset_t(); sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = [options.python, "-I", "-S", "-B", "-c", Zygote.bootstrap]
        let envp = options.environment.keys.sorted().map { "\($0)=\(options.environment[$0]!)" }
        var cArgv = argv.map { strdup($0) } + [nil]
        var cEnv = envp.map { strdup($0) } + [nil]
        defer { cArgv.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, options.python, &fa, &attr, &cArgv, &cEnv)
        close(theirs)
        guard rc == 0 else {
            close(mine)
            throw SandboxError("posix_spawn \(options.python): \(String(cString: strerror(rc)))")
        }
        processID = pid
        ctrl = mine

        let filters = JSONValue.object(Dictionary(uniqueKeysWithValues: options.filters.map {
            ($0.key.rawValue, JSONValue.string(Data($0.value).base64EncodedString()))
        }))
        let ns = options.namespaces
        let initMsg: JSONValue = [
            "type": "init", "filters": filters,
            "preload": .string(options.preload.rawValue),
            "zygote_filter": .string(Data(options.zygoteFilter).base64EncodedString()),
            "waiter_filter": .string(Data(options.waiterFilter).base64EncodedString()),
            "keep_capabilities": .array(Zygote.keptCapabilities.map { .int(Int64($0.number)) }),
            "max_frame_bytes": .int(Int64(options.maxFrameBytes)),
            "env": .object(options.environment.mapValues(JSONValue.string)),
            "namespaces": ["net": .bool(ns.net), "pid": .bool(ns.pid), "mount": .bool(ns.mount),
                           "ipc": .bool(ns.ipc), "uts": .bool(ns.uts)],
        ]
        guard Zygote.sendRecord(mine, JSONCodec.encode(initMsg), fds: []) else {
            Zygote.reap(pid, kill: true); close(mine)
            throw SandboxError("zygote did not accept its init record: \(Posix.errnoText)")
        }
        let answer = Posix.poll(mine, events: Int16(POLLIN), deadline: Posix.now() + startTimeout) & Int16(POLLIN) != 0
            ? Zygote.recvRecord(mine) : nil
        answer?.2.forEach { close($0) }  // `ready` carries no descriptor
        guard let (record, creds, _) = answer, let ready = record, ready["type"]?.stringValue == "ready" else {
            Zygote.reap(pid, kill: true); close(mine)
            throw SandboxError("zygote did not start (python \(options.python), dir \(options.sandboxDir))")
        }
        layers = ready["layers"]?.objectValue?.compactMapValues(\.boolValue) ?? [:]
        warnings = ready["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        serverHostPid = creds
        let t = Thread { [unowned self] in self.readLoop() }
        t.name = "ecology-zygote-reader"
        reader = t
        t.start()
    }

    deinit { shutdown() }

    var isAlive: Bool { lock.lock(); defer { lock.unlock() }; return dead == nil }

    /// Asks the zygote to fork a child that runs as `kind`. The zygote makes the child's
    /// socketpair itself, in the children's network namespace (a socket answers socket
    /// ioctls about the namespace it was made in, so one made here would describe the
    /// host's interfaces), and passes the supervisor's end back with the `spawned` record:
    /// `ChildTicket.takeSocket`. The child attaches itself to its cgroup slot by writing
    /// "0" to each of `cgroupProcs` (that slot's `cgroup.procs` files, which the caller
    /// closes afterwards).
    func spawn(kind: ChildKind, cgroupProcs: [Int32], uid: UInt32, gid: UInt32, rlimits: [String: Int64], tmpBytes: Int64,
               entry: String?) throws -> ChildTicket {
        lock.lock()
        if let dead { lock.unlock(); throw SandboxError("zygote is gone: \(dead)") }
        let id = nextID; nextID += 1
        let ticket = ChildTicket(id: id)
        tickets[id] = ticket
        lock.unlock()
        var msg: [String: JSONValue] = [
            "type": "spawn", "id": .int(id), "kind": .string(kind.rawValue), "uid": .int(Int64(uid)),
            "gid": .int(Int64(gid)), "rlimits": .object(rlimits.mapValues(JSONValue.int)), "tmp_bytes": .int(tmpBytes),
        ]
        if !cgroupProcs.isEmpty { msg["cgroup_fds"] = .int(Int64(cgroupProcs.count)) }
        if let entry { msg["entry"] = .string(entry) }
        guard send(JSONCodec.encode(.object(msg)), fds: cgroupProcs) else {
            lock.lock(); tickets[id] = nil; lock.unlock()
            throw SandboxError("zygote control socket: \(Posix.errnoText)")
        }
        return ticket
    }

    /// SIGKILL from the zygote, the child's parent: no pid-reuse race.
    func kill(_ ticket: ChildTicket) {
        _ = send(JSONCodec.encode(["type": "kill", "id": .int(ticket.id)]), fds: [])
    }

    private func send(_ data: Data, fds: [Int32]) -> Bool {
        sendLock.lock(); defer { sendLock.unlock() }
        guard ctrlOpen else { errno = EPIPE; return false }
        return Zygote.sendRecord(ctrl, data, fds: fds)
    }

    /// Forgets a ticket whose exit has been collected.
    func release(_ ticket: ChildTicket) {
        lock.lock(); tickets[ticket.id] = nil; lock.unlock()
    }

    func shutdown() {
        lock.lock()
        let wasAlive = dead == nil
        if wasAlive { dead = "shut down" }
        lock.unlock()
        guard wasAlive else { return }
        Glibc.shutdown(ctrl, Int32(SHUT_RDWR))
        Zygote.reap(processID, kill: false)
        if let reader, !Thread.current.isEqual(reader) {
            while !reader.isFinished { usleep(1000) }
        }
        sendLock.lock()
        ctrlOpen = false
        close(ctrl)
        sendLock.unlock()
    }

    // MARK: - control records

    private func readLoop() {
        while true {
            guard let (record, creds, fds) = Zygote.recvRecord(ctrl) else { break }
            // Only a `spawned` record carries a descriptor (the child's socket); any other is closed.
            let isSpawned = record?["type"]?.stringValue == "spawned"
            let socket = isSpawned && fds.count == 1 ? fds.first : nil
            for fd in fds where fd != socket { close(fd) }
            guard let msg = record else { continue }  // not JSON: ignored (only the zygote writes here)
            let id = msg["id"]?.intValue ?? -1
            lock.lock(); let ticket = tickets[id]; lock.unlock()
            guard let ticket else {
                if let socket { close(socket) }
                continue
            }
            switch msg["type"]?.stringValue {
            // Clamped, not converted: a status field relayed from a child (the syscall number
            // its SIGSYS reporter wrote, which ctypes code can forge) must not trap the supervisor.
            case "spawned":
                ticket.spawned(nsPid: Int32(clamping: msg["pid"]?.intValue ?? -1), hostPid: creds, socket: socket)
            case "exited":
                let e = ChildExit(pid: Int32(clamping: msg["pid"]?.intValue ?? -1),
                                  exitCode: msg["exit_code"]?.intValue.map { Int32(clamping: $0) },
                                  signal: msg["signal"]?.intValue.map { Int32(clamping: $0) },
                                  userMicros: msg["utime_us"]?.intValue ?? 0, systemMicros: msg["stime_us"]?.intValue ?? 0,
                                  maxRSSBytes: (msg["maxrss_kb"]?.intValue ?? 0).saturatingMultiply(1024),
                                  syscall: msg["syscall"]?.intValue.map { Int32(clamping: $0) })
                ticket.exited(e)
            case "error":
                ticket.failed(msg["message"]?.stringValue ?? "zygote error")
            default:
                continue
            }
        }
        lock.lock()
        if dead == nil { dead = "zygote exited" }
        let all = Array(tickets.values)
        lock.unlock()
        for t in all { t.failed("zygote exited") }
    }

    static func reap(_ pid: pid_t, kill: Bool) {
        if kill { Glibc.kill(pid, SIGKILL) }
        var status: Int32 = 0
        let deadline = Posix.now() + 2
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Posix.now() > deadline { Glibc.kill(pid, SIGKILL) }
            usleep(500)
        }
    }

    static func sendRecord(_ fd: Int32, _ data: Data, fds: [Int32]) -> Bool {
        var bytes = [UInt8](data)
        let space = fds.isEmpty ? 0 : 16 + ((fds.count * 4 + 7) & ~7)
        var control = [UInt8](repeating: 0, count: max(space, 1))
        if !fds.isEmpty {
            control.withUnsafeMutableBytes { p in
                p.storeBytes(of: 16 + fds.count * 4, toByteOffset: 0, as: Int.self)
                p.storeBytes(of: SOL_SOCKET, toByteOffset: 8, as: Int32.self)
                p.storeBytes(of: Int32(SCM_RIGHTS), toByteOffset: 12, as: Int32.self)
                for (i, f) in fds.enumerated() { p.storeBytes(of: f, toByteOffset: 16 + 4 * i, as: Int32.self) }
            }
        }
        return bytes.withUnsafeMutableBytes { b in
            control.withUnsafeMutableBytes { c in
                var iov = iovec(iov_base: b.baseAddress, iov_len: b.count)
                return withUnsafeMutablePointer(to: &iov) { iovp in
                    var mh = msghdr()
                    mh.msg_iov = iovp
                    mh.msg_iovlen = 1
                    if space > 0 { mh.msg_control = c.baseAddress; mh.msg_controllen = space }
                    while true {
                        let n = sendmsg(fd, &mh, Int32(MSG_NOSIGNAL))
                        if n < 0 && errno == EINTR { continue }
                        return n == b.count
                    }
                }
            }
        }
    }

    /// One record (nil if it is not JSON), the sender pid from SCM_CREDENTIALS (translated
    /// into our pid namespace) and the descriptors of an SCM_RIGHTS message (received
    /// close-on-exec; the caller owns them); nil at end of stream.
    static func recvRecord(_ fd: Int32) -> (JSONValue?, Int32?, [Int32])? {
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        // Room for the credentials and a few descriptors (the kernel drops descriptors that
        // do not fit; no record carries more than one).
        var control = [UInt8](repeating: 0, count: 256)
        while true {
            let result: (Int, Int32?, [Int32]) = buf.withUnsafeMutableBytes { b in
                control.withUnsafeMutableBytes { c in
                    var iov = iovec(iov_base: b.baseAddress, iov_len: b.count)
                    return withUnsafeMutablePointer(to: &iov) { iovp in
                        var mh = msghdr()
                        mh.msg_iov = iovp; mh.msg_iovlen = 1
                        mh.msg_control = c.baseAddress; mh.msg_controllen = c.count
                        let n = recvmsg(fd, &mh, Int32(MSG_CMSG_CLOEXEC))
                        guard n >= 0 else { return (n, nil, []) }
                        let (pid, fds) = parseControl(UnsafeRawBufferPointer(rebasing: c[0..<min(c.count, Int(mh.msg_controllen))]))
                        return (n, pid, fds)
                    }
                }
            }
            if result.0 < 0 && errno == EINTR { continue }
            guard result.0 > 0 else {
                for f in result.2 { close(f) }
                return nil
            }
            return (try? JSONCodec.decode(Data(buf[0..<result.0])), result.1, result.2)
        }
    }

    /// Walks the control messages of a received record (struct cmsghdr: a 64-bit length, a
    /// level and a type, then the data, each message padded to 8 bytes).
    static func parseControl(_ c: UnsafeRawBufferPointer) -> (Int32?, [Int32]) {
        var pid: Int32?
        var fds: [Int32] = []
        var off = 0
        let header = 16
        while off + header <= c.count {
            let len = Int(clamping: c.loadUnaligned(fromByteOffset: off, as: UInt64.self))
            guard len >= header, len <= c.count - off else { break }
            let level = c.loadUnaligned(fromByteOffset: off + 8, as: Int32.self)
            let type = c.loadUnaligned(fromByteOffset: off + 12, as: Int32.self)
            if level == SOL_SOCKET && type == 2 /* SCM_CREDENTIALS */ && len >= header + 4 {
                pid = c.loadUnaligned(fromByteOffset: off + header, as: Int32.self)
            } else if level == SOL_SOCKET && type == Int32(SCM_RIGHTS) {
                for i in 0..<((len - header) / 4) {
                    fds.append(c.loadUnaligned(fromByteOffset: off + header + 4 * i, as: Int32.self))
                }
            }
            off += (len + 7) & ~7
        }
        return (pid, fds)
    }
}
