import EcologyCore
@testable import EcologyKernel
import XCTest

final class DebtTests: XCTestCase {
    func issue(_ w: TestWorld, debtor: String, creditor: String, amount: Int64, repay: Int64, due: Int64 = 100) throws -> String {
        let d = try XCTUnwrapOK(w.invoke(debtor, "genesis_debt", "issue", [.string(creditor), .int(amount), .int(repay), .int(due)]))
        return try XCTUnwrap(d["debt_id"]?.stringValue)
    }

    func testIssueAcceptRepayPartialAndOverpay() throws {
        let w = try TestWorld()
        let id = try issue(w, debtor: "alpha", creditor: "beta", amount: 30, repay: 36)
        let debt = try XCTUnwrap(try w.artifact(id))
        XCTAssertEqual(debt.ownerID, "beta", "the debt artifact is owned by the creditor")
        XCTAssertEqual(debt.kind, "debt")
        XCTAssertEqual(try w.scrip("alpha"), 100, "nothing moves until the creditor funds it")
        w.assertFailsCleanly(.accessDenied) { w.invoke("alpha", "genesis_debt", "accept", [.string(id)]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_debt", "repay", [.string(id), 5]) }
        let accepted = try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "accept", [.string(id)]))
        XCTAssertEqual(accepted["status"], "active")
        XCTAssertEqual(try w.scrip("alpha"), 130)
        XCTAssertEqual(try w.scrip("beta"), 70)
        w.assertFailsCleanly(.invalidArgs) { w.invoke("beta", "genesis_debt", "accept", [.string(id)]) }

        let partial = try XCTUnwrapOK(w.invoke("alpha", "genesis_debt", "repay", [.string(id), 10]))
        XCTAssertEqual(partial["repaid"], 10)
        XCTAssertEqual(partial["remaining"], 26)
        XCTAssertEqual(partial["status"], "active")
        XCTAssertEqual(try w.scrip("beta"), 80)

        let done = try XCTUnwrapOK(w.invoke("alpha", "genesis_debt", "repay", [.string(id), 100]))
        XCTAssertEqual(done["status"], "repaid")
        XCTAssertEqual(done["remaining"], 0)
        XCTAssertEqual(try w.scrip("alpha"), 94, "overpayment is capped at what remains")
        XCTAssertEqual(try w.scrip("beta"), 106)
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_debt", "repay", [.string(id), 1]) }
        XCTAssertEqual(try w.eventCount(type: "debt_issued"), 1)
        XCTAssertEqual(try w.eventCount(type: "debt_repaid"), 2)
        w.assertInvariants()
    }

