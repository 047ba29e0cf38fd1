import EcologyCore
@testable import EcologyKernel
import EcologyStore
import Foundation
import XCTest

/// Regressions for holes found in review: each test fails on the code before its fix.
final class ReviewFixTests: XCTestCase {
    func testRewriteWithoutContractKeepsItPrivate() throws {
        let w = try TestWorld()
        _ = try XCTUnwrapOK(w.write("alpha", "diary", ["content": "secret", "contract": "genesis_private"]))
        _ = try XCTUnwrapOK(w.write("alpha", "diary", ["content": "still secret"]))
        XCTAssertEqual(try w.artifact("diary")?.accessContractID, "genesis_private")
        XCTAssertCode(w.act("beta", "read", ["artifact_id": "diary"]), .accessDenied)
    }

    func testSearchShowsNoSnippetOfUnreadableArtifacts() throws {
        let w = try TestWorld()
        _ = try XCTUnwrapOK(w.write("alpha", "diary", ["content": "zanzibar treasure map", "contract": "genesis_private"]))
        let asBeta = try XCTUnwrapOK(w.invoke("beta", "genesis_store", "search", ["zanzibar"]))
        XCTAssertEqual(asBeta.arrayValue?.first?["id"], "diary")
        XCTAssertEqual(asBeta.arrayValue?.first?["snippet"], .null, "a private artifact's text leaked through search")
        let asAlpha = try XCTUnwrapOK(w.invoke("alpha", "genesis_store", "search", ["zanzibar"]))
        XCTAssertTrue(asAlpha.arrayValue?.first?["snippet"]?.stringValue?.contains("zanzibar") ?? false)
    }

    func testToolCodeCannotPayPricesWithItsInvokersScrip() throws {
        let w = try TestWorld()
        _ = try XCTUnwrapOK(w.writeTool("beta", "pricey", code: "echo", price: 7))
        // A tool run on alpha's behalf tries to invoke beta's priced tool: the nested call acts as the tool.
        _ = try XCTUnwrapOK(w.writeTool("beta", "drainer", code: "kernel", tools: ["invoke"]))
        let before = try w.scrip("alpha")
        let outer = w.kernel.invoke("drainer", method: "invoke",
                                    args: [["artifact_id": "pricey", "method": "run", "args": []]], context: .principal("alpha"))
        let inner = Envelope(json: try XCTUnwrapOK(outer))
        XCTAssertEqual(inner.error?.code, .accessDenied)
        XCTAssertEqual(try w.scrip("alpha"), before, "the invoker paid a price it never chose")
        w.assertInvariants()
    }

    func testNamedArgumentsReachTheToolInParameterOrder() throws {
        let w = try TestWorld()
        let schema: JSONValue = ["type": "object", "properties": ["a": ["type": "integer"], "b": ["type": "string"], "z": ["type": "integer"]],
                                 "required": ["b", "a"]]
        _ = try XCTUnwrapOK(w.writeTool("alpha", "echoer", code: "echo", schema: schema))
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("beta", "echoer", "run", [["a": 1, "b": "x"]])), ["x", 1])
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("beta", "echoer", "run", ["x", 1, 9])), ["x", 1, 9])
        XCTAssertCode(w.invoke("beta", "echoer", "run", [["b": "x", "a": 1, "q": 2]]), .invalidArgs)
    }

    func testGenesisIDsAreReserved() throws {
        let w = try TestWorld()
        XCTAssertCode(w.write("alpha", "genesis_fake_ledger"), .invalidArgs)
    }

    func testMetadataCountsTowardDisk() throws {
        let w = try TestWorld()
        let before = try w.principal("alpha")!.diskUsed
        _ = try XCTUnwrapOK(w.write("alpha", "tagged", ["content": "x", "metadata": ["tags": .string(String(repeating: "t", count: 1000))]]))
        XCTAssertGreaterThan(try w.principal("alpha")!.diskUsed - before, 1000)
        w.assertInvariants()
    }
}

/// An executor that runs `during` while the "code" executes, to interleave other actions.
final class InterleavingExecutor: ArtifactExecutor, @unchecked Sendable {
    var during: () -> Void = {}
    func execute(_ request: ExecutionRequest, kernelCalls: @escaping KernelCallHandler) -> ExecutionOutcome {
        during()
        return ExecutionOutcome(result: .success("done"), cpuMicros: 100, wallMicros: 100)
    }
}

final class InvokeDuringSaleTests: XCTestCase {
    /// Found by `bench agents`: a tool sold through escrow while it ran paid its price to the escrow account.
    func testPriceGoesToTheOwnerAtTheEndOfTheCall() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-sale-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let executor = InterleavingExecutor()
        let kernel = Kernel(database: try WorldDatabase(path: dir.appendingPathComponent("w.sqlite").path), config: WorldConfig(),
                            clock: VirtualClock(), executor: executor)
        try kernel.bootstrap()
        let tool: JSONValue = ["artifact_id": "t", "code": "x", "price": 3,
                               "interface": ["tools": [["name": "run", "description": "d", "inputSchema": ["type": "object"]]]]]
        XCTAssertTrue(kernel.handle(action: "write", params: tool, context: .principal("alpha")).isOK)
        let listing = kernel.invoke("genesis_escrow", method: "deposit", args: ["t", 10], context: .principal("alpha"))
        let id = try XCTUnwrap(listing.value?["listing_id"])
        executor.during = { _ = kernel.invoke("genesis_escrow", method: "purchase", args: [id], context: .principal("gamma")) }
        XCTAssertTrue(kernel.invoke("t", method: "run", args: [], context: .principal("beta")).isOK)
        let balances = Dictionary(uniqueKeysWithValues: try kernel.balances().map { ($0["id"]!.stringValue!, $0["scrip"]!.intValue!) })
        XCTAssertEqual(balances["genesis_escrow"], 0, "the price went to the escrow account")
        XCTAssertEqual(balances["gamma"], 100 - 10 + 3, "the new owner is paid the price")
        XCTAssertEqual(balances["alpha"], 100 + 10)
        XCTAssertTrue(try kernel.checkInvariants().ok)
    }
}
