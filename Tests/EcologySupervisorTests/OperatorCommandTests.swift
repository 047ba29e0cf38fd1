import EcologyConfig
import EcologyCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import EcologyTestSupport
import XCTest

/// The operator's commands as a newcomer meets them: `inspect agents` after the
/// supervisor was killed, paused agents, traces that do not exist, which configuration
/// is in use, `--version`.
final class OperatorCommandTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-operator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

    @discardableResult
    private func ecology(_ args: [String], config: String? = EcologyBinary.repoConfig, directory: URL? = nil) throws -> (Int32, String, String) {
        try EcologyBinary.run(args, scratch: scratch, config: config, directory: directory)
    }

    /// `inspect agents --json` by id; `polling`: the world may not exist yet (no failure then).
    private func agents(_ dataDir: String, polling: Bool = false) throws -> [String: JSONValue] {
        let (status, out, err) = try ecology(["inspect", "agents", "--data-dir", dataDir, "--json"])
        if polling && status != 0 { return [:] }
        XCTAssertEqual(status, 0, err)
        return Dictionary(uniqueKeysWithValues: (try JSONCodec.decode(out).arrayValue ?? []).map { ($0["id"]?.stringValue ?? "?", $0) })
    }

    func testAgentsOfAKilledSupervisorReadStoppedNotRunning() throws {
        let dataDir = scratch.appendingPathComponent("world").path
        let run = try EcologyBinary.start(["run", "--duration", "120", "--data-dir", dataDir, "--quiet"], scratch: scratch)
        defer { if run.process.isRunning { kill(run.pid, SIGKILL) } }
        let deadline = Date().addingTimeInterval(60)
        var live: [String: JSONValue] = [:]
        while Date() < deadline && run.process.isRunning {
            live = try agents(dataDir, polling: true)
            if live.count == 5 && live.values.allSatisfy({ $0["status"] == "running" || $0["status"] == "sleeping" }) { break }
            Thread.sleep(forTimeInterval: 0.3)
        }
        XCTAssertEqual(live.count, 5, run.errors())
        for (id, a) in live {
            XCTAssertTrue(a["status"] == "running" || a["status"] == "sleeping", "\(id): \(a)")
            XCTAssertEqual(a["supervised"], true, id)
        }
        kill(run.pid, SIGKILL)
        run.process.waitUntilExit()

        let (status, out, err) = try ecology(["inspect", "agents", "--data-dir", dataDir])
        XCTAssertEqual(status, 0, err)
        for (id, a) in try agents(dataDir) {
            XCTAssertEqual(a["status"], "stopped", "\(id): nothing runs after kill -9")
            let recorded = a["recorded_status"]?.stringValue ?? "?"
            XCTAssertTrue(recorded == "running" || recorded == "sleeping", "\(id): the killed supervisor's last record: \(a)")
            XCTAssertEqual(a["supervised"], false, id)
            XCTAssertTrue(out.split(separator: "\n").contains { $0.hasPrefix(id + " ") && $0.contains("stopped (was \(recorded))") }, out)
        }
        XCTAssertTrue(out.contains("no supervisor is running on \(dataDir)"), out)
    }

    func testInspectAgentsShowsPausedAndParked() throws {
        let dataDir = scratch.appendingPathComponent("world").path
        XCTAssertEqual(try ecology(["init", "--data-dir", dataDir]).0, 0)
        XCTAssertEqual(try ecology(["agent", "pause", "beta", "--data-dir", dataDir]).0, 0)
        XCTAssertEqual(try agents(dataDir)["beta"]?["paused"], true)
        XCTAssertEqual(try agents(dataDir)["alpha"]?["paused"], false)
        let (_, out, _) = try ecology(["inspect", "agents", "--data-dir", dataDir])
        let lines = out.split(separator: "\n").map(String.init)
        let header = try XCTUnwrap(lines.first)
        let paused = try XCTUnwrap(header.range(of: "paused")), parked = try XCTUnwrap(header.range(of: "parked"))
        let column = { (line: String, at: Range<String.Index>) -> String in
            let offset = header.distance(from: header.startIndex, to: at.lowerBound)
            return String(line.dropFirst(offset).prefix(3))
        }
        let beta = try XCTUnwrap(lines.first { $0.hasPrefix("beta ") }), alpha = try XCTUnwrap(lines.first { $0.hasPrefix("alpha ") })
        XCTAssertEqual(column(beta, paused), "yes", out)
        XCTAssertEqual(column(alpha, paused), "   ", out)
        XCTAssertEqual(column(beta, parked), "   ", out)
        XCTAssertEqual(try ecology(["agent", "resume", "beta", "--data-dir", dataDir]).0, 0)
        XCTAssertEqual(try agents(dataDir)["beta"]?["paused"], false)
    }

    func testTracesSayWhenThereAreNoneAndRefuseAnUnknownAgent() throws {
        let dataDir = scratch.appendingPathComponent("world").path
        XCTAssertEqual(try ecology(["init", "--data-dir", dataDir]).0, 0)
        let (status, out, err) = try ecology(["inspect", "traces", "alpha", "--data-dir", dataDir])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(out.hasPrefix("alpha has no traces yet"), out)
        XCTAssertEqual(try ecology(["inspect", "traces", "alpha", "--data-dir", dataDir, "--json"]).1, "[]\n")
        let (unknown, _, why) = try ecology(["inspect", "traces", "nobody", "--data-dir", dataDir])
        XCTAssertNotEqual(unknown, 0)
        XCTAssertTrue(why.contains("no agent 'nobody'") && why.contains("alpha, beta"), why)
    }

    func testCommandsSayWhichConfigurationIsInUse() throws {
        // Outside the repository there is no config/ecology.yaml: the embedded defaults, said so.
        let elsewhere = scratch.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let defaults = String(WorldConfig().fingerprint.prefix(12))
        let (status, out, err) = try ecology(["init", "--data-dir", "w"], config: nil, directory: elsewhere)
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(out.contains("config: embedded defaults (no config/ecology.yaml in \(elsewhere.path)"), out)
        XCTAssertTrue(out.contains("(fingerprint \(defaults))"), out)
        XCTAssertTrue(out.contains("world at \(elsewhere.path)/w"), "the data directory, absolute: \(out)")
        let file = scratch.appendingPathComponent("other.yaml").path
        try "mint:\n  period_seconds: 7\n".write(toFile: file, atomically: true, encoding: .utf8)
        let (_, doctor, _) = try ecology(["doctor"], config: file, directory: elsewhere)
        XCTAssertTrue(doctor.contains("config: \(file) (fingerprint "), doctor)
        XCTAssertFalse(doctor.contains("(fingerprint \(defaults))"), "another configuration, another fingerprint: \(doctor)")
    }

    func testVersion() throws {
        let (status, out, err) = try ecology(["--version"], config: nil)
        XCTAssertEqual(status, 0, err)
        let version = out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotNil(version.range(of: #"^[0-9]+\.[0-9]+\.[0-9]+$"#, options: .regularExpression), out)
        XCTAssertTrue(try ecology(["doctor"]).1.contains("ecology \(version)"), "doctor names the same version")
    }
}
