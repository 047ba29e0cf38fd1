import EcologyCore
@testable import EcologyKernel
import GRDB
import XCTest

final class MintTests: XCTestCase {
    func config(slots: Int = 1, floor: Int64 = 0, ratio: Int64 = 1, minimumBid: Int64 = 1) -> WorldConfig {
        var c = WorldConfig()
        c.mint.periodSeconds = 60
        c.mint.slots = slots
        c.mint.ubiFloor = floor
        c.mint.mintRatio = ratio
        c.mint.minimumBid = minimumBid
        return c
    }

    func testBidHoldsScripAndReBidReplaces() throws {
        let w = try TestWorld(config: config())
        try XCTUnwrapOK(w.write("alpha", "gizmo"))
        let b = try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "bid", ["gizmo", 10]))
        XCTAssertEqual(b["amount"], 10)
        XCTAssertEqual(b["resolves_at"]?.doubleValue, Double(w.clock.nowMicros() + 60_000_000) / 1_000_000)
        XCTAssertEqual(try w.scrip("alpha"), 90)
        XCTAssertEqual(try w.scrip("genesis_mint"), 10)
        w.assertInvariants()
        try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "bid", ["gizmo", 15]))
        XCTAssertEqual(try w.scrip("alpha"), 85)
        XCTAssertEqual(try w.scrip("genesis_mint"), 15)
        let status = try XCTUnwrapOK(w.invoke("beta", "genesis_mint", "status"))
        XCTAssertEqual(status["active_bids"]?.arrayValue?.count, 1)
        XCTAssertEqual(status["active_bids"]?.arrayValue?.first?["amount"], 15)
        XCTAssertEqual(try w.events(type: "mint_bid").last?.data["replaced"], 10)
        w.assertInvariants()
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "withdraw"))["refunded"], 15)
        XCTAssertEqual(try w.scrip("alpha"), 100)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "withdraw"))["refunded"], 0)
        w.assertInvariants()
    }

    func testBidErrors() throws {
        let w = try TestWorld(config: config(minimumBid: 5))
        try XCTUnwrapOK(w.write("alpha", "gizmo"))
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_mint", "bid", ["gizmo", 4]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_mint", "bid", ["gizmo", -4]) }
        w.assertFailsCleanly(.notFound) { w.invoke("alpha", "genesis_mint", "bid", ["nothing", 10]) }
        w.assertFailsCleanly(.insufficientFunds) { w.invoke("alpha", "genesis_mint", "bid", ["gizmo", 101]) }
        try XCTUnwrapOK(w.write("alpha", "gone"))
        try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "gone"]))
        w.assertFailsCleanly(.deleted) { w.invoke("alpha", "genesis_mint", "bid", ["gone", 10]) }
        // A failed re-bid keeps the old bid.
        try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "bid", ["gizmo", 60]))
        w.assertFailsCleanly(.insufficientFunds) { w.invoke("alpha", "genesis_mint", "bid", ["gizmo", 101]) }
        XCTAssertEqual(try w.scrip("genesis_mint"), 60)
        XCTAssertCode(w.invoke("alpha", "genesis_mint", "check"), .notFound)
        w.assertInvariants()
    }

    func testResolutionOnlyAfterTheScheduledTime() throws {
        let w = try TestWorld(config: config(), scorer: FixedScorer(scores: ["gizmo": 45, "thing": 70]))
        try XCTUnwrapOK(w.write("alpha", "gizmo"))
        try XCTUnwrapOK(w.write("beta", "thing"))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "bid", ["gizmo", 30]))
        try XCTUnwrapOK(w.invoke("beta", "genesis_mint", "bid", ["thing", 20]))
        try XCTUnwrapOK(w.invoke("gamma", "genesis_mint", "bid", ["thing", 5]))
        XCTAssertNil(try w.kernel.resolveMintIfDue())
        w.clock.advance(micros: 59_999_999)
        XCTAssertNil(try w.kernel.resolveMintIfDue())
        XCTAssertEqual(try w.scrip("genesis_mint"), 55)
        w.clock.advance(micros: 1)
        let round = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        XCTAssertNil(try w.kernel.resolveMintIfDue(), "one resolution per scheduled time")

        XCTAssertEqual(round["round"], 1)
        let winner = try XCTUnwrap(round["winners"]?.arrayValue?.first)
        XCTAssertEqual(winner["bidder"], "alpha")
        XCTAssertEqual(winner["paid"], 20, "Vickrey: the winner pays the next-highest bid")
        XCTAssertEqual(winner["score"], 45)
        XCTAssertEqual(winner["minted"], 45)
        XCTAssertEqual(winner["owner"], "alpha")
        XCTAssertEqual(round["losers"]?.arrayValue?.count, 2)
        XCTAssertEqual(round["payments"], 20)
        XCTAssertEqual(round["ubi_recipients"], 5, "UBI goes to agents, not to genesis accounts")
        XCTAssertEqual(round["ubi_per_agent"], 4)
        XCTAssertEqual(round["minted"], 45)
        // alpha: -30 bid +10 refund +45 minted +4 UBI; the others: refunds and UBI.
        XCTAssertEqual(try w.scrip("alpha"), 129)
        XCTAssertEqual(try w.scrip("beta"), 104)
        XCTAssertEqual(try w.scrip("gamma"), 104)
        XCTAssertEqual(try w.scrip("delta"), 104)
        XCTAssertEqual(try w.scrip("genesis_mint"), 0)
        XCTAssertEqual(try w.scrip("genesis_escrow"), 0)
        XCTAssertEqual(try w.totalScrip(), 545)
        XCTAssertEqual(try w.eventCount(type: "mint_resolved"), 1)
        // Stored rounds read back as the same JSON text (1.0 reads back as 1, so compare canonical text).
        let text = JSONCodec.string(round)
        XCTAssertEqual(JSONCodec.string(try XCTUnwrapOK(w.invoke("delta", "genesis_mint", "check"))), text)
        XCTAssertEqual(JSONCodec.string(try XCTUnwrapOK(w.invoke("delta", "genesis_mint", "check", [1]))), text)
        XCTAssertEqual(JSONCodec.string(try XCTUnwrapOK(w.invoke("delta", "genesis_mint", "status"))["last_round"] ?? nil), text)
        let statuses = try w.database.read { try String.fetchAll($0, sql: "SELECT status FROM mint_bids ORDER BY id") }
        XCTAssertEqual(statuses, ["won", "lost", "lost"])
        let report = try w.kernel.checkInvariants()
        XCTAssertTrue(report.ok, "\(report.violations)")
        XCTAssertEqual(report.figures["minted_scrip"], 45)
        // The next round is one period later.
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("delta", "genesis_mint", "status"))["next_resolution"]?.doubleValue,
                       Double(w.clock.nowMicros() + 60_000_000) / 1_000_000)
    }

    func testTheRoundDueAtTheStopIsResolvedByResolveDueMintRound() throws {
        // 60 s of a world with 20 s rounds, looked at once a second like the supervisor
        // does, which stops before its look at 60 s: the loop resolves the rounds at 20 s
        // and 40 s; the one at 60 s is due at the stop, and only the call made then resolves it.
        var c = config()
        c.mint.periodSeconds = 20
        let w = try TestWorld(config: c)
        XCTAssertNil(try w.kernel.resolveDueMintRound(), "nothing is due at the start")
        for _ in 0..<59 { w.clock.advance(seconds: 1); try w.kernel.resolveMintIfDue() }
        w.clock.advance(seconds: 1)
        XCTAssertEqual(try w.eventCount(type: "mint_resolved"), 2)
        XCTAssertTrue(try w.kernel.isMintRoundDue())
        let last = try XCTUnwrap(try w.kernel.resolveDueMintRound())
        XCTAssertEqual(last["round"], 3)
        XCTAssertEqual(try w.eventCount(type: "mint_resolved"), 3, "3 rounds in 60 s")
        XCTAssertFalse(try w.kernel.isMintRoundDue())
        XCTAssertNil(try w.kernel.resolveDueMintRound(), "one resolution per scheduled time")
        w.assertInvariants()
    }

    func testKSlotsEachPayTheNextBidAndScoreGoesToTheOwner() throws {
        let w = try TestWorld(config: config(slots: 2, ratio: 2), scorer: FixedScorer(scores: ["a1": 90, "b1": 31]))
        try XCTUnwrapOK(w.write("alpha", "a1"))
        try XCTUnwrapOK(w.write("beta", "b1"))
        try XCTUnwrapOK(w.invoke("gamma", "genesis_mint", "bid", ["a1", 50]))  // gamma bids for alpha's artifact
        try XCTUnwrapOK(w.invoke("delta", "genesis_mint", "bid", ["b1", 30]))
        try XCTUnwrapOK(w.invoke("epsilon", "genesis_mint", "bid", ["b1", 10]))
        w.clock.advance(seconds: 60)
        let round = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        XCTAssertEqual(round["winners"]?.arrayValue?.map { $0["paid"] }, [30, 10])
        XCTAssertEqual(round["winners"]?.arrayValue?.map { $0["minted"] }, [45, 15], "score / mint_ratio, rounded down")
        XCTAssertEqual(round["payments"], 40)
        // UBI 40 / 5 = 8 each.
        XCTAssertEqual(try w.scrip("alpha"), 100 + 45 + 8)
        XCTAssertEqual(try w.scrip("beta"), 100 + 15 + 8)
        XCTAssertEqual(try w.scrip("gamma"), 100 - 30 + 8)
        XCTAssertEqual(try w.scrip("delta"), 100 - 10 + 8)
        XCTAssertEqual(try w.scrip("epsilon"), 100 + 8)
        w.assertInvariants()
    }

    func testNoBiddersAndUBIFloor() throws {
        let w = try TestWorld(config: config(floor: 3))
        w.clock.advance(seconds: 60)
        let round = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        XCTAssertEqual(round["winners"], [])
        XCTAssertEqual(round["payments"], 0)
        XCTAssertEqual(round["minted"], 15, "the floor is minted for the 5 agents")
        for a in agents { XCTAssertEqual(try w.scrip(a), 103) }
        w.assertInvariants()
        // A UBI floor tops up payments that fall short.
        try XCTUnwrapOK(w.write("alpha", "x"))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "bid", ["x", 7]))
        w.clock.advance(seconds: 60)
        let r2 = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        XCTAssertEqual(r2["payments"], 1, "a lone bidder pays the minimum bid")
        let scoreMinted: Int64 = r2["winners"]?.arrayValue?.first?["minted"]?.intValue ?? 0
        XCTAssertEqual(r2["minted"]?.intValue, 14 + scoreMinted)
        XCTAssertEqual(try w.scrip("beta"), 106)
        w.assertInvariants()
    }

    func testNoBiddersNoFloorStillAdvancesTheSchedule() throws {
        let w = try TestWorld(config: config())
        let start = w.clock.nowMicros()
        w.clock.advance(seconds: 601)  // ten periods later: one round, then back on the grid
        let round = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        XCTAssertEqual(round["minted"], 0)
        XCTAssertNil(try w.kernel.resolveMintIfDue())
        let next = try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "status"))["next_resolution"]?.doubleValue
        XCTAssertEqual(next, Double(start + 660_000_000) / 1_000_000)
        XCTAssertEqual(try w.totalScrip(), 500)
        w.assertInvariants()
    }

    func testBuiltinScorerRewardsPaidUseByOthers() throws {
        let w = try TestWorld(config: config())
        try XCTUnwrapOK(w.writeTool("alpha", "popular", code: "echo", price: 2))
        for who in ["beta", "gamma", "delta"] { try XCTUnwrapOK(w.invoke(who, "popular", "run")) }
        try XCTUnwrapOK(w.invoke("alpha", "popular", "run"))  // the owner's own use does not count
        try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "bid", ["popular", 5]))
        w.clock.advance(seconds: 60)
        let r = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        let popular = try w.artifact("popular")!
        let input = ScoringInput(artifact: popular, invokesByOthers: 3, paidUsersSinceAward: 3, paidUsesSinceAward: 3)
        let expected = try BuiltinMintScorer().score(input).get().score
        XCTAssertEqual(r["winners"]?.arrayValue?.first?["score"]?.intValue, Int64(expected))
        XCTAssertGreaterThan(expected, 0)
        XCTAssertEqual(try BuiltinMintScorer().score(ScoringInput(artifact: popular, invokesByOthers: 3)).get().score, 0,
                       "use nobody paid for earns nothing, whatever the artifact's polish")
        w.assertInvariants()
    }

    /// Spawns `child` for `parent` (standing, owned by the parent) and funds it with scrip and compute.
    func spawn(_ w: TestWorld, _ child: String, by parent: String, scrip: Int64 = 40) throws {
        let config: JSONValue = ["id": .string(child), "standing": true, "executable": true, "contract": "genesis_self_owned",
                                 "content": "{\"mind\":\"heuristic\"}",
                                 "interface": ["tools": [["name": "message", "description": "message this agent",
                                                          "inputSchema": ["type": "object"]]]]]
        try XCTUnwrapOK(w.invoke(parent, "genesis_store", "create", [config]))
        try XCTUnwrapOK(w.invoke(parent, "genesis_ledger", "transfer", [.string(child), .int(scrip)]))
        try XCTUnwrapOK(w.invoke(parent, "genesis_rights_registry", "transfer_quota", [.string(child), "compute", 3000]))
        try XCTUnwrapOK(w.invoke(parent, "genesis_rights_registry", "transfer_quota", [.string(child), "disk", 65536]))
    }

    /// A tool with standing whose code makes the kernel call it is given (`kernel` fake code).
    func writePipe(_ w: TestWorld, _ owner: String, _ id: String, price: Int64, float: Int64 = 20) throws {
        try XCTUnwrapOK(w.write(owner, id, ["code": "kernel", "price": .int(price), "standing": true,
                                            "interface": ["tools": [["name": "invoke", "description": "calls another tool",
                                                                     "inputSchema": ["type": "object"]]]]]))
        try XCTUnwrapOK(w.invoke(owner, "genesis_ledger", "transfer", [.string(id), .int(float)]))
        try XCTUnwrapOK(w.invoke(owner, "genesis_rights_registry", "transfer_quota", [.string(id), "compute", 3000]))
    }

    func bidAndResolve(_ w: TestWorld, _ bidder: String, _ artifact: String) throws -> JSONValue {
        try XCTUnwrapOK(w.invoke(bidder, "genesis_mint", "bid", [.string(artifact), 2]))
        w.clock.advance(seconds: 60)
        let round = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        return try XCTUnwrap(round["winners"]?.arrayValue?.first)
    }

    func testWashTradingBetweenOneOwnersPrincipalsEarnsNoMint() throws {
        let w = try TestWorld(config: config())
        try XCTUnwrapOK(w.writeTool("alpha", "alpha.tool", code: "echo", price: 3))
        try spawn(w, "alpha-jr", by: "alpha")
        try writePipe(w, "alpha", "alpha.pipe", price: 1)
        for _ in 0..<5 {
            try XCTUnwrapOK(w.invoke("alpha", "alpha.tool", "run"))     // its owner
            try XCTUnwrapOK(w.invoke("alpha-jr", "alpha.tool", "run"))  // its owner's child, paying 3 each time
            // its owner's tool with standing, paying 3 from its own scrip
            try XCTUnwrapOK(w.invoke("alpha", "alpha.pipe", "invoke", [["artifact_id": "alpha.tool", "method": "run", "args": []]]))
        }
        XCTAssertEqual(try w.scrip("alpha.pipe"), 20 - 15, "the pipe paid for each call it made")
        let won = try bidAndResolve(w, "alpha", "alpha.tool")
        XCTAssertEqual(won["score"], 0, "\(won)")
        XCTAssertEqual(won["minted"], 0)
        // The child's own tool, bought by its parent: self-dealing too.
        try XCTUnwrapOK(w.writeTool("alpha-jr", "jr.tool", code: "echo", price: 2))
        for _ in 0..<3 { try XCTUnwrapOK(w.invoke("alpha", "jr.tool", "run")) }
        XCTAssertEqual(try bidAndResolve(w, "alpha-jr", "jr.tool")["minted"], 0)
        // Still when the child owns itself: it stays its creator's.
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["alpha-jr", "alpha-jr"]))
        for _ in 0..<3 { try XCTUnwrapOK(w.invoke("alpha", "jr.tool", "run")) }
        XCTAssertEqual(try bidAndResolve(w, "alpha-jr", "jr.tool")["minted"], 0)
        // One user who is not alpha's: the tool now scores.
        try XCTUnwrapOK(w.invoke("beta", "alpha.tool", "run"))
        let real = try bidAndResolve(w, "alpha", "alpha.tool")
        XCTAssertGreaterThan(real["minted"]?.intValue ?? 0, 0, "\(real)")
        XCTAssertTrue(real["reason"]?.stringValue?.contains("paid for by 1 other") ?? false, "\(real)")
        w.assertInvariants()
    }

    func testDistinctPayersCountMoreThanRepetitionAndOldUseEarnsOnce() throws {
        let w = try TestWorld(config: config())
        try XCTUnwrapOK(w.writeTool("alpha", "spammed", code: "echo", price: 1))
        try XCTUnwrapOK(w.writeTool("beta", "shared", code: "echo", price: 1))
        for _ in 0..<9 { try XCTUnwrapOK(w.invoke("gamma", "spammed", "run")) }
        for who in ["alpha", "gamma", "delta"] { try XCTUnwrapOK(w.invoke(who, "shared", "run")) }
        let spammed = try bidAndResolve(w, "alpha", "spammed")
        let shared = try bidAndResolve(w, "beta", "shared")
        XCTAssertGreaterThan(shared["score"]?.intValue ?? 0, spammed["score"]?.intValue ?? 0)
        // The uses that earned an award do not earn again.
        XCTAssertEqual(try bidAndResolve(w, "beta", "shared")["score"], 0)
        try XCTUnwrapOK(w.invoke("epsilon", "shared", "run"))
        XCTAssertGreaterThan(try bidAndResolve(w, "beta", "shared")["score"]?.intValue ?? 0, 0)
        w.assertInvariants()
    }

    func testCompositionPaysThroughAndScoresForTheComposer() throws {
        let w = try TestWorld(config: config())
        try XCTUnwrapOK(w.writeTool("gamma", "gamma.base", code: "echo", price: 2))
        try writePipe(w, "alpha", "alpha.pipe", price: 4)
        let call: JSONValue = ["artifact_id": "gamma.base", "method": "run", "args": []]
        for who in ["beta", "delta"] {
            let inner = try XCTUnwrapOK(w.invoke(who, "alpha.pipe", "invoke", [call]))
            XCTAssertEqual(inner["ok"], true, "the pipe's own call: \(inner)")
        }
        XCTAssertEqual(try w.scrip("beta"), 100 - 4, "the user pays the pipe's price only")
        XCTAssertEqual(try w.scrip("alpha.pipe"), 20 - 4, "the pipe pays the base tool from its own scrip")
        XCTAssertEqual(try w.scrip("gamma"), 100 + 4)
        let composer = try w.database.read { db in try w.kernel.scoringInput(db, for: try XCTUnwrap(try Artifact.load(db, "alpha.pipe"))) }
        XCTAssertEqual(composer.paidUsersSinceAward, 2)
        XCTAssertEqual(composer.composedOwnersSinceAward, 1)
        let base = try w.database.read { db in try w.kernel.scoringInput(db, for: try XCTUnwrap(try Artifact.load(db, "gamma.base"))) }
        XCTAssertEqual(base.paidUsersSinceAward, 1, "the pipe's calls count once, for its owner alpha")
        XCTAssertEqual(base.paidUsesSinceAward, 2)
        let plain = ScoringInput(artifact: composer.artifact, invokesByOthers: 2, paidUsersSinceAward: 2, paidUsesSinceAward: 2)
        XCTAssertGreaterThan(try BuiltinMintScorer().score(composer).get().score, try BuiltinMintScorer().score(plain).get().score)
        w.assertInvariants()
    }

    func testScorerFailureScoresZeroAndRefundsStillHappen() throws {
        let w = try TestWorld(config: config(), scorer: FixedScorer(scores: [:]))
        try XCTUnwrapOK(w.write("alpha", "x"))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "bid", ["x", 9]))
        w.clock.advance(seconds: 60)
        let r = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        XCTAssertEqual(r["winners"]?.arrayValue?.first?["score"], 0)
        XCTAssertTrue(r["winners"]?.arrayValue?.first?["reason"]?.stringValue?.contains("scorer failed") ?? false)
        XCTAssertEqual(try w.scrip("alpha"), 100 - 1 + 1, "paid the minimum, got it back as part of the UBI")
        w.assertInvariants()
    }

    func testWinningArtifactListedInEscrowMintsToTheSeller() throws {
        let w = try TestWorld(config: config(), scorer: FixedScorer(scores: ["listed": 50]))
        try XCTUnwrapOK(w.write("alpha", "listed"))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "deposit", ["listed", 10]))
        try XCTUnwrapOK(w.invoke("beta", "genesis_mint", "bid", ["listed", 5]))
        w.clock.advance(seconds: 60)
        let r = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        XCTAssertEqual(r["winners"]?.arrayValue?.first?["minted"], 50)
        XCTAssertEqual(try w.scrip("genesis_escrow"), 0)
        XCTAssertEqual(try w.scrip("alpha"), 100 + 50 + 1, "the seller gets the minted scrip, plus the UBI remainder of 1")
        w.assertInvariants()
    }

    func testDeletedWinnerScoresZero() throws {
        let w = try TestWorld(config: config(), scorer: FixedScorer(scores: ["doomed": 80]))
        try XCTUnwrapOK(w.write("alpha", "doomed"))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_mint", "bid", ["doomed", 5]))
        try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "doomed"]))
        w.clock.advance(seconds: 60)
        let r = try XCTUnwrap(try w.kernel.resolveMintIfDue())
        XCTAssertEqual(r["winners"]?.arrayValue?.first?["score"], 0)
        XCTAssertEqual(r["minted"], 0)
        w.assertInvariants()
    }
}
