import EcologyCore
@testable import EcologyKernel
import XCTest

final class EventLogAndSearchTests: XCTestCase {
    func testReadWithOffsetLimitAndFilters() throws {
        let w = try TestWorld()
        let all = try XCTUnwrapOK(w.invoke("alpha", "genesis_event_log", "read", [["limit": 500]])).arrayValue ?? []
        XCTAssertEqual(all.count, try w.eventCount())
        let lastSeq = try XCTUnwrap(all.last?["seq"]?.intValue)
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 1]))
        try XCTUnwrapOK(w.invoke("gamma", "genesis_ledger", "transfer", ["beta", 2]))
        let fresh = try XCTUnwrapOK(w.invoke("alpha", "genesis_event_log", "read", [["offset": .int(lastSeq)]])).arrayValue ?? []
        XCTAssertEqual(fresh.count, 2)
        XCTAssertEqual(fresh.map { $0["principal"] }, ["alpha", "gamma"])
        let byType = try XCTUnwrapOK(w.invoke("alpha", "genesis_event_log", "read", [["filter": ["type": "transfer"]]])).arrayValue ?? []
        XCTAssertEqual(byType.count, 2)
        let byWho = try XCTUnwrapOK(w.invoke("alpha", "genesis_event_log", "read", [["filter": ["type": "transfer", "principal": "gamma"]]]))
        XCTAssertEqual(byWho.arrayValue?.first?["data"]?["amount"], 2)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "genesis_event_log", "read", [["limit": 1]])).arrayValue?.count, 1)
        // Positional: filter, limit, offset.
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "genesis_event_log", "read", [["type": "transfer"], 1, 0])).arrayValue?.count, 1)
        XCTAssertCode(w.invoke("alpha", "genesis_event_log", "read", [["limit": 0]]), .invalidArgs)
        XCTAssertCode(w.invoke("alpha", "genesis_event_log", "read", [["limit": 501]]), .invalidArgs)
        XCTAssertCode(w.invoke("alpha", "genesis_event_log", "read", [["offset": -1]]), .invalidArgs)
        XCTAssertCode(w.invoke("alpha", "genesis_event_log", "read", [["filter": ["colour": "x"]]]), .invalidArgs)
    }

    func testPublishAndSubscribeByTopic() throws {
        let w = try TestWorld()
        let p = try XCTUnwrapOK(w.invoke("alpha", "genesis_event_log", "publish", ["prices", ["gizmo": 5]]))
        XCTAssertNotNil(p["seq"]?.intValue)
        try XCTUnwrapOK(w.invoke("beta", "genesis_event_log", "publish", ["news"]))
        try XCTUnwrapOK(w.invoke("gamma", "genesis_event_log", "publish", ["prices", ["thing": 9]]))
        let prices = try XCTUnwrapOK(w.invoke("delta", "genesis_event_log", "read", [["filter": ["topic": "prices"]]])).arrayValue ?? []
        XCTAssertEqual(prices.map { $0["data"]?["data"] }, [["gizmo": 5], ["thing": 9]])
        XCTAssertEqual(prices.map { $0["type"] }, ["custom", "custom"])
        XCTAssertEqual(try w.eventCount(type: "custom"), 3)
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_event_log", "publish", [""]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_event_log", "publish", [.string(String(repeating: "t", count: 65))]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_event_log", "publish", ["t", ["blob": .string(String(repeating: "x", count: 17_000))]]) }
        w.assertFailsCleanly(.invalidArgs) { w.invoke("alpha", "genesis_event_log", "publish", ["t", "not an object"]) }
    }

    func testEveryMutationIsLogged() throws {
        let w = try TestWorld()
        var n = try w.eventCount()
        func step(_ env: Envelope, adds: Int, file: StaticString = #filePath, line: UInt = #line) throws {
            XCTAssertTrue(env.isOK, "\(env)", file: file, line: line)
            let now = try w.eventCount()
            XCTAssertEqual(now - n, adds, file: file, line: line)
            n = now
        }
        try step(w.write("alpha", "a"), adds: 1)
        try step(w.act("alpha", "edit", ["artifact_id": "a", "old": "content", "new": "c"]), adds: 1)
        try step(w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["a", "beta"]), adds: 1)
        try step(w.act("beta", "delete", ["artifact_id": "a"]), adds: 1)
        try step(w.invoke("alpha", "genesis_ledger", "transfer_budget", ["beta", 5]), adds: 1)
        try step(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["beta", "disk", 5]), adds: 1)
        try step(w.act("alpha", "read", ["artifact_id": "handbook_overview"]), adds: 0)
        try step(w.act("alpha", "observe", [:]), adds: 0)
        try step(w.invoke("alpha", "genesis_ledger", "all_balances"), adds: 0)
    }

    func testSearchFindsContentAndIgnoresFTSSyntax() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.write("alpha", "recipe", ["content": "A spicy tomato soup with basil"]))
        try XCTUnwrapOK(w.write("beta", "manual", ["content": "How to fix a bicycle chain"]))
        try XCTUnwrapOK(w.writeTool("gamma", "soup_tool", code: "echo"))
        func ids(_ q: String, limit: Int64 = 20) throws -> [String] {
            try XCTUnwrapOK(w.invoke("delta", "genesis_store", "search", [.string(q), .int(limit)])).arrayValue!.compactMap { $0["id"]?.stringValue }
        }
        XCTAssertEqual(try ids("tomato"), ["recipe"])
        XCTAssertEqual(try ids("TOMATO basil"), ["recipe"])
        XCTAssertEqual(try ids("bicycle"), ["manual"])
        XCTAssertEqual(Set(try ids("soup")), ["recipe"], "whole words only")
        XCTAssertEqual(try ids("soup_tool"), ["soup_tool"], "ids are searchable")
        let hit = try XCTUnwrapOK(w.invoke("delta", "genesis_store", "search", ["tomato"])).arrayValue?.first
        XCTAssertEqual(hit?["owner_id"], "alpha")
        XCTAssertTrue(hit?["snippet"]?.stringValue?.contains("[tomato]") ?? false, "\(String(describing: hit))")
        // FTS5 syntax is taken as plain words: no errors, no injection.
        for q in ["\"a\" OR *", "tomato OR bicycle", "NEAR(tomato basil)", "content:tomato", "tomato*", "^tomato", "tomato AND NOT x",
                  "\"unbalanced", "(((", "-tomato", "a\u{0}b", "id:recipe OR content:x"] {
            let env = w.invoke("delta", "genesis_store", "search", [.string(q)])
            if let e = env.error { XCTAssertEqual(e.code, .invalidArgs, "\(q): \(e)") }
        }
        XCTAssertEqual(try ids("tomato OR bicycle"), [], "OR is a word, not an operator")
        XCTAssertEqual(try ids("content:tomato"), [], "'content' is one more word here, not a column filter")
        XCTAssertEqual(try ids("recipe:tomato"), ["recipe"])
        XCTAssertCode(w.invoke("delta", "genesis_store", "search", ["*** ((( "]), .invalidArgs)
        XCTAssertCode(w.invoke("delta", "genesis_store", "search", ["tomato", 0]), .invalidArgs)
        XCTAssertCode(w.invoke("delta", "genesis_store", "search", ["tomato", 101]), .invalidArgs)
        // Tombstones and edits are reflected.
        try XCTUnwrapOK(w.act("beta", "edit", ["artifact_id": "manual", "old": "bicycle", "new": "unicycle"]))
        XCTAssertEqual(try ids("bicycle"), [])
        XCTAssertEqual(try ids("unicycle"), ["manual"])
        try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "recipe"]))
        XCTAssertEqual(try ids("tomato"), [])
    }
}

final class EventDataCacheTests: XCTestCase {
    func testCachedDecodeIsReusedAndBounded() {
        let cache = EventDataCache(capacity: 3)
        var decodes = 0
        let value = { (n: Int64) -> JSONValue in decodes += 1; return .int(n) }
        for seq in Int64(1)...3 { XCTAssertEqual(cache.data(seq) { value(seq) }, .int(seq)) }
        XCTAssertEqual(cache.data(2) { value(99) }, .int(2), "a hit must not decode again")
        XCTAssertEqual(decodes, 3)
        _ = cache.data(4) { value(4) }          // evicts seq 1, the oldest insertion
        XCTAssertEqual(cache.data(1) { value(1) }, .int(1))
        XCTAssertEqual(decodes, 5)
    }
}
