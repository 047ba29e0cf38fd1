import EcologyCore
@testable import EcologyKernel
import Foundation
import GRDB
import XCTest

/// Class 3 of issue 9: every stored byte is charged to a principal who can see and free it.
/// Hostile agents try to store bytes for free (in escrow, in tombstones) or at someone
/// else's cost (through a `genesis_public` artifact, a gift, a debt request, tool code acting
/// for its invoker). Each must fail with the documented code, the invariants hold, and
/// every principal's `disk_used` is exactly the bytes charged to it.
final class StorageChargeAttackTests: XCTestCase {
    /// A custom contract run by `FakeExecutor` (`requesters=…;actions=…`).
    func writeContract(_ w: TestWorld, _ who: String, _ id: String, rule: String) throws {
        try XCTUnwrapOK(w.write(who, id, ["kind": "contract", "code": .string(rule),
                                          "interface": ["tools": [["name": "check_permission", "description": "decides access"]]]]))
    }

    func disk(_ w: TestWorld, _ id: String) throws -> Int64 { try XCTUnwrap(try w.principal(id)).diskUsed }

    /// Who an artifact's bytes are charged to (read as a column so that this suite also
    /// compiles, and fails, against the kernel before `charged_to` existed).
    func chargedTo(_ w: TestWorld, _ id: String) throws -> String? {
        try w.database.read { try String.fetchOne($0, sql: "SELECT charged_to FROM artifacts WHERE id = ?", arguments: [id]) }
    }

