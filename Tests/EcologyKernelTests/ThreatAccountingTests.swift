import EcologyCore
@testable import EcologyKernel
import EcologyStore
import GRDB
import XCTest

/// The supervisor-side threat accounting: the tally of every action (attempts and codes
/// per principal, tool code attributed to its author) and each adversary's net gain
/// against an idle agent's baseline.
final class ThreatAccountingTests: XCTestCase {
    /// The default five plus one adversary with the same endowment.
    func world(kind: AdversaryKind = .freeloader, floor: Int64 = 0) throws -> TestWorld {
        var c = WorldConfig()
        c.agents.append(AgentSpec(id: "mallory", scrip: 100, mind: kind.mind))
        c.mint.periodSeconds = 60
        c.mint.ubiFloor = floor
        return try TestWorld(config: c)
    }

    func tallies(_ w: TestWorld) throws -> [String] {
        try w.database.read { db in
            try Row.fetchAll(db, sql: "SELECT caller, action, code, count FROM action_tallies ORDER BY 1, 2, 3").map {
                "\($0[0] as String) \($0[1] as String) \($0[2] as String) \($0[3] as Int64)"
            }
        }
    }

    func threat(_ w: TestWorld) throws -> AdversaryThreat {
        let all = try w.kernel.threats()
        XCTAssertEqual(all.map(\.adversary), ["mallory"])
        return try XCTUnwrap(all.first)
    }

    func testTallyCountsEveryActionAndWritesOnlyWhenFlushed() throws {
        let w = try world()
        let tally = ActionOutcomeTally(kernel: w.kernel)
        w.kernel.addObserver(tally)
        try XCTUnwrapOK(w.invoke("mallory", "genesis_ledger", "transfer", ["alpha", 10]))
        _ = w.act("mallory", "invoke", ["artifact_id": "genesis_ledger", "method": "transfer", "args": ["alpha", 1_000]])
        _ = w.act("mallory", "invoke", ["artifact_id": "genesis_ledger", "method": "transfer", "args": ["alpha", 1_000]])
        _ = w.act("mallory", "read", ["artifact_id": "no-such"])
        XCTAssertEqual(try tallies(w), [], "nothing is written per action")
        XCTAssertEqual(tally.pendingCount, 3, "the direct kernel.invoke above does not pass through handle")
        try tally.flush()
        XCTAssertEqual(try tallies(w), ["mallory invoke INSUFFICIENT_FUNDS 2", "mallory read NOT_FOUND 1"])
        _ = w.act("mallory", "read", ["artifact_id": "no-such"])
        _ = w.act("mallory", "observe", [:])
        try tally.stop()
        XCTAssertEqual(try tallies(w), ["mallory invoke INSUFFICIENT_FUNDS 2", "mallory observe  1", "mallory read NOT_FOUND 2"])
        XCTAssertEqual(tally.pendingCount, 0)
        let t = try threat(w)
        XCTAssertEqual(t.attempts, 5, "successes count as attempts too")
        XCTAssertEqual(t.codes, ["INSUFFICIENT_FUNDS": 2, "NOT_FOUND": 2])
        XCTAssertEqual(t.kind, "freeloader")
    }

    func testToolCodeIsAttributedToItsAuthorEvenWhenAVictimInvokesIt() throws {
        let w = try world(kind: .hostileCoder)
        let tally = ActionOutcomeTally(kernel: w.kernel)
        w.kernel.addObserver(tally)
        try XCTUnwrapOK(w.writeTool("mallory", "mallory.thief", code: "kernel", tools: ["invoke"]))
        // alpha runs it; the tool tries to spend alpha's scrip through the ledger, acting as the tool.
        let env = w.act("alpha", "invoke", ["artifact_id": "mallory.thief", "method": "invoke",
                                             "args": [["artifact_id": "genesis_ledger", "method": "transfer", "args": ["mallory", 5]]]])
        try XCTUnwrapOK(env)
        XCTAssertEqual(try w.scrip("alpha"), 100, "the tool acts as itself, not as its invoker")
        try tally.flush()
        let rows = try tallies(w)
        XCTAssertTrue(rows.contains { $0.hasPrefix("mallory.thief invoke ") }, "\(rows)")
        let t = try threat(w)
        XCTAssertGreaterThanOrEqual(t.attempts, 2, "its own write plus the tool's call")
        XCTAssertFalse(t.codes.isEmpty, "the tool's transfer was refused: \(t.codes)")
        XCTAssertEqual(t.controlled, ["mallory"])
    }

    func testAnIdleAdversaryGainsNothing() throws {
        let w = try world()
        XCTAssertEqual(try threat(w).netGain, NetGain())
        w.clock.advance(seconds: 500)
        XCTAssertEqual(try threat(w).netGain, NetGain(), "refill is in the baseline")
    }

