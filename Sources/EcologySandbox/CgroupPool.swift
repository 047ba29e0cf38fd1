import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers

public enum CgroupVersion: String, Sendable {
    case v2, v1, none
}

/// Where the cgroup hierarchies are and which one the sandbox would use.
public struct CgroupLayout: Sendable, Equatable {
    public var version: CgroupVersion
    /// v1: controller -> this process's cgroup directory; v2: "unified" -> directory.
    public var ownDirs: [String: String]
    public var reason: String

    static let v1Controllers = ["memory", "pids", "cpu", "cpuacct", "freezer"]

    /// Reads /proc/self/cgroup and /proc/self/mountinfo. `prefer` forces a version (tests).
    public static func detect(prefer: CgroupVersion? = nil) -> CgroupLayout {
        var mounts: [String: String] = [:]  // controller or "unified" -> mount point
        for line in (Posix.readFile("/proc/self/mountinfo") ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard let dash = parts.firstIndex(of: "-"), dash + 3 < parts.count + 1, parts.count > dash + 3 else { continue }
            let fstype = parts[dash + 1], mountPoint = String(parts[4]), superOpts = parts[dash + 3]
            if fstype == "cgroup2" { mounts["unified"] = mounts["unified"] ?? mountPoint }
            if fstype == "cgroup" {
                for opt in superOpts.split(separator: ",") where v1Controllers.contains(String(opt)) {
                    mounts[String(opt)] = mountPoint
                }
            }
        }
        var paths: [String: String] = [:]
        for line in (Posix.readFile("/proc/self/cgroup") ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[1].isEmpty { paths["unified"] = path }
            for c in parts[1].split(separator: ",") { paths[String(c)] = path }
        }
        func dir(_ key: String) -> String? {
            guard let m = mounts[key], let p = paths[key] else { return nil }
            return p == "/" ? m : m + p
        }
        if prefer != .v1, let u = dir("unified") {
            let controllers = (Posix.readFile(u + "/cgroup.controllers") ?? "").split(whereSeparator: \.isWhitespace)
            if prefer == .v2 || (controllers.contains("memory") && controllers.contains("pids")) {
                return CgroupLayout(version: .v2, ownDirs: ["unified": u],
                                    reason: "cgroup v2 at \(u) (controllers: \(controllers.joined(separator: " ")))")
            }
        }
        if prefer != .v2 {
            var dirs: [String: String] = [:]
            for c in v1Controllers { if let d = dir(c) { dirs[c] = d } }
            if dirs["memory"] != nil && dirs["pids"] != nil {
                return CgroupLayout(version: .v1, ownDirs: dirs,
                                    reason: "cgroup v1 controllers: \(dirs.keys.sorted().joined(separator: " "))")
            }
        }
        return CgroupLayout(version: .none, ownDirs: [:], reason: "no usable cgroup hierarchy (need memory and pids)")
    }
}

/// A pool of per-child cgroups, created once and reused (creating one costs milliseconds).
/// Each slot has one directory per controller (v1) or one directory (v2) with the policy's
/// memory (no swap), pids and CPU limits. A slot hosts one child at a time.
final class CgroupPool: @unchecked Sendable {
    // Safe: the `let`s are immutable. `free`, `slots`, `nextIndex` and `memoryLimits` are
    // only read or written while `lock` is held; `destroyed` only while `CgroupPool.boost`
    // is locked (`destroy`). The cgroup files themselves are the kernel's: a slot is
    // written by the one caller that holds it (`acquire` to `release`).
    struct Slot: Sendable {
        let index: Int
        /// controller -> slot directory ("unified" for v2).
        let dirs: [String: String]
    }

    let layout: CgroupLayout
    /// controller (v1) or "unified" (v2) -> the pool's parent directory.
    let baseDirs: [String: String]
    private let lock = NSLock()
    private var free: [Int] = []
    private var slots: [Int: Slot] = [:]
    private var nextIndex = 0
    private var memoryLimits: [Int: Int64] = [:]
    private let pids: Int
    private let cpuPercent: Int

    /// CPU weight of the supervisor against all children together. The supervisor moves
    /// into a CPU cgroup of its own (`ecology-<pid>-supervisor`, beside the pools) with 8×
    /// the default weight; the pools keep the default. When the host is saturated, the
    /// supervisor's threads (the ledger every agent waits on) are served first and the
    /// children, however many or busy, share the rest; against other processes on the
    /// host the children together weigh what they always did.
    static let supervisorCPUShares = 8192   // v1; the default is 1024
    static let supervisorCPUWeight = 800    // v2; the default is 100
    static var supervisorGroupName: String { "ecology-\(getpid())-supervisor" }
    private struct Boost {
        var boosted = false
        /// The boosted group this process moved into, and the group it came from, so the
        /// last pool to go can move it back and remove the group.
        var group: (dir: String, parent: String)?
        /// Pools alive in this process.
        var livePools = 0
    }
    private static let boost = NIOLockedValueBox(Boost())

