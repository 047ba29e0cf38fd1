import EcologyCore
@testable import EcologyKernel
import XCTest

/// The KPI module on worlds whose every figure is known by hand (docs/KPIS.md).
final class KPITests: XCTestCase {
    func config() -> WorldConfig {
        var c = WorldConfig()
        c.mint.periodSeconds = 60
        c.mint.slots = 2
        c.mint.mintRatio = 1
        c.mint.minimumBid = 1
        return c
    }

    func issueDebt(_ w: TestWorld, _ debtor: String, from creditor: String, _ amount: Int64, repay: Int64, due: Int64, fund: Bool = true) throws -> String {
        let d = try XCTUnwrapOK(w.invoke(debtor, "genesis_debt", "issue", [.string(creditor), .int(amount), .int(repay), .int(due)]))
        let id = try XCTUnwrap(d["debt_id"]?.stringValue)
        if fund { try XCTUnwrapOK(w.invoke(creditor, "genesis_debt", "accept", [.string(id)])) }
        return id
    }

    func freeze(_ w: TestWorld, _ who: String) throws {
        try w.database.write { db in try w.kernel.chargeCompute(db, payer: who, cpuMicros: 0, kernelMs: 10_300) }
    }

    /// Builds the world of `testEveryKPIOnAKnownWorld`; 120 s of world time pass.
    func knownWorld() throws -> TestWorld {
        let w = try TestWorld(config: config(), scorer: FixedScorer(scores: ["a_tool": 60, "c_tool": 20]))
        try XCTUnwrapOK(w.writeTool("alpha", "a_tool", code: "echo", price: 5))
        try XCTUnwrapOK(w.writeTool("alpha", "a_tool2", code: "echo", price: 3))
        try XCTUnwrapOK(w.writeTool("alpha", "a_broken", code: "fail:10", price: 2))
        try XCTUnwrapOK(w.writeTool("gamma", "c_tool", code: "echo"))
        try XCTUnwrapOK(w.writeTool("beta", "b_comp", code: "kernel", tools: ["invoke"]))
        // Six successful invokes of user tools, five by others, one nested, three paid (5, 5, 3).
        try XCTUnwrapOK(w.invoke("beta", "a_tool", "run"))
        try XCTUnwrapOK(w.invoke("gamma", "a_tool", "run"))
        try XCTUnwrapOK(w.invoke("alpha", "a_tool", "run"))  // the owner: not cross-agent, pays nothing
        try XCTUnwrapOK(w.invoke("delta", "a_tool2", "run"))
        // delta → beta's b_comp → gamma's c_tool (depth 1, paid for by delta).
        let inner = try XCTUnwrapOK(w.invoke("delta", "b_comp", "invoke", [["artifact_id": "c_tool", "method": "run", "args": []]]))
        XCTAssertEqual(inner["ok"], true, "the nested invoke succeeded: \(inner)")
        XCTAssertFalse(w.invoke("epsilon", "a_broken", "run").isOK, "a failed invoke is not a use")
        // Other scrip movements: a transfer of 10, an escrow sale of 7, debts funded 20 + 10 + 5 and repaid 10 + 10.
        try XCTUnwrapOK(w.invoke("epsilon", "genesis_ledger", "transfer", ["alpha", 10]))
        try XCTUnwrapOK(w.write("gamma", "g_art"))
        let listing = try XCTUnwrapOK(w.invoke("gamma", "genesis_escrow", "deposit", ["g_art", 7]))
        try XCTUnwrapOK(w.invoke("epsilon", "genesis_escrow", "purchase", [listing["listing_id"] ?? .null]))
        let late = try issueDebt(w, "alpha", from: "beta", 20, repay: 20, due: 100)
        try XCTUnwrapOK(w.invoke("alpha", "genesis_debt", "repay", [.string(late), 10]))  // half: defaults at 100 s
        let paid = try issueDebt(w, "gamma", from: "delta", 10, repay: 10, due: 50)
        try XCTUnwrapOK(w.invoke("gamma", "genesis_debt", "repay", [.string(paid), 10]))
        _ = try issueDebt(w, "epsilon", from: "alpha", 10, repay: 10, due: 30, fund: false)  // never funded: not counted
        _ = try issueDebt(w, "delta", from: "epsilon", 5, repay: 6, due: 1000)  // funded, due later: not counted yet
        // Mint: alpha's a_tool scores 60, gamma's c_tool 20.
        try XCTUnwrapOK(w.invoke("gamma", "genesis_mint", "bid", ["a_tool", 10]))
        try XCTUnwrapOK(w.invoke("delta", "genesis_mint", "bid", ["c_tool", 5]))
        // Freezes: beta is rescued by alpha (and then helped again in the same episode); delta is not.
        try freeze(w, "beta")
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "compute", 100]))
        try XCTUnwrapOK(w.invoke("gamma", "genesis_rights_registry", "transfer_quota", ["beta", "compute", 100]))
        try freeze(w, "delta")
        // LLM spend: $2.00.
        try w.kernel.recordEvent("llm_call", principal: "alpha", ["charged_microdollars": 1_500_000])
        try w.kernel.recordEvent("llm_call", principal: "gamma", ["charged_microdollars": 500_000])
        w.clock.advance(seconds: 60)
        let round = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        XCTAssertEqual(round["winners"]?.arrayValue?.map { $0["minted"] }, [60, 20])
        w.clock.advance(seconds: 60)
        return w
    }

    func testEveryKPIOnAKnownWorld() throws {
        let w = try knownWorld()
        let before = try w.fingerprint()
        let k = try w.kernel.kpis()
        XCTAssertEqual(try w.fingerprint(), before, "computing KPIs changes nothing")

        let agents = try ["alpha", "beta", "gamma", "delta", "epsilon"].map { try w.scrip($0) }
        XCTAssertEqual(k.gini, EconomicMeasures.gini(agents), accuracy: 1e-12)
        XCTAssertGreaterThan(k.gini, 0)
        // 13 + 10 + 7 + (20 + 10 + 5) + (10 + 10) = 85 scrip, 5 agents, 2 minutes.
        XCTAssertEqual(k.velocityPerAgentMinute, 85.0 / 10, accuracy: 1e-12)
        XCTAssertEqual(k.crossAgentInvokeFraction, 5.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(k.compositionFraction, 1.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(k.toolsUsedByOthers, 4)
        // alpha: uses by others {a_tool: 2, a_tool2: 1} → HHI 5/9, weight 3/5; gamma and beta: 1 each, weight 1/5.
        XCTAssertEqual(k.specializationIndex, 3.0 / 5 * 5 / 9 + 2.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(k.reuseRatio, 1 - 4.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(k.mintHHI, 0.75 * 0.75 + 0.25 * 0.25, accuracy: 1e-12)
        // Prices 5, 5, 3: mean 13/3, population variance 8/9.
        XCTAssertEqual(k.priceDispersion, (8.0 / 9).squareRoot() / (13.0 / 3), accuracy: 1e-12)
        XCTAssertEqual(k.frozenEvents, 2)
        XCTAssertEqual(k.rescues, 1)
        XCTAssertEqual(k.debtDefaultRate, 0.5, accuracy: 1e-12)
        XCTAssertEqual(k.llmBurnDollarsPerHour, 2.0 * 30, accuracy: 1e-9)
        XCTAssertNil(k.windowSeconds)
        XCTAssertEqual(k.durationSeconds, 120, accuracy: 1e-9)
        XCTAssertEqual(k.toSeconds - k.fromSeconds, 120, accuracy: 1e-9)
    }

    func testTheWindowCountsOnlyItsEvents() throws {
        let w = try knownWorld()
        w.clock.advance(seconds: 100)
        try XCTUnwrapOK(w.invoke("beta", "a_tool2", "run"))
        try XCTUnwrapOK(w.invoke("gamma", "genesis_ledger", "transfer", ["beta", 2]))
        w.clock.advance(seconds: 10)
        let k = try w.kernel.kpis(window: 50)
        XCTAssertEqual(k.crossAgentInvokeFraction, 1)
        XCTAssertEqual(k.compositionFraction, 0)
        XCTAssertEqual(k.toolsUsedByOthers, 1)
        XCTAssertEqual(k.reuseRatio, 0)
        XCTAssertEqual(k.specializationIndex, 1)
        XCTAssertEqual(k.priceDispersion, 0, "one price has no dispersion")
        XCTAssertEqual(k.velocityPerAgentMinute, 5.0 / (5 * 50.0 / 60), accuracy: 1e-12)
        XCTAssertEqual(k.mintHHI, 0, "no round in the window")
        XCTAssertEqual(k.frozenEvents, 0)
        XCTAssertEqual(k.rescues, 0)
        XCTAssertEqual(k.debtDefaultRate, 0, "no funded debt falls due in the window")
        XCTAssertEqual(k.llmBurnDollarsPerHour, 0)
        XCTAssertEqual(k.windowSeconds, 50)
        XCTAssertEqual(k.durationSeconds, 50, accuracy: 1e-9)
        // The whole world still counts the early debts: due at 50 s and 100 s, one defaulted.
        XCTAssertEqual(try w.kernel.kpis().debtDefaultRate, 0.5, accuracy: 1e-12)
        // A window covering the first 230 s sees the same debts and the round.
        let wide = try w.kernel.kpis(window: 230)
        XCTAssertEqual(wide.mintHHI, 0.625, accuracy: 1e-12)
        XCTAssertEqual(wide.durationSeconds, 230, accuracy: 1e-9, "the world is exactly 230 s old")
        // A window longer than the world divides by the world's age, like the whole world.
        let all = try w.kernel.kpis(), longer = try w.kernel.kpis(window: 1e6)
        XCTAssertEqual(longer.velocityPerAgentMinute, all.velocityPerAgentMinute, accuracy: 1e-12)
        XCTAssertEqual(longer.json, all.json)
    }

    func testARescueBeforeTheWindowIsNotCountedInIt() throws {
        let w = try TestWorld()
        try freeze(w, "beta")
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 5]))  // scrip landing while frozen
        w.clock.advance(seconds: 30)
        try XCTUnwrapOK(w.invoke("gamma", "genesis_rights_registry", "transfer_quota", ["beta", "compute", 400]))
        XCTAssertEqual(try w.kernel.kpis().rescues, 1, "one episode, helped twice")
        XCTAssertEqual(try w.kernel.kpis(window: 10).rescues, 0, "the episode was first helped before the window")
        XCTAssertEqual(try w.kernel.kpis(window: 10).frozenEvents, 0)
        // Recovered and frozen again: a new episode, rescued inside the window.
        try XCTUnwrapOK(w.write("beta", "note"))  // a charged action records the recovery
        XCTAssertEqual(try w.eventCount(type: "agent_unfrozen"), 1)
        try freeze(w, "beta")
        try XCTUnwrapOK(w.invoke("delta", "genesis_rights_registry", "transfer_quota", ["beta", "compute_rate", 1]))
        let k = try w.kernel.kpis(window: 10)
        XCTAssertEqual(k.frozenEvents, 1)
        XCTAssertEqual(k.rescues, 1)
        XCTAssertEqual(try w.kernel.kpis().rescues, 2)
    }

    func testGiniCountsAgentsOnly() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("gamma", "vault", ["standing": true]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 100]))
        try XCTUnwrapOK(w.invoke("gamma", "genesis_ledger", "transfer", ["vault", 50]))
        // Agents [0, 50, 100, 100, 200]; the vault (a principal, not an agent) and the genesis accounts are left out.
        XCTAssertEqual(try w.kernel.kpis().gini, 900.0 / (5 * 450), accuracy: 1e-12)
    }

    func testAnEmptyWorldIsAllZerosAndTheJSONHasExactlyTheKeys() throws {
        let w = try TestWorld()
        let k = try w.kernel.kpis()
        let object = try XCTUnwrap(k.json.objectValue)
        XCTAssertEqual(Set(object.keys), Set(KPIReport.keys))
        XCTAssertEqual(object.count, 13)
        XCTAssertEqual(KPIReport.keys.count, 13)
        for key in KPIReport.keys {
            let v = try XCTUnwrap(object[key]?.doubleValue, key)
            XCTAssertEqual(v, 0, "\(key) of a world where nothing happened")
        }
        XCTAssertEqual(k.durationSeconds, 0)
        let text = JSONCodec.string(k.json)
        XCTAssertFalse(text.contains("nan") || text.contains("inf"), text)
        // The world's key order is the documented one.
        XCTAssertEqual(KPIReport.keys.first, "gini")
        XCTAssertEqual(KPIReport.keys.last, "llm_burn_dollars_per_hour")
    }

    func testBadWindowsAreRefused() throws {
        let w = try TestWorld()
        for bad in [0, -1, .nan, .infinity, -.infinity, KPIReport.maxWindowSeconds * 2] as [Double] {
            XCTAssertThrowsError(try w.kernel.kpis(window: bad), "\(bad)") { error in
                XCTAssertEqual((error as? KernelError)?.code, .invalidArgs)
            }
        }
        XCTAssertNoThrow(try w.kernel.kpis(window: KPIReport.maxWindowSeconds))
    }

    func testOldInvokeEventsWithoutDepthCountAsTopLevel() throws {
        let w = try TestWorld()
        try w.kernel.recordEvent("invoke", principal: "beta", ["artifact_id": "t", "payer": "beta", "owner": "alpha", "price_paid": 4])
        let k = try w.kernel.kpis()
        XCTAssertEqual(k.compositionFraction, 0)
        XCTAssertEqual(k.crossAgentInvokeFraction, 1)
    }
}