    func testRepaymentGoesToTheCurrentHolder() throws {
        let w = try TestWorld()
        let id = try issue(w, debtor: "alpha", creditor: "beta", amount: 20, repay: 25)
        try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "accept", [.string(id)]))
        // The creditor sells the claim to gamma.
        try XCTUnwrapOK(w.invoke("beta", "genesis_ledger", "transfer_ownership", [.string(id), "gamma"]))
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("delta", "genesis_debt", "status", [.string(id)]))["holder"], "gamma")
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("delta", "genesis_debt", "status", [.string(id)]))["original_creditor"], "beta")
        try XCTUnwrapOK(w.invoke("alpha", "genesis_debt", "repay", [.string(id), 25]))
        XCTAssertEqual(try w.scrip("gamma"), 125)
        XCTAssertEqual(try w.scrip("beta"), 80)
        XCTAssertEqual(try w.scrip("alpha"), 95)
        w.assertInvariants()
    }

    func testAnyoneMayRepayAndTheHolderRepayingItselfMovesNothing() throws {
        let w = try TestWorld()
        let id = try issue(w, debtor: "alpha", creditor: "beta", amount: 20, repay: 20)
        try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "accept", [.string(id)]))
        try XCTUnwrapOK(w.invoke("delta", "genesis_debt", "repay", [.string(id), 5]))
        XCTAssertEqual(try w.scrip("delta"), 95)
        XCTAssertEqual(try w.scrip("beta"), 85)
        try XCTUnwrapOK(w.invoke("epsilon", "genesis_ledger", "transfer", ["gamma", 95]))
        w.assertFailsCleanly(.insufficientFunds) { w.invoke("epsilon", "genesis_debt", "repay", [.string(id), 15]) }
        try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "repay", [.string(id), 15]))  // forgiving the rest
        XCTAssertEqual(try w.scrip("beta"), 85)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "status", [.string(id)]))["status"], "repaid")
        w.assertInvariants()
    }

    func testCancelAndErrors() throws {
        let w = try TestWorld()
        let id = try issue(w, debtor: "alpha", creditor: "beta", amount: 10, repay: 12)
        w.assertFailsCleanly(.accessDenied) { w.invoke("beta", "genesis_debt", "cancel", [.string(id)]) }
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "genesis_debt", "cancel", [.string(id)]))["status"], "cancelled")
        w.assertFailsCleanly(.invalidArgs) { w.invoke("beta", "genesis_debt", "accept", [.string(id)]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_debt", "issue", ["beta", 10, 9, 100]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_debt", "issue", ["alpha", 10, 12, 100]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_debt", "issue", ["beta", 0, 12, 100]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_debt", "issue", ["beta", 10, 12, 0]) }
        w.assertFailsCleanly(.notFound) { w.invoke("alpha", "genesis_debt", "issue", ["nobody", 10, 12, 100]) }
        w.assertFailsCleanly(.notFound) { w.invoke("alpha", "genesis_debt", "status", ["debt-999"]) }
        // The creditor cannot fund what it does not have.
        let big = try issue(w, debtor: "alpha", creditor: "beta", amount: 500, repay: 500)
        w.assertFailsCleanly(.insufficientFunds) { w.invoke("beta", "genesis_debt", "accept", [.string(big)]) }
        let funded = try issue(w, debtor: "gamma", creditor: "beta", amount: 1, repay: 1)
        try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "accept", [.string(funded)]))
        w.assertFailsCleanly(.invalidArgs) { w.invoke("gamma", "genesis_debt", "cancel", [.string(funded)]) }
        let listed = try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "list")).arrayValue ?? []
        XCTAssertEqual(listed.count, 3)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "list", ["gamma"])).arrayValue?.count, 1)
        w.assertInvariants()
    }

    func testOverdueIsPublic() throws {
        let w = try TestWorld()
        let id = try issue(w, debtor: "alpha", creditor: "beta", amount: 10, repay: 12, due: 30)
        try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "accept", [.string(id)]))
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("gamma", "genesis_debt", "status", [.string(id)]))["overdue"], false)
        w.clock.advance(seconds: 31)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("gamma", "genesis_debt", "status", [.string(id)]))["overdue"], true)
        XCTAssertEqual(try w.scrip("alpha"), 110, "scrip never goes negative: the debt is only marked")
    }

    func testDebtIDsCannotBeSquatted() throws {
        let w = try TestWorld()
        // Anyone may write an artifact called debt-1 before the first loan exists.
        try XCTUnwrapOK(w.write("gamma", "debt-1"))
        try XCTUnwrapOK(w.write("gamma", "debt-2"))
        let id = try issue(w, debtor: "alpha", creditor: "beta", amount: 10, repay: 10)
        XCTAssertNotEqual(id, "debt-1")
        XCTAssertNotEqual(id, "debt-2")
        XCTAssertEqual(try w.artifact("debt-1")?.ownerID, "gamma")
        let second = try issue(w, debtor: "alpha", creditor: "beta", amount: 10, repay: 10)
        XCTAssertNotEqual(second, id)
        w.assertInvariants()
    }

    func testRepayingADebtListedInEscrowPaysTheSeller() throws {
        let w = try TestWorld()
        let id = try issue(w, debtor: "alpha", creditor: "beta", amount: 10, repay: 15)
        try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "accept", [.string(id)]))
        try XCTUnwrapOK(w.invoke("beta", "genesis_escrow", "deposit", [.string(id), 12]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_debt", "repay", [.string(id), 5]))
        XCTAssertEqual(try w.scrip("genesis_escrow"), 0)
        XCTAssertEqual(try w.scrip("beta"), 95)
        w.assertInvariants()
    }
}