    /// Moves this process into its boosted CPU cgroup, once; best effort (a host that
    /// refuses keeps the default weights).
    static func boostSupervisor(_ layout: CgroupLayout, own: [String: String]) {
        boost.withLockedValue { b in
            guard !b.boosted else { return }
            b.boosted = true
            let (key, file, weight): (String, String, Int)
            switch layout.version {
            case .v1: (key, file, weight) = ("cpu", "cpu.shares", supervisorCPUShares)
            case .v2: (key, file, weight) = ("unified", "cpu.weight", supervisorCPUWeight)
            case .none: return
            }
            guard let parent = own[key] else { return }
            let dir = parent + "/" + supervisorGroupName
            guard mkdir(dir, 0o755) == 0 || errno == EEXIST else { return }
            Posix.writeFile(dir + "/" + file, String(weight))
            if Posix.writeFile(dir + "/cgroup.procs", "0") { b.group = (dir, parent) }
        }
    }

    /// Moves this process back out of its boosted group and removes the group, once no
    /// pool is left: a supervisor that exits cleanly leaves no cgroup of its own behind
    /// (one killed leaves it empty, and the next start removes it with `removeStale`).
    private static func unboostSupervisor(_ b: inout Boost) {
        guard let group = b.group else { return }
        b.group = nil
        b.boosted = false
        // Every thread of the process moves with it (cgroup.procs takes the whole process).
        Posix.writeFile(group.parent + "/cgroup.procs", "0")
        rmdir(group.dir)
    }

    /// The directory pools belong in: this process's cgroup, minus any boosted supervisor
    /// groups it sits in: its own, or one it inherited from a supervisor that started it
    /// (a CLI or test child). Pools and boosted groups always live side by side.
    static func poolParent(_ dir: String) -> String {
        var d = dir
        while let last = d.split(separator: "/").last, isSupervisorGroup(last) {
            d = String(d.dropLast(last.count + 1))
        }
        return d
    }

    /// `ecology-<pid>-supervisor`.
    static func isSupervisorGroup(_ name: Substring) -> Bool {
        guard name.hasPrefix("ecology-"), name.hasSuffix("-supervisor") else { return false }
        return Int32(name.dropFirst("ecology-".count).dropLast("-supervisor".count)) != nil
    }

    /// Creates the pool's parent directories; throws if the hierarchy is not writable.
    init(layout: CgroupLayout, pids: Int, cpuPercent: Int) throws {
        self.layout = layout
        self.pids = pids
        self.cpuPercent = cpuPercent
        // One directory per pool: several executors may live in one process.
        let name = "ecology-\(getpid())-\(CgroupPool.poolCounter.next())"
        var bases: [String: String] = [:]
        switch layout.version {
        case .none:
            throw SandboxError("no cgroup hierarchy")
        case .v1:
            for (c, dir) in layout.ownDirs {
                let own = CgroupPool.poolParent(dir)
                CgroupPool.removeStale(in: own)
                let b = own + "/" + name
                guard mkdir(b, 0o755) == 0 || errno == EEXIST else { throw SandboxError("mkdir \(b): \(Posix.errnoText)") }
                bases[c] = b
            }
            if let m = bases["memory"] { Posix.writeFile(m + "/memory.use_hierarchy", "1") }
            CgroupPool.boostSupervisor(layout, own: layout.ownDirs.mapValues(CgroupPool.poolParent))
        case .v2:
            let own = CgroupPool.poolParent(layout.ownDirs["unified"]!)
            CgroupPool.removeStale(in: own)
            try CgroupPool.enableV2Controllers(own)
            CgroupPool.boostSupervisor(layout, own: ["unified": own])
            let b = own + "/" + name
            guard mkdir(b, 0o755) == 0 || errno == EEXIST else { throw SandboxError("mkdir \(b): \(Posix.errnoText)") }
            let avail = (Posix.readFile(b + "/cgroup.controllers") ?? "").split(whereSeparator: \.isWhitespace)
            Posix.writeFile(b + "/cgroup.subtree_control", avail.filter { ["memory", "pids", "cpu"].contains($0) }
                                .map { "+" + $0 }.joined(separator: " "))
            bases["unified"] = b
        }
        baseDirs = bases
        CgroupPool.boost.withLockedValue { $0.livePools += 1 }
    }

