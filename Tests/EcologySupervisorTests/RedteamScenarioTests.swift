import EcologyCore
import Foundation
import XCTest

/// `ecology run --scenario redteam` in the real sandbox, briefly: the default agents and one
/// adversary of each kind. The ledger's invariants hold, every adversary is reported by
/// the supervisor's tally with attempts > 0, none gained over an idle agent's baseline
/// except by a documented finding, and every gain is printed as a finding.
final class RedteamScenarioTests: XCTestCase {
    private var scratch: URL!

    /// Gains the red team found that the kernel's rules do not yet prevent
    /// (docs/THREAT_MODEL.md, "Red team findings"): kind → resources. Any other gain fails.
    static let knownFindings: [String: Set<String>] = [
        "sybil": ["compute_ms"],                      // R1: children bank refill past the capacity
        "wash_trader": ["compute_ms", "scrip"],       // R1 (its shill), R2: the builtin scorer pays washed tools
        "front_runner": ["compute_ms"],               // R3: callers' CPU on its lots that fail
        "griefer": ["compute_ms"],                    // R3: victims' CPU on its failing tools
        "hostile_coder": ["compute_ms"],              // R3
        "contract_trickster": ["scrip", "compute_ms"], // R3, R4: bait and switch is paid
        "squatter": ["scrip"],                        // R4: ransom bought by a naive buyer
        "freeloader": ["scrip"],                      // R5: defaults on loans the default mind grants
    ]

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
        let (_, text, _) = try EcologyBinary.run(["inspect", "threats", "--data-dir", dataDir], scratch: scratch)
        XCTAssertEqual(Set(threats.compactMap { $0["kind"]?.stringValue }), Set(AdversaryKind.allCases.map(\.rawValue)))
        for t in threats {
            let name = t["adversary"]?.stringValue ?? "?"
            XCTAssertEqual(Set(t.objectValue?.keys.map { $0 } ?? []), ["adversary", "kind", "attempts", "codes", "net_gain"])
            XCTAssertGreaterThan(t["attempts"]?.intValue ?? 0, 0, "\(name) attempted nothing")
            XCTAssertFalse(t["codes"]?.objectValue?.isEmpty ?? true, "\(name) met no refusal")
            for resource in ["scrip", "compute_ms", "disk_bytes", "llm_microdollars"] {
                let gain = try XCTUnwrap(t["net_gain"]?[resource]?.intValue, "\(name) \(resource)")
                let known = Self.knownFindings[t["kind"]?.stringValue ?? ""]?.contains(resource) ?? false
                if !known { XCTAssertLessThanOrEqual(gain, 0, "new FINDING: \(name) gained \(gain) \(resource)") }
                if gain > 0 { XCTAssertTrue(text.contains("FINDING: \(name) ("), "a gain is printed as a finding: \(text)") }
            }
        }
        // The tally is final at stop; net gain moves on with the compute refill, so only the counts must agree.
        let counts = { (list: [JSONValue]) in list.map { [$0["adversary"], $0["attempts"], $0["codes"]] } }
        XCTAssertEqual(counts(threats), counts(summary["threats"]?.arrayValue ?? []), "the run's summary and the stopped world agree")

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
