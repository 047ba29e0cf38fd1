@testable import EcologyCore
import Foundation
import XCTest

final class JSONParserTests: XCTestCase {
    func testValuesRoundTrip() throws {
        let text = #"{"a":[1,-2,3.5,1e3,true,false,null],"b":"x\"y\\z\n\u00e9\ud83d\ude00","c":{},"d":[],"e":9223372036854775807}"#
        let v = try JSONCodec.decode(text)
        XCTAssertEqual(v["a"], [1, -2, 3.5, 1000.0, true, false, nil])
        XCTAssertEqual(v["b"], "x\"y\\z\né😀")
        XCTAssertEqual(v["e"], .int(Int64.max))
        // Integral doubles are written as integers, so compare the canonical text.
        XCTAssertEqual(JSONCodec.string(try JSONCodec.decode(JSONCodec.encode(v))), JSONCodec.string(v))
    }

    func testMalformedInputIsRejected() {
        for bad in ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "tru", "\"abc", "{\"a\" 1}", "[1] x", "\"\\x\"", "\"\\ud800\"",
                    "{a:1}", "\"\u{01}\"", "1e999"] {
            XCTAssertThrowsError(try JSONCodec.decode(bad), "accepted \(bad.debugDescription)") { e in
                XCTAssertEqual((e as? KernelError)?.code, .invalidArgs)
            }
        }
    }

    func testInvalidUTF8IsRejected() {
        XCTAssertThrowsError(try JSONCodec.decode(Data([0x22, 0xFF, 0xFE, 0x22])))
    }

    /// Hostile frames must not exhaust the supervisor's stack.
    func testDeepNestingIsRejectedNotCrashing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try JSONCodec.decode(deep))
        let ok = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        XCTAssertNoThrow(try JSONCodec.decode(ok))
    }
}