    /// v2 forbids processes in inner nodes: if enabling controllers below our own cgroup is
    /// refused, move this process into a leaf `supervisor` first.
    static func enableV2Controllers(_ own: String) throws {
        let avail = (Posix.readFile(own + "/cgroup.controllers") ?? "").split(whereSeparator: \.isWhitespace)
        let wanted = avail.filter { ["memory", "pids", "cpu"].contains($0) }.map { "+" + $0 }.joined(separator: " ")
        if wanted.isEmpty || Posix.writeFile(own + "/cgroup.subtree_control", wanted) { return }
        let leaf = own + "/supervisor"
        _ = mkdir(leaf, 0o755)
        for pid in (Posix.readFile(own + "/cgroup.procs") ?? "").split(separator: "\n") {
            Posix.writeFile(leaf + "/cgroup.procs", String(pid))
        }
        guard Posix.writeFile(own + "/cgroup.subtree_control", wanted) else {
            throw SandboxError("cannot enable \(wanted) in \(own)/cgroup.subtree_control: \(Posix.errnoText)")
        }
    }

    final class Sequence: Sendable {
        private let n = NIOLockedValueBox(0)
        func next() -> Int { n.withLockedValue { $0 += 1; return $0 } }
    }
    static let poolCounter = Sequence()

    /// Removes pools left by supervisors that are no longer running.
    static func removeStale(in dir: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for n in names where n.hasPrefix("ecology-") {
            guard let pid = Int32(n.dropFirst("ecology-".count).prefix { $0 != "-" }),
                  Glibc.kill(pid, 0) != 0, errno == ESRCH else { continue }
            let base = dir + "/" + n
            // Slots, and (in a supervisor group left by an older build) nested groups.
            for s in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
            where s.hasPrefix("slot-") || s.hasPrefix("ecology-") {
                rmdir(base + "/" + s)
            }
            rmdir(base)
        }
    }

    func acquire(memoryBytes: Int64) throws -> Slot {
        lock.lock()
        let slot: Slot
        if let i = free.popLast() {
            slot = slots[i]!
            lock.unlock()
        } else {
            // The index is reserved under the lock: creating the directories happens outside
            // it, and concurrent callers must never be handed the same new slot (they would
            // share one memory limit and one uid).
            let i = nextIndex
            nextIndex += 1
            lock.unlock()
            slot = try create(i)
            lock.lock(); slots[i] = slot; lock.unlock()
        }
        setMemory(slot, memoryBytes)
        return slot
    }

    func release(_ slot: Slot) {
        lock.lock(); free.append(slot.index); lock.unlock()
    }

    private func create(_ i: Int) throws -> Slot {
        var dirs: [String: String] = [:]
        for (c, b) in baseDirs {
            let d = b + "/slot-\(i)"
            guard mkdir(d, 0o755) == 0 || errno == EEXIST else { throw SandboxError("mkdir \(d): \(Posix.errnoText)") }
            dirs[c] = d
        }
        switch layout.version {
        case .v1:
            if let d = dirs["pids"] { Posix.writeFile(d + "/pids.max", String(pids)) }
            if let d = dirs["cpu"] {
                Posix.writeFile(d + "/cpu.cfs_period_us", "100000")
                Posix.writeFile(d + "/cpu.cfs_quota_us", String(cpuPercent * 1000))
            }
            if let d = dirs["memory"] { Posix.writeFile(d + "/memory.swappiness", "0") }
        case .v2:
            let d = dirs["unified"]!
            Posix.writeFile(d + "/pids.max", String(pids))
            Posix.writeFile(d + "/cpu.max", "\(cpuPercent * 1000) 100000")
            Posix.writeFile(d + "/memory.swap.max", "0")
            Posix.writeFile(d + "/memory.oom.group", "1")
        case .none:
            break
        }
        return Slot(index: i, dirs: dirs)
    }

    /// Opens the slot's `cgroup.procs` files (one per hierarchy) for one spawn: the child
    /// writes "0" to each to attach itself. They travel with the spawn record and are
    /// closed on both sides right after: neither the zygote nor any child holds another
    /// slot's descriptors. (The zygote used to keep every slot's, five per slot: at 200
    /// agents about 2,800 descriptors that every fork copied and every child closed again,
    /// some 5 % of the host's CPU in `dup_fd`, `filp_flush` and `dnotify_flush`.)
    /// The caller closes the returned descriptors.
    func openProcs(_ slot: Slot) throws -> [Int32] {
        var fds: [Int32] = []
        for d in slot.dirs.values.sorted() {
            let fd = open(d + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let why = Posix.errnoText
                fds.forEach { close($0) }
                throw SandboxError("open \(d)/cgroup.procs: \(why)")
            }
            fds.append(fd)
        }
        return fds
    }

