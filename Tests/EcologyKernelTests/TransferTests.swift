import EcologyCore
@testable import EcologyKernel
import XCTest

final class TransferTests: XCTestCase {
    func testTransferMovesScripAndRecordsAnEvent() throws {
        let w = try TestWorld()
        let events = try w.eventCount()
        let r = try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 30]))
        XCTAssertEqual(r, ["from": "alpha", "to": "beta", "amount": 30])
        XCTAssertEqual(try w.scrip("alpha"), 70)
        XCTAssertEqual(try w.scrip("beta"), 130)
        XCTAssertEqual(try w.eventCount(), events + 1)
        let e = try XCTUnwrap(try w.events(type: "transfer").last)
        XCTAssertEqual(e.principal, "alpha")
        XCTAssertEqual(e.data, ["resource": "scrip", "from": "alpha", "to": "beta", "amount": 30])
        // Named arguments work too, and all of one's scrip may go.
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", [["to": "gamma", "amount": 70]]))
        XCTAssertEqual(try w.scrip("alpha"), 0)
        XCTAssertEqual(try w.scrip("gamma"), 170)
        w.assertInvariants()
    }

    func testInsufficientFundsChangesNothing() throws {
        let w = try TestWorld()
        let e = w.assertFailsCleanly(.insufficientFunds) { w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 101]) }
        XCTAssertEqual(e?.details?["balance"], 100)
        XCTAssertEqual(e?.details?["needed"], 101)
        w.assertInvariants()
    }

    func testInvalidAmountsAndTypes() throws {
        let w = try TestWorld()
        let bad: [[JSONValue]] = [
            ["beta", 0], ["beta", -5], ["beta", 1_000_000_000_001], ["beta", .int(Int64.max)], ["beta", 1.5], ["beta", "10"],
            ["beta", true], ["beta", nil], ["beta"], [], [5, 10], [["x": 1], 10], ["beta", 10, "alpha", "surplus"],
            [["to": "beta", "amount": 5, "memo": "extra"]], ["beta", .number(1e30)], ["beta", .number(.nan)],
        ]
        for args in bad {
            w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "transfer", args) }
        }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "transfer", ["alpha", 5]) }
        w.assertInvariants()
    }

    func testUnknownRecipientMethodAndIDs() throws {
        let w = try TestWorld()
        w.assertFailsCleanly(.notFound) { w.invoke("alpha", "genesis_ledger", "transfer", ["nobody", 5]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "steal", ["beta", 5]) }
        let long = String(repeating: "b", count: 129)
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "transfer", [.string(long), 5]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "transfer", ["be ta", 5]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", long, "transfer", ["beta", 5]) }
        w.assertFailsCleanly(.notFound) { w.invoke("alpha", "no_such_service", "transfer", ["beta", 5]) }
        // A data artifact exists but holds no balance.
        try XCTUnwrapOK(w.write("alpha", "notes"))
        w.assertFailsCleanly(.notFound) { w.invoke("alpha", "genesis_ledger", "transfer", ["notes", 5]) }
        w.assertInvariants()
    }

    func testTransferFromSomeoneElseIsDenied() throws {
        let w = try TestWorld()
        w.assertFailsCleanly(.accessDenied) { w.invoke("alpha", "genesis_ledger", "transfer", ["alpha", 5, "beta"]) }
        w.assertFailsCleanly(.accessDenied) { w.invoke("alpha", "genesis_ledger", "transfer", [["to": "gamma", "amount": 5, "from": "beta"]]) }
        // Naming oneself as 'from' is fine.
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["gamma", 5, "alpha"]))
        w.assertInvariants()
    }

    func testTransferToOrFromADeletedPrincipal() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.act("epsilon", "delete", ["artifact_id": "epsilon"]))
        w.assertFailsCleanly(.deleted) { w.invoke("alpha", "genesis_ledger", "transfer", ["epsilon", 5]) }
        w.assertFailsCleanly(.deleted) { w.invoke("epsilon", "genesis_ledger", "transfer", ["alpha", 5]) }
        XCTAssertEqual(try w.scrip("epsilon"), 100, "a deleted principal keeps its balance row")
        try XCTUnwrapOK(w.write("alpha", "gift"))
        w.assertFailsCleanly(.deleted) { w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["gift", "epsilon"]) }
        w.assertInvariants()
    }

    func testGenesisAccountsCannotReceiveDirectTransfers() throws {
        let w = try TestWorld()
        // The mint holds only bids and the escrow only artifacts (see checkInvariants).
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "transfer", ["genesis_escrow", 5]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "transfer", ["genesis_mint", 5]) }
        try XCTUnwrapOK(w.write("alpha", "doc"))
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["doc", "genesis_escrow"]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["doc", "genesis_mint"]) }
        w.assertInvariants()
    }

    /// `all_balances` answers a page at a time, so its cost (and its frame) does not grow
    /// with the world; paging with `after` visits every principal exactly once, in id order.
    func testAllBalancesPagesThroughEveryPrincipal() throws {
        let w = try TestWorld()
        let all = try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "all_balances")).arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        XCTAssertEqual(all.count, 7)
        XCTAssertEqual(all, all.sorted())
        var seen: [String] = [], pages = 0
        var args: [String: JSONValue] = ["limit": 3]  // named (one object argument): no 'after' on the first page
        while true {
            let page = try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "all_balances", [.object(args)])).arrayValue ?? []
            XCTAssertLessThanOrEqual(page.count, 3)
            seen += page.compactMap { $0["id"]?.stringValue }
            pages += 1
            guard page.count == 3, let last = seen.last else { break }
            args["after"] = .string(last)
        }
        XCTAssertEqual(seen, all)
        XCTAssertEqual(pages, 3)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "all_balances", [.string(all.last!), 10])).arrayValue?.count, 0)
        XCTAssertCode(w.invoke("alpha", "genesis_ledger", "all_balances", [["limit": 0]]), .invalidArgs)
        XCTAssertCode(w.invoke("alpha", "genesis_ledger", "all_balances", [["limit": 501]]), .invalidArgs)
    }

    func testBalancesAndBudget() throws {
        let w = try TestWorld()
        let b = try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "balance"))
        XCTAssertEqual(b["scrip"], 100)
        XCTAssertEqual(b["llm_budget_microdollars"], 1_000_000)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "balance", ["beta"]))["id"], "beta")
        XCTAssertCode(w.invoke("alpha", "genesis_ledger", "balance", ["nobody"]), .notFound)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "all_balances")).arrayValue?.count, 7)
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer_budget", ["beta", 250_000]))
        XCTAssertEqual(try w.principal("alpha")?.llmBudget, 750_000)
        XCTAssertEqual(try w.principal("beta")?.llmBudget, 1_250_000)
        w.assertFailsCleanly(.insufficientFunds) { w.invoke("alpha", "genesis_ledger", "transfer_budget", ["beta", 750_001]) }
        w.assertFailsCleanly(.notFound) { w.invoke("alpha", "genesis_ledger", "transfer_budget", ["nobody", 1]) }
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("gamma", "genesis_ledger", "get_budget", ["beta"]))["llm_budget_microdollars"], 1_250_000)
        w.assertInvariants()
    }

    func testTransferOwnership() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "doc", ["content": "twelve bytes"]))
        let alphaDisk = try w.principal("alpha")!.diskUsed, betaDisk = try w.principal("beta")!.diskUsed
        w.assertFailsCleanly(.accessDenied) { w.invoke("beta", "genesis_ledger", "transfer_ownership", ["doc", "beta"]) }
        w.assertFailsCleanly(.notFound) { w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["doc", "nobody"]) }
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["doc", "beta"]))
        let doc = try w.artifact("doc")!
        XCTAssertEqual(doc.ownerID, "beta")
        XCTAssertEqual(doc.createdBy, "alpha", "created_by is immutable")
        XCTAssertEqual(doc.version, 2)
        XCTAssertEqual(try w.principal("alpha")!.diskUsed, alphaDisk - 12)
        XCTAssertEqual(try w.principal("beta")!.diskUsed, betaDisk + 12)
        // Now only beta may change it.
        XCTAssertCode(w.write("alpha", "doc"), .accessDenied)
        try XCTUnwrapOK(w.write("beta", "doc"))
        w.assertInvariants()
    }

    func testRightsTradingAnAgentArtifactGivesControlOfItsBalance() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.invoke("beta", "genesis_ledger", "transfer_ownership", ["beta", "alpha"]))
        // genesis_self_owned: the artifact itself or its owner, now alpha.
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["alpha", 40, "beta"]))
        XCTAssertEqual(try w.scrip("alpha"), 140)
        try XCTUnwrapOK(w.invoke("beta", "genesis_ledger", "transfer", ["gamma", 10]))
        w.assertInvariants()
    }
}
