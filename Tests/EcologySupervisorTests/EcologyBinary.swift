import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

/// The `ecology` binary built next to this test bundle (`.build/…/debug/ecology`), run as
/// an operator would, and the process tree it leaves: for the crash-safety and
/// kill-loop tests.
enum EcologyBinary {
    /// The repository root (for `config/ecology.yaml`).
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func url() throws -> URL {
        let exe = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        let candidate = exe.deletingLastPathComponent().appendingPathComponent("ecology")
        guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
            XCTFail("no ecology binary at \(candidate.path): build it with the tests (`swift build --build-tests`)")
            throw CocoaError(.fileNoSuchFile)
        }
        return candidate
    }

    struct Started {
        let process: Process
        let out: URL, err: URL
        var pid: Int32 { process.processIdentifier }
        func output() -> String { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
        func errors() -> String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }
    }

    /// Starts `ecology ARGS --config config/ecology.yaml`, its output in files under `scratch`.
    static func start(_ args: [String], scratch: URL) throws -> Started {
        let p = Process()
        p.executableURL = try url()
        p.arguments = args + ["--config", repoRoot.appendingPathComponent("config/ecology.yaml").path]
        p.currentDirectoryURL = repoRoot
        let out = scratch.appendingPathComponent("out-\(UUID().uuidString)"), err = scratch.appendingPathComponent("err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return Started(process: p, out: out, err: err)
    }

    /// Runs `ecology ARGS` to completion; returns (exit status, stdout, stderr).
    @discardableResult
    static func run(_ args: [String], scratch: URL, timeout: Double = 60) throws -> (Int32, String, String) {
        let p = try start(args, scratch: scratch)
        let deadline = Date().addingTimeInterval(timeout)
        while p.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if p.process.isRunning { p.process.terminate(); XCTFail("ecology \(args.first ?? "") did not finish in \(timeout) s") }
        p.process.waitUntilExit()
        defer { try? FileManager.default.removeItem(at: p.out); try? FileManager.default.removeItem(at: p.err) }
        return (p.process.terminationStatus, p.output(), p.errors())
    }
}

enum ProcessTree {
    /// Every live descendant of `root` (children, grandchildren, ...), from /proc.
    static func descendants(of root: Int32) -> Set<Int32> {
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
    static func alive(_ pid: Int32) -> Bool {
        guard let s = processState(pid) else { return false }
        return s != "Z" && s != "X"
    }

    /// This process's cgroup directories, one per mounted hierarchy (v1 controllers and v2).
    static func ownCgroupDirectories() -> [String] {
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
    static func cgroupsLeft(by pid: Int32) -> [String] {
        ownCgroupDirectories().flatMap { dir in
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
                .filter { $0.hasPrefix("ecology-\(pid)-") }.map { dir + "/" + $0 }
        }
    }
}