/// The pure formulas on plain arrays.
final class EconomicMeasuresTests: XCTestCase {
    func testGini() {
        XCTAssertEqual(EconomicMeasures.gini([]), 0)
        XCTAssertEqual(EconomicMeasures.gini([0, 0, 0]), 0)
        XCTAssertEqual(EconomicMeasures.gini([7, 7, 7, 7]), 0, accuracy: 1e-12)
        XCTAssertEqual(EconomicMeasures.gini([0, 0, 0, 100]), 3.0 / 4, accuracy: 1e-12)
        XCTAssertEqual(EconomicMeasures.gini([100, 0]), 0.5, accuracy: 1e-12, "order does not matter")
        XCTAssertEqual(EconomicMeasures.gini([1, 2, 3]), 2.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(EconomicMeasures.gini([Int64.max, Int64.max]), 0, accuracy: 1e-12, "no overflow")
    }

    func testHerfindahl() {
        XCTAssertEqual(EconomicMeasures.herfindahl([]), 0)
        XCTAssertEqual(EconomicMeasures.herfindahl([0, 0]), 0)
        XCTAssertEqual(EconomicMeasures.herfindahl([42]), 1)
        XCTAssertEqual(EconomicMeasures.herfindahl([1, 1, 1, 1]), 0.25, accuracy: 1e-12)
        XCTAssertEqual(EconomicMeasures.herfindahl([3, 1]), 0.625, accuracy: 1e-12)
        XCTAssertEqual(EconomicMeasures.herfindahl([5, .nan, -3]), 1, "only positive finite amounts count")
    }

    func testCoefficientOfVariation() {
        XCTAssertEqual(EconomicMeasures.coefficientOfVariation([]), 0)
        XCTAssertEqual(EconomicMeasures.coefficientOfVariation([4, 4, 4]), 0)
        XCTAssertEqual(EconomicMeasures.coefficientOfVariation([1, 3]), 0.5, accuracy: 1e-12)
        XCTAssertEqual(EconomicMeasures.coefficientOfVariation([0, 0]), 0, "a zero mean has no relative spread")
    }

    func testRatio() {
        XCTAssertEqual(EconomicMeasures.ratio(3, 0), 0)
        XCTAssertEqual(EconomicMeasures.ratio(0, 0), 0)
        XCTAssertEqual(EconomicMeasures.ratio(1, 4), 0.25)
        XCTAssertEqual(EconomicMeasures.ratio(.nan, 4), 0)
    }
}