    func setMemory(_ slot: Slot, _ bytes: Int64) {
        lock.lock()
        let current = memoryLimits[slot.index]
        memoryLimits[slot.index] = bytes
        lock.unlock()
        guard current != bytes else { return }
        switch layout.version {
        case .v1:
            guard let d = slot.dirs["memory"] else { return }
            let hasMemsw = FileManager.default.fileExists(atPath: d + "/memory.memsw.limit_in_bytes")
            // memsw must stay >= limit: raise memsw first when growing, limit first when shrinking.
            if let current, bytes < current {
                Posix.writeFile(d + "/memory.limit_in_bytes", String(bytes))
                if hasMemsw { Posix.writeFile(d + "/memory.memsw.limit_in_bytes", String(bytes)) }
            } else {
                if hasMemsw { Posix.writeFile(d + "/memory.memsw.limit_in_bytes", String(bytes)) }
                Posix.writeFile(d + "/memory.limit_in_bytes", String(bytes))
                if hasMemsw { Posix.writeFile(d + "/memory.memsw.limit_in_bytes", String(bytes)) }
            }
        case .v2:
            Posix.writeFile(slot.dirs["unified"]! + "/memory.max", String(bytes))
        case .none:
            break
        }
    }

    /// The kernel's count of OOM kills in this slot so far.
    func oomKills(_ slot: Slot) -> Int64 {
        let text: String?
        switch layout.version {
        case .v1: text = slot.dirs["memory"].flatMap { Posix.readFile($0 + "/memory.oom_control") }
        case .v2: text = slot.dirs["unified"].flatMap { Posix.readFile($0 + "/memory.events") }
        case .none: text = nil
        }
        for line in (text ?? "").split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int64(line.dropFirst("oom_kill ".count)) ?? 0
        }
        return 0
    }

    /// CPU used by everything that ran in the slot, in microseconds.
    func cpuMicros(_ slot: Slot) -> Int64? {
        switch layout.version {
        case .v1:
            return slot.dirs["cpuacct"].flatMap { Posix.readFile($0 + "/cpuacct.usage") }
                .flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.map { $0 / 1000 }
        case .v2:
            for line in (slot.dirs["unified"].flatMap { Posix.readFile($0 + "/cpu.stat") } ?? "").split(separator: "\n")
                where line.hasPrefix("usage_usec ") {
                return Int64(line.dropFirst("usage_usec ".count))
            }
            return nil
        case .none:
            return nil
        }
    }

    /// Freezes (true) or thaws every process in the slot. False if no freezer is available.
    func setFrozen(_ slot: Slot, _ frozen: Bool) -> Bool {
        switch layout.version {
        case .v1:
            guard let d = slot.dirs["freezer"] else { return false }
            return Posix.writeFile(d + "/freezer.state", frozen ? "FROZEN" : "THAWED")
        case .v2:
            return Posix.writeFile(slot.dirs["unified"]! + "/cgroup.freeze", frozen ? "1" : "0")
        case .none:
            return false
        }
    }

    /// Host pids of the processes in the slot.
    func processes(_ slot: Slot) -> [Int32] {
        let d = slot.dirs["pids"] ?? slot.dirs["unified"] ?? slot.dirs["memory"]
        return (d.flatMap { Posix.readFile($0 + "/cgroup.procs") } ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    /// Kills everything in the slot (v2: cgroup.kill; v1: freeze, SIGKILL each, thaw).
    func killAll(_ slot: Slot) {
        if layout.version == .v2, Posix.writeFile(slot.dirs["unified"]! + "/cgroup.kill", "1") { return }
        let froze = setFrozen(slot, true)
        for p in processes(slot) { Glibc.kill(p, SIGKILL) }
        if froze { _ = setFrozen(slot, false) }
    }

    /// Removes every slot (their children must be gone) and the pool's directories.
    func destroy() {
        lock.lock(); let all = Array(slots.values); slots = [:]; free = []; lock.unlock()
        for s in all { for d in s.dirs.values { rmdir(d) } }
        for b in baseDirs.values { rmdir(b) }
        CgroupPool.boost.withLockedValue { b in
            guard !destroyed else { return }
            destroyed = true
            b.livePools -= 1
            if b.livePools == 0 { CgroupPool.unboostSupervisor(&b) }
        }
    }
    /// Whether `destroy` has run (it counts the pool out once).
    private var destroyed = false
}
