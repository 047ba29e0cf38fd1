import EcologyCore
@testable import EcologyKernel
import XCTest

final class ContractTests: XCTestCase {
    /// Writes a custom contract (fake code: see FakeExecutor) owned by `who`.
    func writeContract(_ w: TestWorld, _ who: String, _ id: String, rule: String, ttl: Double = 0) throws {
        try XCTUnwrapOK(w.write(who, id, ["kind": "contract", "code": .string(rule), "content": .string("{\"cache_ttl_seconds\": \(ttl)}"),
                                          "interface": ["tools": [["name": "check_permission", "description": "decides access"]]]]))
    }

    func testGenesisFreeware() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.writeTool("alpha", "fw", code: "echo"))
        XCTAssertTrue(w.act("beta", "read", ["artifact_id": "fw"]).isOK)
        XCTAssertTrue(w.invoke("beta", "fw", "run").isOK)
        XCTAssertCode(w.write("beta", "fw"), .accessDenied)
        XCTAssertCode(w.act("beta", "edit", ["artifact_id": "fw", "old": "c", "new": "d"]), .accessDenied)
        XCTAssertCode(w.act("beta", "delete", ["artifact_id": "fw"]), .accessDenied)
        XCTAssertCode(w.invoke("beta", "genesis_ledger", "transfer_ownership", ["fw", "beta"]), .accessDenied)
        XCTAssertTrue(w.act("alpha", "edit", ["artifact_id": "fw", "old": "content", "new": "text"]).isOK)
        w.assertInvariants()
    }

    func testGenesisPrivate() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.writeTool("alpha", "pv", code: "echo", contract: "genesis_private"))
        let denied = w.act("beta", "read", ["artifact_id": "pv"])
        XCTAssertCode(denied, .accessDenied)
        XCTAssertEqual(denied.error?.details?["contract"], "genesis_private")
        XCTAssertCode(w.invoke("beta", "pv", "run"), .accessDenied)
        XCTAssertCode(w.invoke("beta", "genesis_store", "get", ["pv"]), .accessDenied)
        XCTAssertTrue(w.act("alpha", "read", ["artifact_id": "pv"]).isOK)
        XCTAssertTrue(w.invoke("alpha", "pv", "run").isOK)
        // Tool code runs as the tool, not as its invoker: the owner's private artifact is closed to it.
        try XCTUnwrapOK(w.writeTool("alpha", "reader", code: "kernel", tools: ["read"]))
        let viaTool = try XCTUnwrapOK(w.invoke("alpha", "reader", "read", [["artifact_id": "pv"]]))
        XCTAssertEqual(viaTool["error"]?["code"], "ACCESS_DENIED")
        // Metadata stays visible without content.
        let meta = try XCTUnwrapOK(w.invoke("beta", "genesis_store", "get_metadata", ["pv"]))
        XCTAssertNil(meta["content"])
    }

    func testGenesisSelfOwnedAndPublic() throws {
        let w = try TestWorld()
        // An agent's own artifact is self-owned: another agent cannot rewrite its mind.
        XCTAssertCode(w.write("beta", "alpha", ["standing": true, "executable": true, "interface": ["tools": []]]), .accessDenied)
        XCTAssertTrue(w.write("alpha", "alpha", ["standing": true, "executable": true, "interface": ["tools": []], "content": "new mind"]).isOK)
        XCTAssertEqual(try w.artifact("alpha")?.content, "new mind")
        // A tool that owns... itself: its code may act on it.
        try XCTUnwrapOK(w.writeTool("alpha", "selfish", code: "kernel", tools: ["edit"], contract: "genesis_self_owned"))
        XCTAssertCode(w.act("beta", "read", ["artifact_id": "selfish"]), .accessDenied)
        let r = try XCTUnwrapOK(w.invoke("alpha", "selfish", "edit", [["artifact_id": "selfish", "old": "content", "new": "edited"]]))
        XCTAssertEqual(r["ok"], true)
        // genesis_public: anyone, anything.
        try XCTUnwrapOK(w.write("alpha", "wiki", ["contract": "genesis_public", "content": "v1"]))
        XCTAssertTrue(w.write("beta", "wiki", ["contract": "genesis_public", "content": "v2"]).isOK)
        XCTAssertEqual(try w.artifact("wiki")?.ownerID, "alpha", "writing does not change the owner")
        XCTAssertTrue(w.invoke("gamma", "genesis_ledger", "transfer_ownership", ["wiki", "gamma"]).isOK)
        XCTAssertTrue(w.act("delta", "delete", ["artifact_id": "wiki"]).isOK)
        w.assertInvariants()
    }

    func testCustomContractThatDeniesItsOwnerDeniesTheOwner() throws {
        let w = try TestWorld()
        try writeContract(w, "alpha", "only_gamma", rule: "requesters=gamma;actions=*")
        try XCTUnwrapOK(w.write("alpha", "vault", ["contract": "only_gamma", "content": "secret"]))
        w.assertFailsPayingOnlyItsContracts(.accessDenied) { w.act("alpha", "read", ["artifact_id": "vault"]) }
        w.assertFailsPayingOnlyItsContracts(.accessDenied) { w.write("alpha", "vault", ["content": "mine"]) }
        w.assertFailsPayingOnlyItsContracts(.accessDenied) { w.act("alpha", "delete", ["artifact_id": "vault"]) }
        w.assertFailsPayingOnlyItsContracts(.accessDenied) { w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["vault", "beta"]) }
        let e = w.act("beta", "read", ["artifact_id": "vault"]).error
        XCTAssertEqual(e?.code, .accessDenied)
        XCTAssertEqual(e?.details?["contract"], "only_gamma")
        XCTAssertTrue(e?.message.contains("rule denies beta") ?? false, e?.message ?? "")
        XCTAssertEqual(try XCTUnwrapOK(w.act("gamma", "read", ["artifact_id": "vault"]))["content"], "secret")
        // gamma may rewrite it, but not grow it: its bytes are charged to alpha (StorageChargeAttackTests).
        w.assertFailsPayingOnlyItsContracts(.accessDenied) { w.write("gamma", "vault", ["contract": "only_gamma", "content": "gamma's now"]) }
        try XCTUnwrapOK(w.write("gamma", "vault", ["contract": "only_gamma", "content": "gamma!"]))
        XCTAssertEqual(try w.artifact("vault")?.ownerID, "alpha")
        // The contract sees the request: action and requester.
        let last = try XCTUnwrap(w.executor.requests.last { $0.kind == .contract })
        XCTAssertEqual(last.method, "check_permission")
        XCTAssertEqual(last.args[0], "vault")
        XCTAssertEqual(last.args[1], "write")
        XCTAssertEqual(last.args[2], "gamma")
        XCTAssertEqual(last.args[3]["owner_id"], "alpha")
        w.assertInvariants()
    }

    func testCustomContractReadsTheOwner() throws {
        let w = try TestWorld()
        try writeContract(w, "alpha", "owner_reads", rule: "requesters=owner;actions=read,write")
        try XCTUnwrapOK(w.write("alpha", "diary", ["contract": "owner_reads"]))
        XCTAssertTrue(w.act("alpha", "read", ["artifact_id": "diary"]).isOK)
        XCTAssertCode(w.act("beta", "read", ["artifact_id": "diary"]), .accessDenied)
        XCTAssertCode(w.act("alpha", "delete", ["artifact_id": "diary"]), .accessDenied)
    }

    func testCustomContractOnATool() throws {
        let w = try TestWorld()
        try writeContract(w, "alpha", "members", rule: "requesters=beta,alpha;actions=invoke,read")
        try XCTUnwrapOK(w.writeTool("alpha", "club_tool", code: "echo", contract: "members"))
        XCTAssertTrue(w.invoke("beta", "club_tool", "run").isOK)
        w.assertFailsPayingOnlyItsContracts(.accessDenied) { w.invoke("gamma", "club_tool", "run") }
    }

    func testFailingContractsFailClosed() throws {
        let w = try TestWorld()
        try writeContract(w, "alpha", "crasher", rule: "crash")
        try writeContract(w, "alpha", "liar", rule: "garbage")
        try XCTUnwrapOK(w.write("alpha", "c1", ["contract": "crasher"]))
        try XCTUnwrapOK(w.write("alpha", "c2", ["contract": "liar"]))
        for id in ["c1", "c2"] {
            let e = w.act("alpha", "read", ["artifact_id": .string(id)]).error
            XCTAssertEqual(e?.code, .accessDenied)
            XCTAssertTrue(e?.message.contains("failing closed") ?? false, e?.message ?? "")
        }
    }

    func testContractsArePure() throws {
        let w = try TestWorld()
        try writeContract(w, "alpha", "c", rule: "requesters=*;actions=*")
        try XCTUnwrapOK(w.write("alpha", "x", ["contract": "c"]))
        XCTAssertTrue(w.act("beta", "read", ["artifact_id": "x"]).isOK)
        XCTAssertEqual(w.executor.requests.last?.kind, .contract)
        XCTAssertEqual(w.executor.requests.last?.caller, "c")
    }

    func testPermissionCacheHitAndInvalidation() throws {
        let w = try TestWorld()
        try writeContract(w, "alpha", "cached", rule: "requesters=*;actions=read,write,edit", ttl: 60)
        try XCTUnwrapOK(w.write("alpha", "doc", ["contract": "cached", "content": "one two"]))
        let runs0 = w.executor.count(.contract)
        XCTAssertTrue(w.act("beta", "read", ["artifact_id": "doc"]).isOK)
        XCTAssertEqual(w.executor.count(.contract), runs0 + 1)
        XCTAssertTrue(w.act("beta", "read", ["artifact_id": "doc"]).isOK)
        XCTAssertEqual(w.executor.count(.contract), runs0 + 1, "cache hit")
        XCTAssertTrue(w.act("gamma", "read", ["artifact_id": "doc"]).isOK)
        XCTAssertEqual(w.executor.count(.contract), runs0 + 2, "the requester is part of the key")
        // The artifact changes: its version moves, the entry no longer applies.
        XCTAssertTrue(w.act("beta", "edit", ["artifact_id": "doc", "old": "one", "new": "1"]).isOK)
        let afterEdit = w.executor.count(.contract)
        XCTAssertTrue(w.act("beta", "read", ["artifact_id": "doc"]).isOK)
        XCTAssertEqual(w.executor.count(.contract), afterEdit + 1)
        XCTAssertTrue(w.act("beta", "read", ["artifact_id": "doc"]).isOK)
        XCTAssertEqual(w.executor.count(.contract), afterEdit + 1)
        // The contract changes: now it denies beta, and the cached 'allowed' must not survive.
        try writeContract(w, "alpha", "cached", rule: "requesters=gamma;actions=read", ttl: 60)
        XCTAssertCode(w.act("beta", "read", ["artifact_id": "doc"]), .accessDenied)
        // TTL expiry.
        let n = w.executor.count(.contract)
        XCTAssertTrue(w.act("gamma", "read", ["artifact_id": "doc"]).isOK)
        XCTAssertTrue(w.act("gamma", "read", ["artifact_id": "doc"]).isOK)
        XCTAssertEqual(w.executor.count(.contract), n + 1)
        w.clock.advance(seconds: 61)
        XCTAssertTrue(w.act("gamma", "read", ["artifact_id": "doc"]).isOK)
        XCTAssertEqual(w.executor.count(.contract), n + 2)
    }

    func testNoCachingWithoutATTL() throws {
        let w = try TestWorld()
        try writeContract(w, "alpha", "uncached", rule: "requesters=*;actions=read")
        try XCTUnwrapOK(w.write("alpha", "doc", ["contract": "uncached"]))
        let n = w.executor.count(.contract)
        for _ in 0..<3 { XCTAssertTrue(w.act("beta", "read", ["artifact_id": "doc"]).isOK) }
        XCTAssertEqual(w.executor.count(.contract), n + 3)
    }

    func testMissingContractFailsClosedForChangesAndOpenForReads() throws {
        let w = try TestWorld()
        try writeContract(w, "alpha", "gone", rule: "requesters=*;actions=*")
        try XCTUnwrapOK(w.write("alpha", "orphan", ["contract": "gone", "content": "data"]))
        try XCTUnwrapOK(w.writeTool("alpha", "orphan_tool", code: "echo", contract: "gone"))
        try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "gone"]))
        XCTAssertTrue(w.act("beta", "read", ["artifact_id": "orphan"]).isOK)
        XCTAssertTrue(w.invoke("beta", "orphan_tool", "run").isOK)
        for (action, env) in [
            ("write", w.write("alpha", "orphan", ["contract": "gone"])),
            ("edit", w.act("alpha", "edit", ["artifact_id": "orphan", "old": "data", "new": "x"])),
            ("delete", w.act("alpha", "delete", ["artifact_id": "orphan"])),
            ("transfer", w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["orphan", "beta"])),
            ("escrow", w.invoke("alpha", "genesis_escrow", "deposit", ["orphan", 5])),
        ] {
            XCTAssertCode(env, .accessDenied)
            XCTAssertTrue(env.error?.message.contains("missing or deleted") ?? false, "\(action): \(env)")
        }
        // New artifacts cannot name a missing contract.
        XCTAssertCode(w.write("alpha", "new_one", ["contract": "gone"]), .invalidArgs)
        // The checker notes it.
        let report = try w.kernel.checkInvariants()
        XCTAssertTrue(report.ok)
        XCTAssertTrue(report.notes.contains { $0.contains("orphan") }, "\(report.notes)")
    }

    func testAContractMustBeExecutableCode() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "not_code", ["content": "allow everything"]))
        XCTAssertCode(w.write("alpha", "x", ["contract": "not_code"]), .invalidArgs)
    }
}
