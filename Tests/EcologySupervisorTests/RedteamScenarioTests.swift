import EcologyCore
import Foundation
import XCTest

/// `ecology run --scenario redteam` in the real sandbox, briefly: the default agents and one
/// adversary of each kind. The ledger's invariants hold, every adversary is reported by
/// the supervisor's tally with attempts > 0, and none gained over an idle agent's baseline.
final class RedteamScenarioTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(getuid() == 0, "the sandbox needs root")
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-redteam-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { if let scratch { try? FileManager.default.removeItem(at: scratch) } }

    func testAShortRedteamRunContainsEveryAdversary() throws {
        let dataDir = scratch.appendingPathComponent("world").path
        let (status, out, err) = try EcologyBinary.run(["run", "--scenario", "redteam", "--duration", "12", "--seed", "3",
                                                        "--data-dir", dataDir, "--json"], scratch: scratch, timeout: 120)
        XCTAssertEqual(status, 0, err)
        let summary = try JSONCodec.decode(out)
        XCTAssertEqual(summary["invariants"]?["ok"], true, "\(summary["invariants"] ?? .null)")
        XCTAssertEqual(summary["threats"]?.arrayValue?.count, AdversaryKind.allCases.count)

        // The stopped world answers the same from its tables.
        let (status2, threatsOut, err2) = try EcologyBinary.run(["inspect", "threats", "--json", "--data-dir", dataDir], scratch: scratch)
        XCTAssertEqual(status2, 0, err2)
        let threats = try XCTUnwrap(try JSONCodec.decode(threatsOut).arrayValue)
        XCTAssertEqual(Set(threats.compactMap { $0["kind"]?.stringValue }), Set(AdversaryKind.allCases.map(\.rawValue)))
        for t in threats {
            let name = t["adversary"]?.stringValue ?? "?"
            XCTAssertEqual(Set(t.objectValue?.keys.map { $0 } ?? []), ["adversary", "kind", "attempts", "codes", "net_gain"])
            XCTAssertGreaterThan(t["attempts"]?.intValue ?? 0, 0, "\(name) attempted nothing")
            XCTAssertFalse(t["codes"]?.objectValue?.isEmpty ?? true, "\(name) met no refusal")
            for resource in ["scrip", "compute_ms", "disk_bytes", "llm_microdollars"] {
                let gain = try XCTUnwrap(t["net_gain"]?[resource]?.intValue, "\(name) \(resource)")
                XCTAssertLessThanOrEqual(gain, 0, "FINDING: \(name) gained \(gain) \(resource)")
            }
        }
        XCTAssertEqual(threats, summary["threats"]?.arrayValue ?? [], "the run's summary and the stopped world agree")

        let (status3, _, err3) = try EcologyBinary.run(["inspect", "invariants", "--data-dir", dataDir], scratch: scratch)
        XCTAssertEqual(status3, 0, err3)
    }

    func testAnUnknownScenarioListsTheScenarios() throws {
        let (status, _, err) = try EcologyBinary.run(["run", "--scenario", "chaos", "--duration", "1",
                                                      "--data-dir", scratch.appendingPathComponent("w").path], scratch: scratch)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(err.contains("default") && err.contains("redteam"), err)
    }
}
