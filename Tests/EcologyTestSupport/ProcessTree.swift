import Foundation

/// The process tree below a pid, read from /proc (tests that check no process is left
/// behind, or that every process under the supervisor is confined).
public enum ProcessTree {
    /// Every live descendant of `root` (children, grandchildren, ...), from /proc.
    public static func descendants(of root: Int32) -> Set<Int32> {
        var parent: [Int32: Int32] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let ppid = Int32(fields[1]) { parent[pid] = ppid }
        }
        var found = Set<Int32>(), frontier = [root]
        while let p = frontier.popLast() {
            for (child, pp) in parent where pp == p && !found.contains(child) { found.insert(child); frontier.append(child) }
        }
        return found
    }

    /// Whether `pid` is a live process (not a zombie).
    public static func alive(_ pid: Int32) -> Bool {
        guard let s = processState(pid) else { return false }
        return s != "Z" && s != "X"
    }

    /// This process's cgroup directories, one per mounted hierarchy (v1 controllers and v2).
    public static func ownCgroupDirectories() -> [String] {
        guard let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return [] }
        var dirs: [String] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let controllers = parts[1].split(separator: ",").map(String.init)
            // Pools live beside the boosted `ecology-<pid>-supervisor` group a process moves into.
            var path = String(parts[2])
            while let last = path.split(separator: "/").last, last.hasPrefix("ecology-"), last.hasSuffix("-supervisor") {
                path = String(path.dropLast(last.count + 1))
            }
            let mounts = controllers.isEmpty ? ["unified", ""] : controllers + [controllers.joined(separator: ",")]
            for m in mounts {
                let dir = "/sys/fs/cgroup" + (m.isEmpty ? "" : "/" + m) + path
                if FileManager.default.fileExists(atPath: dir + "/cgroup.procs"), !dirs.contains(dir) { dirs.append(dir) }
            }
        }
        return dirs
    }

    /// cgroup directories named after `pid` (`ecology-<pid>-…`) under this process's cgroups.
    public static func cgroupsLeft(by pid: Int32) -> [String] {
        ownCgroupDirectories().flatMap { dir in
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
                .filter { $0.hasPrefix("ecology-\(pid)-") }.map { dir + "/" + $0 }
        }
    }
}

/// The state letter of a host process (R, S, D, T, Z, ...), nil when it is gone.
public func processState(_ pid: Int32) -> Character? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(after: close)...].split(separator: " ").first?.first
}