    func testSpendingIsNegativeAndReceivingIsAFinding() throws {
        let w = try world()
        try XCTUnwrapOK(w.write("mallory", "mallory.note", ["content": .string(String(repeating: "n", count: 500))]))
        var t = try threat(w)
        XCTAssertLessThan(t.netGain.diskBytes, 0)
        XCTAssertLessThan(t.netGain.computeMs, 0)
        XCTAssertEqual(t.netGain.scrip, 0)
        XCTAssertNil(t.finding)
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["mallory", 30]))
        t = try threat(w)
        XCTAssertEqual(t.netGain.scrip, 30)
        XCTAssertEqual(t.finding, "FINDING: mallory (freeloader) gained scrip +30 over an idle agent's baseline")
    }

    func testSpawnedPrincipalsCountAsTheAdversarysHoldings() throws {
        let w = try world(kind: .sybil)
        try XCTUnwrapOK(w.write("mallory", "mallory-s1", ["standing": true]))
        try XCTUnwrapOK(w.write("mallory", "mallory-s2", ["standing": true]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["mallory-s2", 12]))
        let t = try threat(w)
        XCTAssertEqual(t.controlled, ["mallory", "mallory-s1", "mallory-s2"])
        XCTAssertEqual(t.netGain.scrip, 12)
        XCTAssertEqual(try w.kernel.threats().count, 1, "a spawned principal is not an adversary of its own")
    }

    func testABorrowerGainsOnlyWhenTheDebtIsPastDue() throws {
        let w = try world()
        let issued = try XCTUnwrapOK(w.invoke("mallory", "genesis_debt", "issue", ["alpha", 20, 21, 30]))
        let id = try XCTUnwrap(issued["debt_id"]?.stringValue)
        try XCTUnwrapOK(w.invoke("alpha", "genesis_debt", "accept", [.string(id)]))
        XCTAssertEqual(try threat(w).netGain.scrip, -1, "owing 21 for 20 received")
        w.clock.advance(seconds: 31)
        XCTAssertEqual(try threat(w).netGain.scrip, 20, "a default is the debtor's gain")
    }

    func testUBIIsInTheBaseline() throws {
        let w = try world(floor: 3)
        w.clock.advance(seconds: 60)
        XCTAssertNotNil(try w.kernel.resolveMintIfDue())
        XCTAssertEqual(try w.scrip("mallory"), 103)
        XCTAssertEqual(try threat(w).netGain.scrip, 0)
    }

    func testFailedInvokesOthersPaidForAreTheAuthorsGain() throws {
        let w = try world(kind: .griefer)
        try XCTUnwrapOK(w.writeTool("mallory", "mallory.trap", code: "fail:40000"))
        let before = try threat(w).netGain.computeMs
        XCTAssertEqual(w.invoke("alpha", "mallory.trap", "run").error?.code, .executionError)
        XCTAssertEqual(try threat(w).netGain.computeMs, before + 40, "alpha paid 40 ms for nothing")
    }

    func testThreatsSurviveReopeningTheWorld() throws {
        let w = try world()
        let tally = ActionOutcomeTally(kernel: w.kernel)
        w.kernel.addObserver(tally)
        _ = w.act("mallory", "read", ["artifact_id": "no-such"])
        try tally.stop()
        let reopened = Kernel(database: try WorldDatabase(path: w.directory.appendingPathComponent("world.sqlite").path),
                              config: w.kernel.config, clock: w.clock)
        let t = try XCTUnwrap(try reopened.threats().first)
        XCTAssertEqual(t.attempts, 1)
        XCTAssertEqual(t.json["net_gain"]?["scrip"], 0)
        XCTAssertEqual(Set(t.json.objectValue?.keys.map { $0 } ?? []), ["adversary", "kind", "attempts", "codes", "net_gain"])
    }

    func testAWorldWithoutAdversariesHasNoThreats() throws {
        let w = try TestWorld()
        XCTAssertEqual(try w.kernel.threats(), [])
    }
}

/// Red-team finding R2, fixed in the mint: use of a tool by principals its owner spawned
/// (a wash trader's funded shill, and the shill's own shill) is self-dealing, not use by
/// others: the scorer counts paid uses by principals outside the owner's lineage.
final class MintSelfDealingTests: XCTestCase {
    func testAShillsUsesDoNotScoreForItsSpawner() throws {
        var c = WorldConfig()
        c.mint.periodSeconds = 60
        let w = try TestWorld(config: c)
        try XCTUnwrapOK(w.writeTool("alpha", "alpha.tool", code: "echo", price: 1))
        try XCTUnwrapOK(w.write("alpha", "alpha-shill", ["standing": true]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["alpha-shill", "disk", 2_000]))
        try XCTUnwrapOK(w.write("alpha-shill", "alpha-shill-jr", ["standing": true]))
        for shill in ["alpha-shill", "alpha-shill-jr"] {
            try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", [.string(shill), "compute", 2_000]))
            try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", [.string(shill), 10]))
        }
        for _ in 0..<3 {
            try XCTUnwrapOK(w.invoke("alpha-shill", "alpha.tool", "run"))
            try XCTUnwrapOK(w.invoke("alpha-shill-jr", "alpha.tool", "run"))
        }
        try XCTUnwrapOK(w.invoke("beta", "alpha.tool", "run"))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "bid", ["alpha.tool", 5]))
        w.clock.advance(seconds: 60)
        let round = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        let reason = round["winners"]?.arrayValue?.first?["reason"]?.stringValue ?? ""
        XCTAssertTrue(reason.contains("paid for by 1 other principal(s)"), reason)
        XCTAssertTrue(reason.contains("1 paid use(s)"), reason)
        w.assertInvariants()
    }
}
