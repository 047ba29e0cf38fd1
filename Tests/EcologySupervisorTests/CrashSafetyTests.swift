import EcologyCore
@testable import EcologyKernel
import EcologyStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

/// `kill -9` of a running `ecology run`: the database is intact, no child outlives the
/// supervisor, and the next run resumes the same world.
final class CrashSafetyTests: XCTestCase {
    /// The repository root (for `config/ecology.yaml`).
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `ecology` binary built next to this test bundle (`.build-…/debug/ecology`).
    private func binary() throws -> URL {
        let exe = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        let candidate = exe.deletingLastPathComponent().appendingPathComponent("ecology")
        guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
            XCTFail("no ecology binary at \(candidate.path): build it with the tests (`swift build --build-tests`)")
            throw CocoaError(.fileNoSuchFile)
        }
        return candidate
    }

    /// Runs the binary to completion; returns (exit status, stdout, stderr).
    @discardableResult
    private func ecology(_ args: [String], timeout: Double = 60) throws -> (Int32, String, String) {
        let p = try start(args)
        let deadline = Date().addingTimeInterval(timeout)
        while p.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.process.isRunning { p.process.terminate(); XCTFail("ecology \(args.first ?? "") did not finish in \(timeout) s") }
        p.process.waitUntilExit()
        return (p.process.terminationStatus, p.output(), p.errors())
    }

    private struct Started {
        let process: Process
        let out: URL, err: URL
        func output() -> String { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
        func errors() -> String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }
    }

    private func start(_ args: [String]) throws -> Started {
        let p = Process()
        p.executableURL = try binary()
        p.arguments = args + ["--config", Self.repoRoot.appendingPathComponent("config/ecology.yaml").path]
        p.currentDirectoryURL = Self.repoRoot
        let out = scratch.appendingPathComponent("out-\(UUID().uuidString)"), err = scratch.appendingPathComponent("err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return Started(process: p, out: out, err: err)
    }

    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

    /// Every live descendant of `root` (children, grandchildren, ...), from /proc.
    private func descendants(of root: Int32) -> Set<Int32> {
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

    private func alive(_ pid: Int32) -> Bool {
        guard let s = processState(pid) else { return false }
        return s != "Z" && s != "X"
    }

    func testKillNineLosesNothingLeavesNoChildrenAndResumes() throws {
        let dataDir = scratch.appendingPathComponent("world").path
        let first = try start(["run", "--duration", "30", "--data-dir", dataDir, "--quiet"])
        // Let it create the world and start the agents, then kill it mid-run.
        var children = Set<Int32>()
        let until = Date().addingTimeInterval(4)
        while Date() < until {
            children.formUnion(descendants(of: first.process.processIdentifier))
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertTrue(first.process.isRunning, "the run was still going: \(first.errors())")
        XCTAssertGreaterThanOrEqual(children.count, 6, "a zygote and five agent children (and executions) were running")
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        XCTAssertEqual(first.process.terminationReason, .uncaughtSignal)

        // No child outlives the supervisor.
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && children.contains(where: alive) { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertEqual(children.filter(alive).sorted(), [], "children of the killed supervisor still alive")

        let (status, out, err) = try ecology(["inspect", "invariants", "--data-dir", dataDir])
        XCTAssertEqual(status, 0, "invariants after kill -9: \(out) \(err)")

        let before = try worldFacts(dataDir)
        XCTAssertEqual(before.configuredAgents, ["alpha", "beta", "delta", "epsilon", "gamma"])
        XCTAssertGreaterThan(before.lastSeq, 0)

        let (status2, out2, err2) = try ecology(["run", "--duration", "3", "--data-dir", dataDir, "--json"])
        XCTAssertEqual(status2, 0, "the second run: \(err2)")
        let summary = try JSONCodec.decode(out2)
        XCTAssertEqual(summary["invariants"]?["ok"]?.boolValue, true, "\(out2)")

        let after = try worldFacts(dataDir)
        XCTAssertEqual(after.configuredAgents, before.configuredAgents, "no new agents: the world was resumed, not recreated")
        XCTAssertEqual(after.firstEvent, before.firstEvent, "the same world")
        let newEvents = after.events.filter { $0.seq > before.lastSeq }
        XCTAssertEqual(newEvents.first?.seq, before.lastSeq + 1, "the event sequence continues where it stopped")
        XCTAssertEqual(Set(newEvents.filter { $0.type == "agent_started" }.compactMap(\.principal)).isSuperset(of: before.configuredAgents), true,
                       "the agents were started again")
        XCTAssertTrue(newEvents.filter { $0.type == "artifact_written" && $0.data["kind"]?.stringValue == "agent" && $0.principal == Kernel.systemID }.isEmpty,
                      "bootstrap created nothing")
    }

    private struct WorldFacts {
        var configuredAgents: Set<String>
        var lastSeq: Int64
        var firstEvent: WorldEvent?
        var events: [WorldEvent]
    }

    /// Opens the world's database in this process (after the binary has exited).
    private func worldFacts(_ dataDir: String) throws -> WorldFacts {
        let db = try WorldDatabase(path: dataDir + "/world.sqlite")
        let kernel = Kernel(database: db, config: WorldConfig())
        let agents = try kernel.agents()
        let configured = Set(agents.filter { $0["owner_id"] == $0["id"] }.compactMap { $0["id"]?.stringValue })
        let events = try kernel.events(after: 0, limit: 1_000_000)
        return WorldFacts(configuredAgents: configured, lastSeq: try kernel.lastEventSeq(), firstEvent: events.first,
                          events: events)
    }
}
