import EcologyCore
@testable import EcologyKernel
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