    /// Bytes of live artifacts charged to `id`, computed from the artifacts themselves.
    func chargedBytes(_ w: TestWorld, _ id: String) throws -> Int64 {
        try w.database.read { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(size_bytes), 0) FROM artifacts WHERE charged_to = ? AND deleted_at IS NULL",
                               arguments: [id]) ?? 0
        }
    }

    /// An agent fills escrow with listings of huge artifacts at prices nobody pays: before the
    /// fix each deposit moved the bytes onto the escrow's unlimited quota, so the seller (who
    /// can cancel and get them back) stored several times its quota for free.
    func testEscrowListingsDoNotMakeStorageFree() throws {
        let w = try TestWorld()
        let quota = try XCTUnwrap(try w.principal("alpha")).diskQuota
        let chunk = String(repeating: "x", count: 200_000)
        var stored: Int64 = try disk(w, "alpha")
        var refused: KernelError?
        for i in 0..<12 {
            let env = w.write("alpha", "hoard-\(i)", ["content": .string(chunk)])
            if let e = env.error { refused = e; break }
            stored += try XCTUnwrap(try w.artifact("hoard-\(i)")).sizeBytes
            try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "deposit", [.string("hoard-\(i)"), 1_000_000]))
            XCTAssertEqual(try disk(w, "alpha"), stored, "a listed artifact stays on its seller's disk")
        }
        XCTAssertEqual(refused?.code, .quotaExceeded, "the hoard must stop at the seller's quota")
        XCTAssertLessThanOrEqual(stored, quota)
        XCTAssertEqual(try disk(w, EscrowService.id), 0)
        XCTAssertEqual(try disk(w, "alpha"), try chargedBytes(w, "alpha"))
        w.assertInvariants()
        // Cancelling brings nothing new onto alpha's disk; buying moves the bytes to the buyer.
        let listings = try XCTUnwrapOK(w.invoke("beta", "genesis_escrow", "list_active")).arrayValue ?? []
        try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "cancel", [listings[0]["listing_id"]!]))
        XCTAssertEqual(try disk(w, "alpha"), stored)
        try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": listings[0]["artifact_id"]!]))
        XCTAssertEqual(try disk(w, "alpha"), try chargedBytes(w, "alpha"))
        w.assertInvariants()
    }

    /// A listed artifact under a contract that still lets its seller (or anyone) write it:
    /// growing it charged the escrow's quota. Listed artifacts are frozen until the listing ends.
    func testAListedArtifactCannotBeRewrittenOrGrown() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "tiny", ["contract": "genesis_public", "content": "t"]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_escrow", "deposit", ["tiny", 5]))
        let before = try disk(w, "alpha")
        let big = JSONValue.string(String(repeating: "y", count: 200_000))
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", "tiny", ["content": big]) }
        w.assertFailsCleanly(.invalidArgs) { w.write("gamma", "tiny", ["content": big]) }
        w.assertFailsCleanly(.invalidArgs) { w.act("gamma", "edit", ["artifact_id": "tiny", "old": "t", "new": big]) }
        XCTAssertEqual(try disk(w, "alpha"), before)
        XCTAssertEqual(try disk(w, EscrowService.id), 0)
        w.assertInvariants()
    }

    /// Tool code acting for its invoker creates an artifact for the invoker under a contract
    /// that only the tool's author passes: the invoker would own and pay for bytes it cannot
    /// delete, which the author can rewrite (and grow) whenever it likes.
    func testToolCodeCannotLeaveItsInvokerPayingForAnArtifactItCannotFree() throws {
        let w = try TestWorld()
        try writeContract(w, "beta", "beta_only", rule: "requesters=beta;actions=*")
        try XCTUnwrapOK(w.writeTool("beta", "helper", code: "kernel", tools: ["write", "edit"]))
        let alphaBefore = try disk(w, "alpha")
        for contract in ["beta_only", "genesis_public"] {
            let env = try XCTUnwrapOK(w.invoke("alpha", "helper", "write", [["artifact_id": .string("gift-\(contract)"), "contract": .string(contract),
                                                                                "content": .string(String(repeating: "z", count: 50_000))]]))
            XCTAssertEqual(env["error"]?["code"], "ACCESS_DENIED", "\(contract): \(env)")
            XCTAssertNil(try w.artifact("gift-\(contract)"))
        }
        XCTAssertEqual(try disk(w, "alpha"), alphaBefore)
        // What the tool may make for its invoker is the invoker's alone: it can delete it and
        // neither the tool nor its author can rewrite it.
        let ok = try XCTUnwrapOK(w.invoke("alpha", "helper", "write", [["artifact_id": "report", "content": "for alpha"]]))
        XCTAssertEqual(ok["ok"], true)
        XCTAssertEqual(try w.artifact("report")?.ownerID, "alpha")
        XCTAssertEqual(try chargedTo(w, "report"), "alpha")
        XCTAssertCode(w.write("beta", "report", ["content": "rewritten by the author"]), .accessDenied)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("gamma", "helper", "edit", [["artifact_id": "report", "old": "for", "new": "x"]]))["error"]?["code"],
                       "ACCESS_DENIED")
        XCTAssertEqual(try disk(w, "alpha"), try chargedBytes(w, "alpha"))
        try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "report"]))
        XCTAssertEqual(try disk(w, "alpha"), alphaBefore)
        w.assertInvariants()
    }

    /// Anyone may write a `genesis_public` artifact, and before the fix its owner paid for
    /// whatever they wrote: a stranger (or a tool's code, on its invoker's invoke) could fill
    /// the owner's quota, or switch the contract to one that locks the owner out of bytes it
    /// still pays for.
    func testOthersCannotGrowOrLockAnArtifactChargedToSomeoneElse() throws {
        let w = try TestWorld()
        try writeContract(w, "beta", "beta_only", rule: "requesters=beta;actions=*")
        try XCTUnwrapOK(w.write("alpha", "wiki", ["contract": "genesis_public", "content": "shared page"]))
        let before = try disk(w, "alpha")
        let big = JSONValue.string(String(repeating: "q", count: 200_000))
        w.assertFailsCleanly(.accessDenied) { w.write("beta", "wiki", ["content": big]) }
        w.assertFailsCleanly(.accessDenied) { w.act("beta", "edit", ["artifact_id": "wiki", "old": "shared", "new": big]) }
        w.assertFailsCleanly(.accessDenied) { w.write("beta", "wiki", ["contract": "beta_only"]) }
        // The same through a tool's code paid for by alpha itself.
        try XCTUnwrapOK(w.writeTool("beta", "grower", code: "kernel", tools: ["edit"]))
        let viaTool = try XCTUnwrapOK(w.invoke("alpha", "grower", "edit", [["artifact_id": "wiki", "old": "shared", "new": big]]))
        XCTAssertEqual(viaTool["error"]?["code"], "ACCESS_DENIED")
        XCTAssertEqual(try disk(w, "alpha"), before)
        // Shrinking and same-size rewrites are still anyone's (the contract says so).
        try XCTUnwrapOK(w.write("beta", "wiki", ["content": "SHARED PAGE"]))
        try XCTUnwrapOK(w.act("gamma", "edit", ["artifact_id": "wiki", "old": "SHARED ", "new": ""]))
        XCTAssertEqual(try disk(w, "alpha"), try chargedBytes(w, "alpha"))
        // The owner itself may grow it.
        try XCTUnwrapOK(w.write("alpha", "wiki", ["content": "a longer page by its owner"]))
        XCTAssertEqual(try disk(w, "alpha"), try chargedBytes(w, "alpha"))
        w.assertInvariants()
    }

    /// A gift of an artifact under a contract the recipient cannot pass: the recipient would
    /// pay for bytes it can never delete (and the giver could keep rewriting them).
    func testAGiftTheRecipientCouldNotFreeIsRefused() throws {
        let w = try TestWorld()
        try writeContract(w, "beta", "beta_only", rule: "requesters=beta;actions=*")
        try XCTUnwrapOK(w.write("beta", "anchor", ["contract": "beta_only", "content": .string(String(repeating: "a", count: 100_000))]))
        let alphaBefore = try disk(w, "alpha")
        w.assertFailsPayingOnlyItsContracts(.accessDenied) { w.invoke("beta", "genesis_ledger", "transfer_ownership", ["anchor", "alpha"]) }
        XCTAssertEqual(try disk(w, "alpha"), alphaBefore)
        // Under a contract that lets the recipient delete, the gift goes through, bytes and all.
        try writeContract(w, "beta", "shared", rule: "requesters=beta,owner;actions=*")
        try XCTUnwrapOK(w.write("beta", "present", ["contract": "shared", "content": "for you"]))
        try XCTUnwrapOK(w.invoke("beta", "genesis_ledger", "transfer_ownership", ["present", "alpha"]))
        XCTAssertEqual(try chargedTo(w, "present"), "alpha")
        XCTAssertEqual(try disk(w, "alpha"), try chargedBytes(w, "alpha"))
        w.assertInvariants()
    }

    /// Debt requests naming a victim as creditor used to land on the victim's disk: enough of
    /// them and the victim could write nothing. The request is the debtor's to pay for until funded.
    func testDebtRequestsAreChargedToTheDebtorNotTheCreditor() throws {
        let w = try TestWorld()
        let alphaBefore = try disk(w, "alpha"), betaBefore = try disk(w, "beta")
        var ids: [String] = []
        for _ in 0..<20 {
            ids.append(try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "issue", ["alpha", 1, 1, 60]))["debt_id"]!.stringValue!)
        }
        XCTAssertEqual(try disk(w, "alpha"), alphaBefore, "asking costs the creditor nothing")
        XCTAssertGreaterThan(try disk(w, "beta"), betaBefore)
        XCTAssertEqual(try disk(w, "beta"), try chargedBytes(w, "beta"))
        w.assertInvariants()
        // Funding one moves its bytes to the holder who accepted it; cancelling frees the rest.
        try XCTUnwrapOK(w.invoke("alpha", "genesis_debt", "accept", [.string(ids[0])]))
        XCTAssertEqual(try chargedTo(w, ids[0]), "alpha")
        for id in ids.dropFirst() { try XCTUnwrapOK(w.invoke("beta", "genesis_debt", "cancel", [.string(id)])) }
        XCTAssertEqual(try disk(w, "beta"), betaBefore)
        XCTAssertEqual(try disk(w, "alpha"), alphaBefore + (try w.artifact(ids[0])!.sizeBytes))
        w.assertInvariants()
    }

    /// Tombstones kept their metadata (up to 16 KiB each) unmetered until purged.
    func testTombstonesKeepNoUnchargedMetadata() throws {
        let w = try TestWorld()
        let blob = JSONValue.string(String(repeating: "m", count: 16_000))
        for i in 0..<5 {
            try XCTUnwrapOK(w.write("alpha", "m-\(i)", ["content": "", "metadata": ["blob": blob]]))
            try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": .string("m-\(i)")]))
            XCTAssertEqual(try w.artifact("m-\(i)")?.metadata, .object([:]))
        }
        XCTAssertEqual(try disk(w, "alpha"), try chargedBytes(w, "alpha"))
        w.assertInvariants()
    }

    /// Deleting a principal that still owns artifacts left them charged to someone who can
    /// never act again, so nobody could free them.
    func testAPrincipalCannotBeDeletedFromUnderItsArtifacts() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.invoke("alpha", "genesis_store", "create", [["id": "child", "standing": true, "executable": false,
                                                                           "contract": "genesis_self_owned"]]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["child", "disk", 10_000]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["child", "compute", 1_000]))
        try XCTUnwrapOK(w.write("child", "orphan", ["content": "left behind"]))
        w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "delete", ["artifact_id": "child"]) }
        try XCTUnwrapOK(w.act("child", "delete", ["artifact_id": "orphan"]))
        try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "child"]))
        XCTAssertEqual(try disk(w, "alpha"), try chargedBytes(w, "alpha"))
        w.assertInvariants()
    }

    /// The disk invariant checks the rule itself: a charge on the wrong principal, on a
    /// genesis account, or a `disk_used` that does not match, is reported.
    func testInvariantsCatchEachMisbilledByte() throws {
        let cases: [(String, String, String)] = [
            ("bytes on the escrow", "UPDATE artifacts SET charged_to = 'genesis_escrow' WHERE id = 'poem'; UPDATE principals SET disk_used = disk_used + (SELECT size_bytes FROM artifacts WHERE id='poem') WHERE id='genesis_escrow'; UPDATE principals SET disk_used = disk_used - (SELECT size_bytes FROM artifacts WHERE id='poem') WHERE id='alpha'",
             "poem is charged to genesis account genesis_escrow"),
            ("bytes on a stranger", "UPDATE artifacts SET charged_to = 'beta' WHERE id = 'poem'; UPDATE principals SET disk_used = disk_used + (SELECT size_bytes FROM artifacts WHERE id='poem') WHERE id='beta'; UPDATE principals SET disk_used = disk_used - (SELECT size_bytes FROM artifacts WHERE id='poem') WHERE id='alpha'",
             "poem is charged to beta but its bytes belong to alpha"),
            ("disk_used off", "UPDATE principals SET disk_used = disk_used - 1 WHERE id = 'alpha'",
             "disk: alpha is charged"),
            ("over quota", "UPDATE principals SET disk_quota = 1 WHERE id = 'alpha'",
             "disk: alpha uses"),
            ("tombstone metadata", "UPDATE artifacts SET metadata = '{\"k\":1}' WHERE id = 'gone'",
             "tombstones still hold content"),
        ]
        for (name, sql, expected) in cases {
            let w = try TestWorld()
            try XCTUnwrapOK(w.write("alpha", "poem"))
            try XCTUnwrapOK(w.write("alpha", "gone"))
            try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "gone"]))
            w.assertInvariants("before injecting \(name)")
            try w.database.write { try $0.execute(sql: sql) }
            let report = try w.kernel.checkInvariants()
            XCTAssertTrue(report.violations.contains { $0.contains(expected) }, "\(name): expected a violation containing '\(expected)', got \(report.violations)")
        }
    }
}
