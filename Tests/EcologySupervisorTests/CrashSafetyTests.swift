import EcologyCore
@testable import EcologyKernel
import EcologyStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import EcologyTestSupport
import XCTest

/// `kill -9` of a running `ecology run`: the database is intact, no child outlives the
/// supervisor, and the next run resumes the same world.
final class CrashSafetyTests: XCTestCase {
    @discardableResult
    private func ecology(_ args: [String], timeout: Double = 60) throws -> (Int32, String, String) {
        try EcologyBinary.run(args, scratch: scratch, timeout: timeout)
    }

    private func start(_ args: [String]) throws -> EcologyBinary.Started { try EcologyBinary.start(args, scratch: scratch) }

    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

    private func descendants(of root: Int32) -> Set<Int32> { ProcessTree.descendants(of: root) }

    private func alive(_ pid: Int32) -> Bool { ProcessTree.alive(pid) }

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
        let events = try kernel.events(after: 0, limit: 1_000_000)
        // The configured agents are the ones bootstrap created (as the system); the agents
        // spawn children of their own (firms, which own themselves), which are not.
        let configured = Set(events.filter { $0.type == "artifact_written" && $0.principal == Kernel.systemID
                                              && $0.data["kind"]?.stringValue == "agent" }
                                   .compactMap { $0.data["artifact_id"]?.stringValue })
        return WorldFacts(configuredAgents: configured, lastSeq: try kernel.lastEventSeq(), firstEvent: events.first,
                          events: events)
    }
}
