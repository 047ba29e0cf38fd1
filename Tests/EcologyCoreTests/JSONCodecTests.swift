import EcologyCore
import Foundation
import XCTest

final class JSONCodecTests: XCTestCase {
    func testIntegersStayExact() throws {
        let big: Int64 = 9_007_199_254_740_993  // 2^53 + 1: not representable as a Double
        let v = try JSONCodec.decode("{\"a\": \(big), \"b\": \(Int64.max), \"c\": \(Int64.min), \"d\": -7}")
        XCTAssertEqual(v["a"], .int(big))
        XCTAssertEqual(v["b"], .int(Int64.max))
        XCTAssertEqual(v["c"], .int(Int64.min))
        XCTAssertEqual(v["d"], .int(-7))
        XCTAssertEqual(JSONCodec.string(v), "{\"a\":9007199254740993,\"b\":9223372036854775807,\"c\":-9223372036854775808,\"d\":-7}")
        XCTAssertEqual(v["a"]?.intValue, big)
    }

    func testOtherScalars() throws {
        let v = try JSONCodec.decode("[true, false, null, 1.5, \"s\", 1e300]")
        XCTAssertEqual(v, [true, false, nil, 1.5, "s", .number(1e300)])
        XCTAssertEqual(v.arrayValue?[0].intValue, nil, "booleans are not integers")
        XCTAssertEqual(JSONValue.number(2.0).intValue, 2)
        XCTAssertNil(JSONValue.number(2.5).intValue)
        XCTAssertNil(JSONValue.number(.infinity).intValue)
        XCTAssertNil(JSONValue.number(1e19).intValue)
    }

    func testInvalidUTF8IsInvalidArgs() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0xC3, 0x28], [0x7B, 0xED, 0xA0, 0x80, 0x7D]] {
            do { _ = try JSONCodec.decode(Data(bytes)); XCTFail("accepted \(bytes)") } catch let e as KernelError {
                XCTAssertEqual(e.code, .invalidArgs)
            } catch { XCTFail("\(error)") }
        }
    }

    func testInvalidJSONIsInvalidArgs() {
        for text in ["", "{", "{\"a\":}", "[1 2]", "nul", "{'a':1}"] {
            do { _ = try JSONCodec.decode(text); XCTFail("accepted \(text)") } catch let e as KernelError {
                XCTAssertEqual(e.code, .invalidArgs, text)
            } catch { XCTFail("\(error)") }
        }
    }

    func testEncodingSortsKeysAndIsDeterministic() throws {
        let v: JSONValue = ["zeta": 1, "alpha": ["y": true, "b": nil], "mid": [3, "x"]]
        let s = JSONCodec.string(v)
        XCTAssertEqual(s, "{\"alpha\":{\"b\":null,\"y\":true},\"mid\":[3,\"x\"],\"zeta\":1}")
        XCTAssertEqual(JSONCodec.encode(v), Data(s.utf8))
        XCTAssertEqual(try JSONCodec.decode(s), v)
    }

    func testStringEscapingRoundTrips() throws {
        let tricky = "quote\" backslash\\ nl\n cr\r tab\t bell\u{7} nul\u{0} é 🙂 \u{2028}"
        let s = JSONCodec.string(.string(tricky))
        XCTAssertFalse(s.unicodeScalars.contains { $0.value < 0x20 }, "control characters are escaped")
        XCTAssertEqual(try JSONCodec.decode(s), .string(tricky))
    }

    func testNumbersEncodeAsValidJSON() throws {
        XCTAssertEqual(JSONCodec.string(.number(3.0)), "3")
        XCTAssertEqual(JSONCodec.string(.number(.nan)), "null")
        XCTAssertEqual(JSONCodec.string(.number(-.infinity)), "null")
        for d in [0.1, -2.5, 1e20, 1.5e-7, 123456789.125] {
            let back = try JSONCodec.decode(JSONCodec.string(.number(d)))
            XCTAssertEqual(back.doubleValue, d)
        }
    }

    func testEnvelopeRoundTripsThroughJSON() throws {
        let ok = Envelope.ok(["x": 1])
        XCTAssertEqual(JSONCodec.string(ok.json), "{\"ok\":true,\"result\":{\"x\":1}}")
        XCTAssertEqual(Envelope(json: ok.json), ok)
        let fail = Envelope.failure(KernelError(.insufficientCompute, "frozen", details: ["compute": -3], retryAfter: 2.5))
        let json = try JSONCodec.decode(JSONCodec.string(fail.json))
        XCTAssertEqual(json["error"]?["code"], "INSUFFICIENT_COMPUTE")
        XCTAssertEqual(json["error"]?["retry_after"], 2.5)
        XCTAssertEqual(Envelope(json: json), fail)
        let plain = Envelope.failure(KernelError(.notFound, "x"))
        XCTAssertEqual(plain.json["error"]?["details"], .null)
        XCTAssertEqual(plain.json["error"]?["retry_after"], .null)
        XCTAssertEqual(Envelope(json: plain.json), plain)
        XCTAssertEqual(Envelope(json: ["nonsense": 1]).error?.code, .protocolError)
        XCTAssertEqual(Envelope(json: ["ok": false, "error": ["code": "NOPE"]]).error?.code, .protocolError)
    }
}

final class JSONCodecByteWriterTests: XCTestCase {
    /// The byte-level writer keeps the exact output of the original writer: sorted keys,
    /// the same escapes, integers without exponent, non-finite numbers as null.
    func testExactBytes() {
        let v: JSONValue = .object([
            "z": .int(Int64.min), "a": .int(0), "m": .array([.int(-7), .int(1234567890123), .number(2.5), .number(3), .number(.nan)]),
            "s": .string("q\"b\\n\n\r\t\u{01}\u{1F}é€😀"), "t": .bool(true), "n": .null,
        ])
        XCTAssertEqual(JSONCodec.string(v),
                       #"{"a":0,"m":[-7,1234567890123,2.5,3,null],"n":null,"s":"q\"b\\n\n\r\t\u0001\u001fé€😀","t":true,"z":-9223372036854775808}"#)
        XCTAssertEqual(try JSONCodec.decode(JSONCodec.encode(v)).objectValue?["s"], v.objectValue?["s"])
    }
}
