import EcologyCore
@testable import EcologyKernel
import XCTest

/// Agent statements: every movement of scrip, compute, LLM dollars and disk with its
/// event, summing to the balances (SPEC section 9, docs/KPIS.md).
final class StatementTests: XCTestCase {
    static let everyone = ["alpha", "beta", "gamma", "delta", "epsilon", "alpha_child", "vault"]

    /// No refill and no kernel action costs: every compute movement is itemized, so the
    /// lines alone must sum to every balance.
    func closedConfig() -> WorldConfig {
        var c = WorldConfig()
        c.resources.compute.ratePerSecond = 0
        c.costs = CostConfig()
        c.costs.readMs = 0; c.costs.writeMs = 0; c.costs.invokeGenesisMs = 0; c.costs.llmCallMs = 0
        c.mint.periodSeconds = 60
        c.mint.slots = 1
        c.mint.mintRatio = 1
        c.mint.minimumBid = 1
        return c
    }

    /// A scenario that moves every resource through every path that exists.
    func variedWorld(_ config: WorldConfig) throws -> TestWorld {
        let w = try TestWorld(config: config, scorer: FixedScorer(scores: ["a_tool": 50, "c_tool": 9]))
        // Tools, a nested call chain and a paid invoke.
        try XCTUnwrapOK(w.writeTool("alpha", "a_tool", code: "echo", price: 4))
        try XCTUnwrapOK(w.writeTool("gamma", "c_tool", code: "echo"))
        try XCTUnwrapOK(w.writeTool("beta", "b_comp", code: "kernel", tools: ["invoke"]))
        try XCTUnwrapOK(w.invoke("beta", "a_tool", "run"))
        try XCTUnwrapOK(w.invoke("alpha", "a_tool", "run"))
        let nested = try XCTUnwrapOK(w.invoke("delta", "b_comp", "invoke", [["artifact_id": "c_tool", "method": "run", "args": []]]))
        XCTAssertEqual(nested["ok"], true)
        XCTAssertFalse(w.invoke("epsilon", "a_tool", "missing").isOK)
        // A custom contract, paid for by whoever asks it.
        try XCTUnwrapOK(w.write("alpha", "c1", ["kind": "contract", "code": "requesters=*;actions=*", "content": "{\"cache_ttl_seconds\": 0}",
                                                 "interface": ["tools": [["name": "check_permission", "description": "decides access"]]]]))
        try XCTUnwrapOK(w.write("alpha", "guarded", ["contract": "c1"]))
        try XCTUnwrapOK(w.act("beta", "read", ["artifact_id": "guarded"]))
        // Transfers of scrip, LLM budget, compute and disk quota.
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 7]))
        try XCTUnwrapOK(w.invoke("beta", "genesis_ledger", "transfer_budget", ["gamma", 1000]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["delta", "compute", 50]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["epsilon", "disk", 1000]))
        try XCTUnwrapOK(w.invoke("delta", "genesis_rights_registry", "transfer_quota", ["gamma", "llm_budget", 300]))
        // Storage: growth, shrinking, deletion, ownership.
        try XCTUnwrapOK(w.write("alpha", "a_tool", ["content": .string(String(repeating: "x", count: 500)), "code": "echo", "price": 4,
                                                    "interface": ["tools": [["name": "run", "description": "a test tool", "inputSchema": ["type": "object"]]]]]))
        try XCTUnwrapOK(w.write("beta", "scratch"))
        try XCTUnwrapOK(w.write("beta", "scratch", ["content": "s"]))
        try XCTUnwrapOK(w.act("beta", "delete", ["artifact_id": "scratch"]))
        try XCTUnwrapOK(w.write("delta", "gift"))
        try XCTUnwrapOK(w.invoke("delta", "genesis_ledger", "transfer_ownership", ["gift", "epsilon"]))
        // Escrow: a sale moves scrip and the bytes.
        try XCTUnwrapOK(w.write("gamma", "g_art"))
        let listing = try XCTUnwrapOK(w.invoke("gamma", "genesis_escrow", "deposit", ["g_art", 6]))
        try XCTUnwrapOK(w.invoke("epsilon", "genesis_escrow", "purchase", [listing["listing_id"] ?? .null]))
        try XCTUnwrapOK(w.write("gamma", "g_unsold"))
        let unsold = try XCTUnwrapOK(w.invoke("gamma", "genesis_escrow", "deposit", ["g_unsold", 9]))
        try XCTUnwrapOK(w.invoke("gamma", "genesis_escrow", "cancel", [unsold["listing_id"] ?? .null]))
        // Debt: requested (the debtor pays its bytes), funded (the holder does), repaid, sold on; and a cancelled request.
        let d = try XCTUnwrapOK(w.invoke("alpha", "genesis_debt", "issue", ["beta", 20, 25, 100]))
        let debt = try XCTUnwrap(d["debt_id"]?.stringValue)
        try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "accept", [.string(debt)]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_debt", "repay", [.string(debt), 5]))
        try XCTUnwrapOK(w.invoke("beta", "genesis_ledger", "transfer_ownership", [.string(debt), "gamma"]))
        try XCTUnwrapOK(w.invoke("delta", "genesis_debt", "repay", [.string(debt), 3]))
        let c = try XCTUnwrapOK(w.invoke("epsilon", "genesis_debt", "issue", ["delta", 5, 5, 100]))
        try XCTUnwrapOK(w.invoke("epsilon", "genesis_debt", "cancel", [c["debt_id"] ?? .null]))
        // Spawning: a child principal funded by its parent, and an account with standing.
        try XCTUnwrapOK(w.write("alpha", "alpha_child", ["standing": true, "executable": true, "content": "{\"mind\": \"heuristic\"}"]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["alpha_child", 11]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["alpha_child", "compute", 500]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["alpha_child", "disk", 5000]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer_budget", ["alpha_child", 2000]))
        try XCTUnwrapOK(w.write("alpha_child", "child_note"))
        try XCTUnwrapOK(w.invoke("alpha_child", "a_tool", "run"))
        try XCTUnwrapOK(w.write("gamma", "vault", ["standing": true]))
        try XCTUnwrapOK(w.invoke("gamma", "genesis_ledger", "transfer", ["vault", 2]))
        // The mint: a replaced bid, a withdrawn bid, a winner, a loser, UBI shared unevenly (3 among 6 agents).
        try XCTUnwrapOK(w.invoke("gamma", "genesis_mint", "bid", ["a_tool", 5]))
        try XCTUnwrapOK(w.invoke("gamma", "genesis_mint", "bid", ["a_tool", 10]))
        try XCTUnwrapOK(w.invoke("delta", "genesis_mint", "bid", ["c_tool", 3]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "bid", ["c_tool", 2]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "withdraw"))
        // LLM spend, as the gateway does it: reserve the worst case, settle to the real use, record the call.
        try w.kernel.reserveLLM(principal: "alpha", microdollars: 5000, tokens: 10)
        let (charged, _, _) = try w.kernel.settleLLM(principal: "alpha", reservedMicrodollars: 5000, reservedTokens: 10,
                                                     actualMicrodollars: 3000, actualTokens: 8)
        try w.kernel.recordEvent("llm_call", principal: "alpha", ["model": "fake", "charged_microdollars": .int(charged)])
        w.clock.advance(seconds: 60)
        let round = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        XCTAssertEqual(round["payments"], 3)
        XCTAssertEqual(round["ubi_recipients"], 6)
        return w
    }

    func testEveryStatementSumsToItsBalances() throws {
        let w = try variedWorld(closedConfig())
        let before = try w.fingerprint()
        var moved: [String: Int] = [:]
        for id in Self.everyone {
            let s = try w.kernel.statement(of: id)
            for resource in AgentStatement.resources {
                XCTAssertEqual(s.totals[resource], s.balances[resource], "\(id)'s \(resource) lines sum to its balance")
            }
            XCTAssertTrue(s.balanced, id)
            XCTAssertEqual(s.unitemizedComputeNanos, 0, "\(id): with no refill and no action costs every compute movement is itemized")
            XCTAssertFalse(s.lines.contains { $0.event == "compute_refill" }, id)
            // Each line's balance is the running sum.
            var running: [String: Int64] = [:]
            for l in s.lines {
                running[l.resource, default: 0] += l.delta
                XCTAssertEqual(l.balance, running[l.resource], "\(id) line \(l)")
                XCTAssertTrue(AgentStatement.resources.contains(l.resource))
                if l.note != "genesis grant" { moved[l.resource, default: 0] += 1 }
            }
            // And the balances are the ledger's.
            let p = try XCTUnwrap(try w.principal(id))
            XCTAssertEqual(s.balances["scrip"], p.scrip)
            XCTAssertEqual(s.balances["compute_ms"], try w.compute(id))
            XCTAssertEqual(s.balances["llm_microdollars"], p.llmBudget)
            XCTAssertEqual(s.balances["disk_bytes"], p.diskUsed)
            XCTAssertEqual(s.balances["disk_quota_bytes"], p.diskQuota)
        }
        for resource in AgentStatement.resources {
            XCTAssertGreaterThan(moved[resource] ?? 0, 0, "the scenario moves \(resource) beyond the grants")
        }
        XCTAssertEqual(try w.fingerprint(), before, "statements change nothing")
        w.assertInvariants()
    }

    func testTheStatementNamesEachMovement() throws {
        let w = try variedWorld(closedConfig())
        let beta = try w.kernel.statement(of: "beta")
        func has(_ event: String, _ resource: String, _ delta: Int64, _ counterparty: String? = nil) -> Bool {
            beta.lines.contains { $0.event == event && $0.resource == resource && $0.delta == delta && (counterparty == nil || $0.counterparty == counterparty) }
        }
        XCTAssertTrue(has("artifact_written", "scrip", 100, "genesis"), "genesis grant")
        XCTAssertTrue(has("invoke", "scrip", -4, "alpha"), "paid alpha's tool")
        XCTAssertTrue(has("transfer", "scrip", 7, "alpha"))
        XCTAssertTrue(has("transfer", "llm_microdollars", -1000, "gamma"))
        XCTAssertTrue(has("debt_issued", "scrip", -20, "alpha"), "lent to alpha")
        XCTAssertTrue(has("debt_repaid", "scrip", 5, "alpha"), "repaid to beta while it held the debt")
        XCTAssertFalse(beta.lines.contains { $0.event == "debt_repaid" && $0.delta == 3 }, "after the sale, repayments go to gamma")
        XCTAssertTrue(beta.lines.contains { $0.event == "contract_evaluated" && $0.resource == "compute_ms" }, "beta asked c1")
        XCTAssertTrue(beta.lines.contains { $0.event == "artifact_deleted" && $0.counterparty == "scratch" && $0.delta < 0 }, "freed by delete")
        XCTAssertTrue(beta.lines.contains { $0.event == "mint_resolved" && $0.note?.contains("UBI") == true })
        // delta paid the CPU of the nested call into gamma's tool.
        let delta = try w.kernel.statement(of: "delta")
        XCTAssertTrue(delta.lines.contains { $0.event == "invoke" && $0.counterparty == "c_tool" && $0.note?.contains("nested") == true })
        // gamma: the winning bid's rest refunded (bid 10, paid 3) and the replaced bid.
        let gamma = try w.kernel.statement(of: "gamma")
        XCTAssertTrue(gamma.lines.contains { $0.event == "mint_bid" && $0.delta == 5 && $0.note == "earlier bid refunded" })
        XCTAssertTrue(gamma.lines.contains { $0.event == "mint_resolved" && $0.delta == 7 })
        XCTAssertTrue(gamma.lines.contains { $0.event == "debt_repaid" && $0.delta == 3 })
        // alpha: minted for a_tool, the LLM call.
        let alpha = try w.kernel.statement(of: "alpha")
        XCTAssertTrue(alpha.lines.contains { $0.event == "mint_resolved" && $0.delta == 50 && $0.note?.contains("minted") == true })
        XCTAssertTrue(alpha.lines.contains { $0.event == "llm_call" && $0.delta == -3000 })
        XCTAssertTrue(alpha.lines.contains { $0.event == "mint_withdraw" && $0.delta == 2 })
    }

    func testRefillIsTheComputedLine() throws {
        var c = closedConfig()
        c.resources.compute = BucketConfig(ratePerSecond: 10, capacity: 100_000, initial: 1_000)
        c.costs.writeMs = 2
        let w = try TestWorld(config: c)
        try XCTUnwrapOK(w.write("alpha", "one"))
        try XCTUnwrapOK(w.write("alpha", "two"))
        try XCTUnwrapOK(w.writeTool("alpha", "t", code: "cpu:1500"))
        try XCTUnwrapOK(w.invoke("alpha", "t", "run"))
        w.clock.advance(seconds: 30)
        let s = try w.kernel.statement(of: "alpha")
        XCTAssertTrue(s.balanced)
        // Refill 10 × 30 s = 300 CPU-ms; three writes cost 2 CPU-ms each and have no compute line.
        XCTAssertEqual(s.unitemizedComputeNanos, (300 - 6) * TokenBucket.scale)
        let refill = try XCTUnwrap(s.lines.last)
        XCTAssertEqual(refill.event, "compute_refill")
        XCTAssertEqual(refill.seq, 0)
        XCTAssertEqual(refill.balance, try w.compute("alpha"))
        // The invoke's 1.5 CPU-ms: the floored balance drops by 2 (1000 → 998.5 shows as 998).
        XCTAssertEqual(s.lines.first { $0.event == "invoke" }?.delta, -2)
        XCTAssertEqual(try w.compute("alpha"), 1_000 - 6 + 300 - 2, "998.5 + 294 floors to 1292")
    }

    func testLimitKeepsTheLatestLinesAndTotalsCoverAll() throws {
        let w = try variedWorld(closedConfig())
        let all = try w.kernel.statement(of: "alpha")
        let last = try w.kernel.statement(of: "alpha", limit: 3)
        XCTAssertEqual(last.lines, Array(all.lines.suffix(3)))
        XCTAssertEqual(last.lineCount, all.lines.count)
        XCTAssertEqual(last.totals, all.totals)
        XCTAssertTrue(last.balanced)
        let json = try XCTUnwrap(last.json.objectValue)
        XCTAssertEqual(json["lines"]?.arrayValue?.count, 3)
        XCTAssertEqual(json["balanced"], true)
        XCTAssertEqual(json["agent"], "alpha")
    }

    func testBadRequestsAreClearErrors() throws {
        let w = try TestWorld()
        XCTAssertThrowsError(try w.kernel.statement(of: "alpha", limit: 0)) { XCTAssertEqual(($0 as? KernelError)?.code, .invalidArgs) }
        XCTAssertThrowsError(try w.kernel.statement(of: "nobody")) { XCTAssertEqual(($0 as? KernelError)?.code, .notFound) }
        XCTAssertThrowsError(try w.kernel.statement(of: "handbook_overview")) { XCTAssertEqual(($0 as? KernelError)?.code, .notFound) }
        XCTAssertThrowsError(try w.kernel.statement(of: "bad id!")) { XCTAssertEqual(($0 as? KernelError)?.code, .invalidArgs) }
    }

    /// A fresh world's statement is its grants, which are the configured starting balances.
    func testAFreshAgentIsItsGrant() throws {
        let w = try TestWorld()
        let s = try w.kernel.statement(of: "epsilon")
        XCTAssertTrue(s.balanced)
        XCTAssertEqual(Set(s.lines.map(\.event)), ["artifact_written"])
        XCTAssertEqual(s.balances["scrip"], 100)
        XCTAssertGreaterThan(s.balances["disk_bytes"] ?? 0, 0, "its own artifact")
    }
}
