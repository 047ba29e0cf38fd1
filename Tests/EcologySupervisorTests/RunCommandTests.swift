import EcologyCore
@testable import EcologyKernel
import EcologyStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import EcologyTestSupport
import GRDB
import XCTest

/// `ecology run` as an operator meets it: what it says when it starts (configuration,
/// paused agents), the mint round that falls due as it stops, a summary that keeps this
/// run apart from the world's past, and Ctrl-C.
final class RunCommandTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

    /// A configuration file with 3 s mint rounds (every other key at its default).
    private func shortRounds() throws -> String {
        let path = scratch.appendingPathComponent("short-rounds.yaml").path
        try "mint:\n  period_seconds: 3\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func openWorld(_ dataDir: String) throws -> (Kernel, WorldDatabase) {
        let db = try WorldDatabase(path: dataDir + "/world.sqlite")
        return (Kernel(database: db, config: WorldConfig()), db)
    }

    func testTheRoundDueAtTheStopIsResolvedAndTheSummaryKeepsRunsApart() throws {
        let dataDir = scratch.appendingPathComponent("world").path
        let config = try shortRounds()
        // A new world's rounds fall due 3 s and 6 s after its creation; a 6 s run stops
        // after the second is due, before the supervisor's next look at the mint (once a
        // second), which the stop comes first.
        let (status, out, err) = try EcologyBinary.run(["run", "--duration", "6", "--data-dir", dataDir, "--json"], scratch: scratch,
                                                       timeout: 90, config: config)
        XCTAssertEqual(status, 0, err)
        let first = try JSONCodec.decode(out)
        let (kernel, db) = try openWorld(dataDir)
        let epoch = try XCTUnwrap(try db.read { try String.fetchOne($0, sql: "SELECT value FROM world_meta WHERE key = 'epoch'") }.flatMap { Int64($0) })
        let events = try kernel.events(after: 0, limit: 1_000_000)
        let rounds = events.filter { $0.type == "mint_resolved" }
        let end = try XCTUnwrap(events.last).timeMicros
        // Every round whose time had come by the run's last event was resolved.
        XCTAssertEqual(Int64(rounds.count), (end - epoch) / 3_000_000, "rounds at \(rounds.map { Double($0.timeMicros - epoch) / 1e6 }) s")
        XCTAssertGreaterThanOrEqual(rounds.count, 2)
        XCTAssertEqual(first["run"]?["mint"]?["rounds"]?.intValue, Int64(rounds.count))
        XCTAssertEqual(first["run"]?["mint"]?["resolved_at_stop"]?.intValue, Int64(rounds.count), "the last round was resolved after the stop: \(out)")
        XCTAssertGreaterThan(try kernel.mintStatus()["next_resolution"]?.doubleValue ?? 0, Double(end) / 1e6, "no round left due")
        XCTAssertEqual(first["invariants"]?["ok"]?.boolValue, true)
        // The KPIs of the run: every key, over the run's duration.
        XCTAssertEqual(first["run"]?["kpis"]?.objectValue.map { Set($0.keys) }, Set(KPIReport.keys), out)
        let window = try XCTUnwrap(first["run"]?["kpis_window"]?["window_seconds"]?.doubleValue)
        XCTAssertEqual(window, try XCTUnwrap(first["run"]?["seconds"]?.doubleValue), accuracy: 0.01)

        // A second run counts only itself under "run", and both under "world".
        let (status2, out2, err2) = try EcologyBinary.run(["run", "--duration", "2", "--data-dir", dataDir, "--json"], scratch: scratch,
                                                          timeout: 90, config: config)
        XCTAssertEqual(status2, 0, err2)
        let second = try JSONCodec.decode(out2)
        let startedFirst = first["run"]?["events"]?["agent_started"]?.intValue ?? 0
        let startedSecond = second["run"]?["events"]?["agent_started"]?.intValue ?? 0
        let atStart = try XCTUnwrap(second["run"]?["agents_at_start"]?.intValue)
        XCTAssertEqual(atStart, first["world"]?["agents"]?.intValue, "the agents the first run left")
        XCTAssertEqual(startedSecond, atStart + Int64(second["run"]?["agents_spawned"]?.arrayValue?.count ?? 0),
                       "each agent started once this run: \(out2)")
        XCTAssertEqual(second["world"]?["events"]?["agent_started"]?.intValue, startedFirst + startedSecond)
        let supplyGrowth = (second["run"]?["scrip_supply"]?.intValue ?? 0) - (second["run"]?["scrip_supply_at_start"]?.intValue ?? 0)
        XCTAssertEqual(supplyGrowth, second["run"]?["mint"]?["minted"]?.intValue, "the supply grows by what the mint created, nothing else")
        for agent in second["agents"]?.arrayValue ?? [] {
            XCTAssertNil(agent["earned"], "no undefined column")
            XCTAssertLessThanOrEqual(agent["actions_this_run"]?.intValue ?? -1, agent["actions"]?.intValue ?? -2)
        }
    }

    func testTheStartNamesTheConfigurationAndThePausedAgentsWhichStayIdle() throws {
        let dataDir = scratch.appendingPathComponent("world").path
        let config = try shortRounds()
        XCTAssertEqual(try EcologyBinary.run(["init", "--data-dir", dataDir], scratch: scratch, config: config).0, 0)
        XCTAssertEqual(try EcologyBinary.run(["agent", "pause", "alpha", "--data-dir", dataDir], scratch: scratch, config: config).0, 0)
        let (status, out, err) = try EcologyBinary.run(["run", "--duration", "3", "--data-dir", dataDir], scratch: scratch, timeout: 90, config: config)
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(err.contains("config: \(config) (fingerprint "), err)
        XCTAssertTrue(err.contains("paused (not started until resumed): alpha; resume with `ecology agent resume alpha --data-dir \(dataDir)`"), err)
        XCTAssertTrue(err.contains("1 paused"), "the status line counts it: \(err)")
        XCTAssertTrue(out.contains("This run:") && out.contains("World (every run since it was created)"), out)
        let (kernel, _) = try openWorld(dataDir)
        XCTAssertEqual(try kernel.events(after: 0, limit: 1_000_000).filter { $0.type == "agent_started" && $0.principal == "alpha" }.count, 0)
    }

    func testCtrlCStopsTheWorldCleanlyWithoutATraceback() throws {
        let dataDir = scratch.appendingPathComponent("world").path
        // Its own process group, as a shell's foreground job: the group gets the SIGINT,
        // as from a terminal's Ctrl-C.
        let run = try EcologyBinary.start(["run", "--data-dir", dataDir], scratch: scratch, ownProcessGroup: true)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && run.process.isRunning && !run.errors().contains("actions/s") { Thread.sleep(forTimeInterval: 0.2) }
        XCTAssertTrue(run.process.isRunning, run.errors())
        let zygotes = ProcessTree.descendants(of: run.pid)
        XCTAssertFalse(zygotes.isEmpty, "the sandbox runs")
        XCTAssertEqual(kill(-run.pid, SIGINT), 0, String(cString: strerror(errno)))
        let stopBy = Date().addingTimeInterval(60)
        while Date() < stopBy && run.process.isRunning { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertFalse(run.process.isRunning, "stopped on Ctrl-C")
        run.process.waitUntilExit()
        XCTAssertEqual(run.process.terminationStatus, 0, run.errors())
        XCTAssertFalse(run.errors().contains("Traceback") || run.errors().contains("KeyboardInterrupt"), run.errors())
        XCTAssertTrue(run.output().contains("invariants: ok"), run.output())
        let goneBy = Date().addingTimeInterval(5)
        while Date() < goneBy && zygotes.contains(where: ProcessTree.alive) { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertEqual(zygotes.filter(ProcessTree.alive).sorted(), [], "the sandbox stopped with the supervisor")
    }
}
