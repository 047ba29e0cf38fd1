import EcologyCore
@testable import EcologyKernel
import XCTest

final class ArtifactTests: XCTestCase {
    func testWriteReadEditDelete() throws {
        let w = try TestWorld()
        let meta = try XCTUnwrapOK(w.write("alpha", "notes", ["content": "hello world"]))
        XCTAssertEqual(meta["version"], 1)
        XCTAssertEqual(meta["kind"], "data")
        XCTAssertEqual(meta["owner_id"], "alpha")
        XCTAssertEqual(meta["created_by"], "alpha")
        XCTAssertEqual(meta["access_contract_id"], "genesis_freeware")
        XCTAssertEqual(meta["size_bytes"], 11)
        let read = try XCTUnwrapOK(w.act("beta", "read", ["artifact_id": "notes"]))
        XCTAssertEqual(read["content"], "hello world")
        XCTAssertEqual(read["code"], .null)

        w.clock.advance(seconds: 1)
        let edited = try XCTUnwrapOK(w.act("alpha", "edit", ["artifact_id": "notes", "old": "world", "new": "there, world"]))
        XCTAssertEqual(edited["version"], 2)
        XCTAssertEqual(edited["size_bytes"], 18)
        XCTAssertEqual(try w.artifact("notes")?.content, "hello there, world")
        XCTAssertGreaterThan(edited["updated_at"]!.doubleValue!, edited["created_at"]!.doubleValue!)

        let rewritten = try XCTUnwrapOK(w.write("alpha", "notes", ["content": ["structured": true]]))
        XCTAssertEqual(rewritten["version"], 3)
        XCTAssertEqual(try w.artifact("notes")?.content, "{\"structured\":true}", "JSON content is stored as canonical text")

        let del = try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "notes"]))
        XCTAssertEqual(del["freed_bytes"], 19)
        let tomb = try XCTUnwrap(try w.artifact("notes"))
        XCTAssertEqual(tomb.version, 4)
        XCTAssertEqual(tomb.content, "")
        XCTAssertNotNil(tomb.deletedAt)
        w.assertInvariants()
    }

    func testEditErrors() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "notes", ["content": "abc"]))
        w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "edit", ["artifact_id": "notes", "old": "zzz", "new": "y"]) }
        w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "edit", ["artifact_id": "notes", "old": "", "new": "y"]) }
        w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "edit", ["artifact_id": "notes", "old": "a"]) }
        w.assertFailsCleanly(.accessDenied) { w.act("beta", "edit", ["artifact_id": "notes", "old": "a", "new": "b"]) }
        w.assertFailsCleanly(.notFound) { w.act("alpha", "edit", ["artifact_id": "nothing", "old": "a", "new": "b"]) }
    }

    func testTombstoneAnswersDeletedNotNotFound() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.writeTool("alpha", "tool1", code: "echo"))
        try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "tool1"]))
        w.assertFailsCleanly(.deleted) { w.act("beta", "read", ["artifact_id": "tool1"]) }
        w.assertFailsCleanly(.deleted) { w.invoke("beta", "tool1", "run") }
        w.assertFailsCleanly(.deleted) { w.act("alpha", "delete", ["artifact_id": "tool1"]) }
        w.assertFailsCleanly(.deleted) { w.act("alpha", "edit", ["artifact_id": "tool1", "old": "a", "new": "b"]) }
        w.assertFailsCleanly(.deleted) { w.write("alpha", "tool1") }
        w.assertFailsCleanly(.deleted) { w.invoke("alpha", "genesis_store", "get", ["tool1"]) }
        w.assertFailsCleanly(.notFound) { w.act("beta", "read", ["artifact_id": "never_existed"]) }
        w.assertFailsCleanly(.notFound) { w.invoke("beta", "never_existed", "run") }
        w.assertInvariants()
    }

    func testListingsHideTombstonesUnlessAsked() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "a1"))
        try XCTUnwrapOK(w.write("alpha", "a2"))
        try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "a1"]))
        func ids(_ filter: JSONValue) throws -> [String] {
            try XCTUnwrapOK(w.invoke("beta", "genesis_store", "list", [filter])).arrayValue!.compactMap { $0["id"]?.stringValue }
        }
        XCTAssertEqual(try ids(["owner": "alpha", "kind": "data"]), ["a2"])
        XCTAssertEqual(try ids(["owner": "alpha", "kind": "data", "include_deleted": true]), ["a1", "a2"])
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("beta", "genesis_store", "count", [["owner": "alpha"]])), 2)  // alpha + a2
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("beta", "genesis_store", "list_by_owner", ["alpha"])).arrayValue?.count, 2)
        XCTAssertEqual(try ids(["executable": true, "owner": "genesis", "limit": 3]).count, 3)
        XCTAssertEqual(try ids(["kind": "agent", "offset": 1, "limit": 2]), ["beta", "delta"])
        XCTAssertCode(w.invoke("beta", "genesis_store", "list", [["colour": "red"]]), .invalidArgs)
        XCTAssertCode(w.invoke("beta", "genesis_store", "list", [["limit": 0]]), .invalidArgs)
        XCTAssertCode(w.invoke("beta", "genesis_store", "list", [["offset": -1]]), .invalidArgs)
        let owned = try XCTUnwrapOK(w.act("alpha", "observe", [:]))["owned"]?.arrayValue ?? []
        XCTAssertEqual(owned.compactMap { $0["id"]?.stringValue }, ["a2", "alpha"])
        // Every field of an entry, as observe documents it.
        let a2 = try XCTUnwrapOK(w.invoke("beta", "genesis_store", "get_metadata", ["a2"]))
        XCTAssertEqual(owned.first, .object(["id": "a2", "kind": "data", "can_execute": .bool(false),
                                             "price": a2["price"] ?? .int(0)]))
        XCTAssertEqual(owned.last?["kind"], "agent")
        XCTAssertEqual(owned.last?["can_execute"], .bool(true))
        let meta = try XCTUnwrapOK(w.invoke("beta", "genesis_store", "get_metadata", ["a1"]))
        XCTAssertNotEqual(meta["deleted_at"], .null)
    }

    func testRetentionPurgeFreesTheID() throws {
        var config = WorldConfig()
        config.world.tombstoneRetentionSeconds = 100
        let w = try TestWorld(config: config)
        try XCTUnwrapOK(w.write("alpha", "old"))
        try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "old"]))
        try XCTUnwrapOK(w.act("beta", "delete", ["artifact_id": "beta"]))  // a principal: never purged
        w.clock.advance(seconds: 50)
        XCTAssertEqual(try w.kernel.purgeTombstones(), 0)
        XCTAssertCode(w.act("alpha", "read", ["artifact_id": "old"]), .deleted)
        w.clock.advance(seconds: 51)
        XCTAssertEqual(try w.kernel.purgeTombstones(), 1)
        XCTAssertCode(w.act("alpha", "read", ["artifact_id": "old"]), .notFound)
        XCTAssertCode(w.act("alpha", "read", ["artifact_id": "beta"]), .deleted)
        // After the purge the ID may be taken again, by anyone.
        let again = try XCTUnwrapOK(w.write("gamma", "old"))
        XCTAssertEqual(again["owner_id"], "gamma")
        XCTAssertEqual(again["version"], 1)
        w.assertInvariants()
    }

    func testDiskAccounting() throws {
        var config = WorldConfig()
        config.resources.diskQuotaBytes = 1_000
        let w = try TestWorld(config: config)
        let base = try w.principal("alpha")!.diskUsed
        try XCTUnwrapOK(w.write("alpha", "d1", ["content": .string(String(repeating: "x", count: 300))]))
        XCTAssertEqual(try w.principal("alpha")!.diskUsed, base + 300)
        try XCTUnwrapOK(w.write("alpha", "d1", ["content": .string(String(repeating: "x", count: 100))]))
        XCTAssertEqual(try w.principal("alpha")!.diskUsed, base + 100)
        let free = 1_000 - base - 100
        let e = w.assertFailsCleanly(.quotaExceeded) {
            w.write("alpha", "d2", ["content": .string(String(repeating: "y", count: Int(free) + 1))])
        }
        XCTAssertEqual(e?.details?["disk_quota"], 1_000)
        try XCTUnwrapOK(w.write("alpha", "d2", ["content": .string(String(repeating: "y", count: Int(free)))]))
        XCTAssertEqual(try w.principal("alpha")!.diskUsed, 1_000)
        w.assertFailsCleanly(.quotaExceeded) { w.act("alpha", "edit", ["artifact_id": "d1", "old": "x", "new": "xx"]) }
        try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "d2"]))
        XCTAssertEqual(try w.principal("alpha")!.diskUsed, base + 100)
        // Code and interface count too.
        try XCTUnwrapOK(w.writeTool("alpha", "t", code: "echo"))
        XCTAssertEqual(try w.principal("alpha")!.diskUsed, base + 100 + (try w.artifact("t")!.sizeBytes))
        XCTAssertGreaterThan(try w.artifact("t")!.sizeBytes, Int64("content of t".utf8.count + 4))
        // Receiving ownership also needs room.
        let betaFree = Int(1_000 - (try w.principal("beta")!.diskUsed))
        XCTAssertGreaterThan(betaFree, Int(1_000 - (try w.principal("alpha")!.diskUsed)))
        try XCTUnwrapOK(w.write("beta", "big", ["content": .string(String(repeating: "z", count: betaFree))]))
        w.assertFailsCleanly(.quotaExceeded) { w.invoke("beta", "genesis_ledger", "transfer_ownership", ["big", "alpha"]) }
        w.assertInvariants()
    }

    func testDiskQuotaTransfer() throws {
        var config = WorldConfig()
        config.resources.diskQuotaBytes = 1_000
        let w = try TestWorld(config: config)
        let used = try w.principal("alpha")!.diskUsed
        w.assertFailsCleanly(.insufficientFunds) {
            w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "disk", .int(1_000 - used + 1)])
        }
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "disk", .int(1_000 - used)]))
        XCTAssertEqual(try w.principal("beta")!.diskQuota, 2_000 - used)
        XCTAssertCode(w.write("alpha", "x", ["content": "1"]), .quotaExceeded)
        w.assertInvariants()
    }

    func testExecutableNeedsInterfaceAndCode() throws {
        let w = try TestWorld()
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", "t", ["code": "echo"]) }
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", "t", ["code": "echo", "executable": true]) }
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", "t", ["executable": true, "interface": ["tools": []]]) }
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", "t", ["code": "echo", "interface": "tools"]) }
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", "t", ["code": "echo", "interface": ["tools": [["name": "bad name"]]]]) }
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", "t", ["code": "echo", "interface": ["tools": [["name": "a"], ["name": "a"]]]]) }
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", "t", ["code": "echo", "interface": ["tools": [["name": "a", "inputSchema": 3]]]]) }
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", "t", ["price": -1]) }
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", "t", ["contract": "no_such_contract"]) }
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", "t", ["content": .string(String(repeating: "x", count: 262_145))]) }
        w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "write", ["content": "no id"]) }
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", String(repeating: "t", count: 129)) }
        let tool = try XCTUnwrapOK(w.writeTool("alpha", "t", code: "echo"))
        XCTAssertEqual(tool["kind"], "tool")
        XCTAssertEqual(tool["can_execute"], true)
        // Standing never changes after creation.
        w.assertFailsCleanly(.invalidArgs) { w.write("alpha", "t", ["standing": true]) }
    }

    func testInvokeUserTool() throws {
        let w = try TestWorld()
        let schema: JSONValue = ["type": "object", "properties": ["n": ["type": "integer"], "s": ["type": "string"]], "required": ["n"]]
        try XCTUnwrapOK(w.writeTool("alpha", "echoer", code: "echo", tools: ["run"], price: 3, schema: schema))
        let r = try XCTUnwrapOK(w.invoke("beta", "echoer", "run", [7, "x"]))
        XCTAssertEqual(r, [7, "x"])
        XCTAssertEqual(try w.scrip("beta"), 97)
        XCTAssertEqual(try w.scrip("alpha"), 103)
        let ev = try XCTUnwrap(try w.events(type: "invoke").last)
        XCTAssertEqual(ev.data["payer"], "beta")
        XCTAssertEqual(ev.data["price_paid"], 3)
        // Arguments are validated against the inputSchema before anything runs.
        let runs = w.executor.count(.artifact)
        w.assertFailsCleanly(.invalidArgs) { w.invoke("beta", "echoer", "run", ["seven"]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("beta", "echoer", "run", []) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("beta", "echoer", "nope", [1]) }
        XCTAssertEqual(w.executor.count(.artifact), runs)
        // Data is not executable; an owner does not pay itself.
        try XCTUnwrapOK(w.write("alpha", "plain"))
        w.assertFailsCleanly(.invalidArgs) { w.invoke("beta", "plain", "run") }
        try XCTUnwrapOK(w.invoke("alpha", "echoer", "run", [1]))
        XCTAssertEqual(try w.scrip("alpha"), 103)
        // Too poor to pay the price: refused before running.
        try XCTUnwrapOK(w.invoke("gamma", "genesis_ledger", "transfer", ["delta", 98]))
        w.assertFailsCleanly(.insufficientFunds) { w.invoke("gamma", "echoer", "run", [1]) }
        w.assertInvariants()
    }

    func testFailedInvokeStillChargesComputeButNoPrice() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.writeTool("alpha", "flaky", code: "fail:250000", price: 5))
        let before = try w.compute("beta")
        XCTAssertCode(w.invoke("beta", "flaky", "run"), .executionError)
        XCTAssertEqual(try w.compute("beta"), before - 250)
        XCTAssertEqual(try w.scrip("beta"), 100)
        XCTAssertEqual(try w.events(type: "invoke").last?.data["error"], "EXECUTION_ERROR")
        w.assertInvariants()
    }

    func testNestedCallsActAsTheToolAndDepthIsLimited() throws {
        // Every level of the chain runs at once and holds its worst-case CPU (5 s) of the
        // same payer's compute (docs/KERNEL.md, "No work runs unpaid"): beta can pay for five.
        var config = WorldConfig()
        config.resources.compute = BucketConfig(ratePerSecond: 100, capacity: 30_000, initial: 30_000)
        let w = try TestWorld(config: config)
        // A tool that performs a kernel 'invoke' with its first argument as params.
        try XCTUnwrapOK(w.writeTool("alpha", "relay", code: "kernel", tools: ["invoke", "write", "read"]))
        let inner = try XCTUnwrapOK(w.invoke("beta", "relay", "write", [["artifact_id": "made_by_relay", "content": "hi"]]))
        XCTAssertEqual(inner["ok"], true)
        let made = try XCTUnwrap(try w.artifact("made_by_relay"))
        XCTAssertEqual(made.createdBy, "relay", "tool code acts as the tool")
        XCTAssertEqual(made.ownerID, "beta", "the payer up the chain owns what the tool creates")
        // The tool cannot spend its invoker's scrip.
        let steal = try XCTUnwrapOK(w.invoke("beta", "relay", "invoke",
                                              [["artifact_id": "genesis_ledger", "method": "transfer", "args": ["alpha", 50, "beta"]]]))
        XCTAssertEqual(steal["error"]?["code"], "ACCESS_DENIED")
        XCTAssertEqual(try w.scrip("beta"), 100)
        // Recursion ends at the depth limit with a clear error.
        var params: JSONValue = ["artifact_id": "relay", "method": "read", "args": [["artifact_id": "relay"]]]
        for _ in 0..<6 { params = ["artifact_id": "relay", "method": "invoke", "args": [params]] }
        let deep = try XCTUnwrapOK(w.invoke("beta", "relay", "invoke", [params]))
        XCTAssertTrue(JSONCodec.string(deep).contains("depth limit"), JSONCodec.string(deep))
        XCTAssertEqual(w.executor.requests.map(\.depth).max(), 5)
        w.assertInvariants()
    }

    func testStoreCreateSpawnsAPrincipalWithNothing() throws {
        let w = try TestWorld()
        let meta = try XCTUnwrapOK(w.invoke("alpha", "genesis_store", "create", [["id": "child", "standing": true, "executable": true,
                                                                                       "interface": ["tools": []], "content": "mind"]]))
        XCTAssertEqual(meta["kind"], "agent")
        XCTAssertEqual(meta["owner_id"], "alpha")
        let p = try XCTUnwrap(try w.principal("child"))
        XCTAssertEqual(p.scrip, 0)
        XCTAssertEqual(p.llmBudget, 0)
        XCTAssertCode(w.invoke("alpha", "genesis_store", "create", [["id": "child"]]), .invalidArgs)
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["child", 10]))
        XCTAssertEqual(try w.scrip("child"), 10)
        // alpha owns the child's artifact, so alpha may move its scrip (genesis_freeware: owner transfers).
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 4, "child"]))
        let got = try XCTUnwrapOK(w.invoke("beta", "genesis_store", "get", ["child"]))
        XCTAssertEqual(got["content"], "mind")
        w.assertInvariants()
    }
}
