import EcologyCore
@testable import EcologyKernel
import GRDB
import XCTest

final class ComputeTests: XCTestCase {
    func charge(_ w: TestWorld, _ who: String, cpuMicros: Int64 = 0, kernelMs: Int64 = 0) throws {
        try w.database.write { db in try w.kernel.chargeCompute(db, payer: who, cpuMicros: cpuMicros, kernelMs: kernelMs) }
    }

    func testDebtFreezesAndRecoversOnVirtualTime() throws {
        let w = try TestWorld()
        XCTAssertEqual(try w.compute("alpha"), 10_000)
        try charge(w, "alpha", cpuMicros: 10_500_000)  // 10,500 CPU-ms
        XCTAssertEqual(try w.compute("alpha"), -500)
        XCTAssertEqual(try w.eventCount(type: "agent_frozen"), 1)
        XCTAssertEqual(try w.events(type: "agent_frozen").last?.principal, "alpha")

        let e = w.assertFailsCleanly(.insufficientCompute) { w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 1]) }
        XCTAssertEqual(e?.retryAfter, 5.0, "500 CPU-ms at 100 CPU-ms/s")
        w.assertFailsCleanly(.insufficientCompute) { w.write("alpha", "x") }
        w.assertFailsCleanly(.insufficientCompute) { w.act("alpha", "read", ["artifact_id": "handbook_overview"]) }
        w.assertFailsCleanly(.insufficientCompute) { w.act("alpha", "noop", [:]) }
        XCTAssertEqual(try XCTUnwrapOK(w.act("alpha", "observe", [:]))["balances"]?["frozen"], true, "observing is always allowed")
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "balance"))["frozen"], true)

        w.clock.advance(seconds: 4.99)
        XCTAssertCode(w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 1]), .insufficientCompute)
        w.clock.advance(seconds: 0.01)
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 1]))
        XCTAssertEqual(try w.compute("alpha"), 0)
        w.assertInvariants()
    }

    func testFreezeAfterRecoveryIsRecordedAgain() throws {
        let w = try TestWorld()
        try charge(w, "alpha", kernelMs: 10_001)
        XCTAssertEqual(try w.eventCount(type: "agent_frozen"), 1)
        try charge(w, "alpha", kernelMs: 5)  // deeper in the same freeze: no new event
        XCTAssertEqual(try w.eventCount(type: "agent_frozen"), 1)
        w.clock.advance(seconds: 1)
        XCTAssertTrue(w.act("alpha", "noop", [:]).isOK)
        try charge(w, "alpha", kernelMs: 200)
        XCTAssertEqual(try w.eventCount(type: "agent_frozen"), 2, "a second freeze is a new agent_frozen event")
        XCTAssertEqual(try w.eventCount(type: "agent_unfrozen"), 1)
    }

    func testFailedInvokesIntoDebtFreezeThePayer() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.writeTool("alpha", "hog", code: "cpu:12000000"))
        let r = w.invoke("beta", "hog", "run")
        XCTAssertTrue(r.isOK, "the run itself succeeds; it is paid afterwards")
        XCTAssertEqual(try w.compute("beta"), -2_000)
        XCTAssertCode(w.invoke("beta", "hog", "run"), .insufficientCompute)
        XCTAssertEqual(w.executor.count(.artifact), 1, "a frozen payer starts nothing")
        XCTAssertEqual(try w.events(type: "agent_frozen").map(\.principal), ["beta"])
    }

    func testRescueByComputeTransfer() throws {
        let w = try TestWorld()
        try charge(w, "beta", kernelMs: 10_300)
        XCTAssertCode(w.act("beta", "noop", [:]), .insufficientCompute)
        // Too little does not unfreeze; anyone may give without consent.
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "compute", 100]))
        XCTAssertEqual(try w.compute("beta"), -200)
        XCTAssertCode(w.act("beta", "noop", [:]), .insufficientCompute)
        let q = try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "compute", 250]))
        XCTAssertEqual(q["compute"]?["balance"], 50)
        XCTAssertEqual(q["compute"]?["frozen"], false)
        XCTAssertTrue(w.act("beta", "noop", [:]).isOK)
        XCTAssertEqual(try w.compute("alpha"), 10_000 - 350)
        XCTAssertEqual(try w.eventCount(type: "quota_transfer"), 2)
        // A frozen giver cannot give.
        try charge(w, "gamma", kernelMs: 20_000)
        w.assertFailsCleanly(.insufficientCompute) { w.invoke("gamma", "genesis_rights_registry", "transfer_quota", ["beta", "compute", 1]) }
        w.assertInvariants()
    }

    func testQuotaTransferErrors() throws {
        let w = try TestWorld()
        w.assertFailsCleanly(.insufficientFunds) { w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "compute", 10_001]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "gold", 1]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["alpha", "compute", 1]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "compute", 0]) }
        w.assertFailsCleanly(.notFound) { w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["nobody", "compute", 1]) }
        w.assertFailsCleanly(.insufficientFunds) { w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "compute_rate", 101]) }
        w.assertFailsCleanly(.insufficientFunds) { w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "llm_budget", 1_000_001]) }
    }

    func testRateAndCapacityTransfersChangeRefill() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "compute_rate", 60]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "compute_capacity", 5_000]))
        try charge(w, "alpha", kernelMs: 10_000)
        try charge(w, "beta", kernelMs: 10_000)
        w.clock.advance(seconds: 10)
        XCTAssertEqual(try w.compute("alpha"), 400)
        XCTAssertEqual(try w.compute("beta"), 1_600)
        w.clock.advance(seconds: 1_000)
        XCTAssertEqual(try w.compute("alpha"), 5_000)
        XCTAssertEqual(try w.compute("beta"), 15_000)
        let all = try XCTUnwrapOK(w.invoke("gamma", "genesis_rights_registry", "all_quotas")).arrayValue ?? []
        XCTAssertEqual(all.count, 7)
        let mine = try XCTUnwrapOK(w.invoke("beta", "genesis_rights_registry", "check_quota"))
        XCTAssertEqual(mine["compute"]?["rate_per_second"], 160)
    }

    func testWriteCostsComputeButReadsAreFree() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "n1"))
        try XCTUnwrapOK(w.write("alpha", "n2"))
        XCTAssertEqual(try w.compute("alpha"), 9_998)
        try XCTUnwrapOK(w.act("alpha", "read", ["artifact_id": "n1"]))
        XCTAssertEqual(try w.compute("alpha"), 9_998)
        // A failed write costs nothing here: it rolled back before the kernel's cost was charged.
        XCTAssertCode(w.write("alpha", "genesis_ledger"), .accessDenied)
        XCTAssertEqual(try w.compute("alpha"), 9_998)
    }
}
