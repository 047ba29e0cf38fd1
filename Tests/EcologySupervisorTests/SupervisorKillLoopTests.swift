import EcologyCore
@testable import EcologyKernel
import EcologyStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import EcologyTestSupport
import XCTest

/// `kill -9` of a busy `ecology run` at random moments, over and over on one world: after
/// every kill the ledger invariants hold, no process of the killed supervisor survives,
/// every commit a reader saw is still there, and the cgroups the dead supervisor left are
/// removed by the next start.
///
/// The suite runs 25 rounds (about a minute); `ECOLOGY_KILL_LOOP_ROUNDS=250` runs more.
final class SupervisorKillLoopTests: XCTestCase {
    static var rounds: Int {
        ProcessInfo.processInfo.environment["ECOLOGY_KILL_LOOP_ROUNDS"].flatMap { Int($0) }.map { max(1, $0) } ?? 25
    }

    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-killloop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

    /// What a reader saw committed: the newest event, by seq.
    private struct Seen: Equatable {
        var seq: Int64
        var type: String
        var timeMicros: Int64
    }

    func testKillNineAtRandomMomentsOfABusyWorld() throws {
        let dataDir = scratch.appendingPathComponent("world").path
        let (initStatus, _, initErr) = try EcologyBinary.run(["init", "--data-dir", dataDir], scratch: scratch)
        XCTAssertEqual(initStatus, 0, initErr)
        // The reader: a connection of this process to the world's file, as `inspect` has.
        let reader = Kernel(database: try WorldDatabase(path: dataDir + "/world.sqlite"), config: WorldConfig())
        var generator = SystemRandomNumberGenerator()
        var previousPid: Int32?
        var killedWithWork = 0
        var totalChildren = 0
        var cleanedChecks = 0
        let rounds = Self.rounds

        for round in 1...rounds {
            let run = try EcologyBinary.start(["run", "--duration", "120", "--data-dir", dataDir, "--quiet", "--agents", "6",
                                               "--seed", "\(round)"], scratch: scratch)
            // Odd rounds count the delay from the start (kills land in startup and bootstrap
            // too), even rounds from the first agent started (kills land in a busy world).
            let delay = Double.random(in: 0.3...1.5, using: &generator)
            let startSeq = try reader.lastEventSeq()
            var killAt = Date().addingTimeInterval(round % 2 == 1 ? delay : 30)
            var agentsUp = round % 2 == 1
            var children = Set<Int32>()
            var seen: Seen?
            var madeCgroups = false
            while Date() < killAt && run.process.isRunning {
                if !agentsUp, let fresh = try? reader.events(after: startSeq, limit: 100), fresh.contains(where: { $0.type == "agent_started" }) {
                    agentsUp = true
                    killAt = Date().addingTimeInterval(delay)
                }
                children.formUnion(ProcessTree.descendants(of: run.pid))
                if !madeCgroups { madeCgroups = !ProcessTree.cgroupsLeft(by: run.pid).isEmpty }
                if let last = try? reader.lastEventSeq(), last > 0, let e = try? reader.events(after: last - 1, limit: 1).first {
                    seen = Seen(seq: e.seq, type: e.type, timeMicros: e.timeMicros)
                }
                Thread.sleep(forTimeInterval: 0.03)
            }
            XCTAssertTrue(run.process.isRunning, "round \(round): the run ended on its own: \(run.errors())")
            children.formUnion(ProcessTree.descendants(of: run.pid))
            if !children.isEmpty { killedWithWork += 1 }
            totalChildren += children.count
            kill(run.pid, SIGKILL)
            run.process.waitUntilExit()
            XCTAssertEqual(run.process.terminationReason, .uncaughtSignal, "round \(round)")

            // No process of the killed supervisor survives it (zygotes, agents, executions).
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline && children.contains(where: ProcessTree.alive) { Thread.sleep(forTimeInterval: 0.02) }
            XCTAssertEqual(children.filter(ProcessTree.alive).sorted(), [], "round \(round): processes of the killed supervisor still alive")

            // Every commit the reader saw is still there, unchanged.
            if let seen {
                let after = try reader.events(after: seen.seq - 1, limit: 1).first
                XCTAssertEqual(after.map { Seen(seq: $0.seq, type: $0.type, timeMicros: $0.timeMicros) }, seen,
                               "round \(round): event \(seen.seq), committed before the kill, was lost")
            }
            let report = try reader.checkInvariants()
            XCTAssertTrue(report.ok, "round \(round): invariants after kill -9: \(report.violations)")

            // The previous supervisor's cgroups were removed by this one's start.
            // (once this one had made its own pool, which it does after removing stale ones).
            if let previousPid, madeCgroups {
                XCTAssertEqual(ProcessTree.cgroupsLeft(by: previousPid), [], "round \(round): cgroups of the supervisor killed before")
            }
            if madeCgroups { cleanedChecks += 1 }
            previousPid = run.pid
            try? FileManager.default.removeItem(at: run.out)
            try? FileManager.default.removeItem(at: run.err)
            if testRun?.failureCount ?? 0 > 0 { break }
        }
        XCTAssertGreaterThanOrEqual(killedWithWork, rounds / 2, "at least the even rounds' kills struck a world with children running")

        // The operator's command agrees, and a last clean run resumes the world, leaves
        // nothing behind and cleans up after the last killed one.
        let (status, out, err) = try EcologyBinary.run(["inspect", "invariants", "--data-dir", dataDir], scratch: scratch)
        XCTAssertEqual(status, 0, "ecology inspect invariants: \(out) \(err)")
        let final = try EcologyBinary.start(["run", "--duration", "2", "--data-dir", dataDir, "--quiet", "--json"], scratch: scratch)
        final.process.waitUntilExit()
        XCTAssertEqual(final.process.terminationStatus, 0, final.errors())
        XCTAssertEqual(try JSONCodec.decode(final.output())["invariants"]?["ok"]?.boolValue, true)
        if let previousPid { XCTAssertEqual(ProcessTree.cgroupsLeft(by: previousPid), []) }
        XCTAssertEqual(ProcessTree.cgroupsLeft(by: final.pid), [], "a clean exit removes its own cgroups")
        print("kill loop: \(rounds) rounds, \(killedWithWork) killed with children running, \(totalChildren) children seen, \(cleanedChecks) cgroup clean-ups checked, last seq \(try reader.lastEventSeq())")
    }
}
