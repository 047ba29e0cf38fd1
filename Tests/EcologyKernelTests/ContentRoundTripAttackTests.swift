import EcologyCore
@testable import EcologyKernel
import XCTest

/// Class 7 of issue 9: content round-trips byte for byte, or is refused.
///
/// SQLite TEXT written and read through C strings (GRDB's `String` binding and column
/// reads) ends at the first NUL: `"before\u0000after"` used to be stored as `"before"`
/// and answered OK. A hostile agent sends exactly the JSON text below; every string must
/// come back identical or be INVALID_ARGS, with nothing stored.
final class ContentRoundTripAttackTests: XCTestCase {
    func params(_ json: String) throws -> JSONValue { try JSONCodec.decode(json) }

    func readBack(_ w: TestWorld, _ id: String) throws -> JSONValue {
        try XCTUnwrapOK(w.act("alpha", "read", ["artifact_id": .string(id)]))
    }

    /// NUL in content, code, a memory, and through `genesis_store.create`: refused, nothing written.
    func testNulInStoredTextIsRefusedNotTruncated() throws {
        let w = try TestWorld()
        let attempts = [
            #"{"artifact_id": "n1", "content": "before\u0000after"}"#,
            #"{"artifact_id": "n2", "content": "\u0000"}"#,
            #"{"artifact_id": "n3", "kind": "memory", "content": "remember\u0000this"}"#,
            #"{"artifact_id": "n4", "code": "def run():\n    return 1\u0000# hidden", "interface": {"tools": [{"name": "run", "description": "d"}]}}"#,
        ]
        for text in attempts {
            let p = try params(text)
            let error = w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "write", p) }
            XCTAssertEqual(error?.message.contains("NUL"), true, "\(String(describing: error))")
        }
        let create = try params(#"{"artifact_id": "genesis_store", "method": "create", "args": [{"config": {"id": "n5", "content": "a\u0000b"}}]}"#)
        w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "invoke", create) }
        XCTAssertNil(try w.artifact("n1")); XCTAssertNil(try w.artifact("n5"))
        w.assertInvariants()
    }

    /// Rewriting and editing an existing artifact with a NUL leaves it as it was.
    func testNulThroughRewriteAndEditLeavesTheArtifactWhole() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.act("alpha", "write", try params(#"{"artifact_id": "doc", "content": "one two three"}"#)))
        let rewrite = try params(#"{"artifact_id": "doc", "content": "one\u0000two"}"#)
        w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "write", rewrite) }
        let edit = try params(#"{"artifact_id": "doc", "old": "two", "new": "2\u0000"}"#)
        w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "edit", edit) }
        XCTAssertEqual(try readBack(w, "doc")["content"], "one two three")
        w.assertInvariants()
    }

    /// JSON-encoded fields (interface, metadata, event data) keep a NUL escaped, so it
    /// round-trips exactly there; raw text filters with a NUL are refused, not truncated
    /// into a different (shorter) filter.
    func testNulInJSONFieldsRoundTripsAndInFiltersIsRefused() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.act("alpha", "write", try params("""
            {"artifact_id": "meta", "content": "m", "metadata": {"note": "x\\u0000y", "k\\u0000": 1}}
            """)))
        let meta = try readBack(w, "meta")
        XCTAssertEqual(meta["metadata"]?["note"], .string("x\u{0}y"))
        XCTAssertEqual(meta["metadata"]?["k\u{0}"], 1)
        // Published data round-trips; the topic is refused (it is matched as raw text).
        let published = try XCTUnwrapOK(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_event_log", "method": "publish", "args": [{"topic": "news", "data": {"body": "a\u0000b"}}]}"#)))
        let events = try XCTUnwrapOK(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_event_log", "method": "read", "args": [{"filter": {"topic": "news"}}]}"#)))
        XCTAssertEqual(events.arrayValue?.first { $0["seq"] == published["seq"] }?["data"]?["data"]?["body"], .string("a\u{0}b"))
        let topic = try params(#"{"artifact_id": "genesis_event_log", "method": "publish", "args": [{"topic": "news\u0000fake"}]}"#)
        w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "invoke", topic) }
        // A filter "news\0anything" used to be bound as "news" and matched the real topic.
        XCTAssertCode(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_event_log", "method": "read", "args": [{"filter": {"topic": "news\u0000x"}}]}"#)), .invalidArgs)
        XCTAssertCode(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_store", "method": "list", "args": [{"kind": "data\u0000"}]}"#)), .invalidArgs)
        w.assertInvariants()
    }

    /// Lone surrogates and invalid UTF-8 never become a (lossy) Swift string: the parser
    /// refuses them, which is INVALID_ARGS to a caller (PROTOCOL_ERROR for a child's frame).
    func testLoneSurrogatesAndInvalidUTF8AreRefusedByTheParser() throws {
        for text in [#"{"content": "\ud800"}"#, #"{"content": "\udc00x"}"#, #"{"content": "\ud800\u0041"}"#, #"{"content": "a\ud83d"}"#] {
            XCTAssertThrowsError(try JSONCodec.decode(text), text) { error in
                XCTAssertEqual((error as? KernelError)?.code, .invalidArgs)
            }
        }
        for bytes: [UInt8] in [[0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xFF, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]] {
            XCTAssertThrowsError(try JSONCodec.decode(Data(bytes))) { error in
                XCTAssertEqual((error as? KernelError)?.code, .invalidArgs)
            }
        }
        // A valid pair is one scalar and round-trips.
        let w = try TestWorld()
        try XCTUnwrapOK(w.act("alpha", "write", try params(#"{"artifact_id": "emoji", "content": "\ud83d\ude00 ok"}"#)))
        XCTAssertEqual(try readBack(w, "emoji")["content"], "😀 ok")
    }

    /// Trace kinds are stored as raw text too.
    func testTraceKindWithNulIsRefused() throws {
        let w = try TestWorld()
        XCTAssertThrowsError(try w.kernel.recordTrace(agent: "alpha", kind: "note\u{0}forged", ["x": 1])) { error in
            XCTAssertEqual((error as? KernelError)?.code, .invalidArgs)
        }
        try w.kernel.recordTrace(agent: "alpha", kind: "note", ["text": .string("data may hold \u{0} (JSON-escaped)")])
        let traces = try w.kernel.traces(agent: "alpha", limit: 10)
        XCTAssertEqual(traces.map { $0["kind"] }, ["note"])
        XCTAssertEqual(traces.first?["data"]?["text"], .string("data may hold \u{0} (JSON-escaped)"))
    }

    /// Property: for seeded random strings (ASCII, controls, NUL, multi-byte, astral
    /// scalars), write → read either returns exactly the bytes written or INVALID_ARGS,
    /// and INVALID_ARGS only when the text holds a NUL.
    func testRandomStringsRoundTripExactlyOrAreRefused() throws {
        let w = try TestWorld()
        var rng = SplitMix64(seed: 0xEC0_1091)
        let pools: [[Unicode.Scalar]] = [
            (0x20...0x7E).map { Unicode.Scalar($0)! },
            (0x00...0x1F).map { Unicode.Scalar($0)! } + [Unicode.Scalar(0x7F)!],
            ["é", "ß", "Ω", "中", "文", "\u{FEFF}", "\u{200B}", "\u{FFFD}", "\u{0301}", "\u{10FFFF}", "😀", "👩‍💻", "\u{E000}"].flatMap { $0.unicodeScalars },
        ]
        var stored = 0, refused = 0
        for i in 0..<400 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int(rng.next() % 40) {
                let pool = pools[Int(rng.next() % UInt64(pools.count))]
                scalars.append(pool[Int(rng.next() % UInt64(pool.count))])
            }
            let text = String(scalars)
            // Sent as a child would: the JSON text of the params, decoded by the supervisor's parser.
            let wire = JSONCodec.string(["artifact_id": .string("r\(i)"), "content": .string(text)])
            let env = w.act("alpha", "write", try params(wire))
            if text.unicodeScalars.contains("\u{0}") {
                XCTAssertCode(env, .invalidArgs)
                XCTAssertNil(try w.artifact("r\(i)"))
                refused += 1
            } else {
                try XCTUnwrapOK(env)
                let back = try readBack(w, "r\(i)")["content"]?.stringValue
                XCTAssertEqual(back.map { Array($0.utf8) }, Array(text.utf8), "string \(i) did not round-trip")
                stored += 1
            }
        }
        XCTAssertGreaterThan(stored, 100); XCTAssertGreaterThan(refused, 20)
        w.assertInvariants()
    }
}
