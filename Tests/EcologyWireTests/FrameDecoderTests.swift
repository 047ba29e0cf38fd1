import XCTest
import NIOCore
import NIOEmbedded
@testable import EcologyWire
import EcologyCore

final class FrameDecoderTests: XCTestCase {
    func testRoundTripAcrossArbitrarySplits() throws {
        let values: [JSONValue] = [["type": "call", "id": 1, "action": "read", "params": ["artifact_id": "x"]],
                                   ["a": ["b": [1, 2.5, "ü", nil, true]]], [:]]
        let bytes = values.flatMap { Frame.encode($0) }
        for chunk in [1, 2, 3, 5, 7, bytes.count] {
            var d = FrameDecoder()
            var out: [JSONValue] = []
            var i = 0
            while i < bytes.count {
                d.append(bytes[i..<min(i + chunk, bytes.count)])
                while let v = try d.next() { out.append(v) }
                i += chunk
            }
            try d.finish()
            XCTAssertEqual(out, values, "chunk \(chunk)")
        }
    }

    func testHeaderIsBigEndianLength() {
        let f = Frame.encode(["k": "v"])
        XCTAssertEqual(Array(f.prefix(4)), [0, 0, 0, 9])
        XCTAssertEqual(String(decoding: f.dropFirst(4), as: UTF8.self), #"{"k":"v"}"#)
    }

    func testOversizedIsRejectedOnTheHeaderAlone() {
        var d = FrameDecoder(maxFrameBytes: 100)
        d.append([0x7f, 0xff, 0xff, 0xff])
        XCTAssertThrowsError(try d.next()) { XCTAssertEqual($0 as? FrameError, .oversized(length: 0x7fffffff, limit: 100)) }
        // Stays failed.
        d.append(Frame.encode(["ok": true]))
        XCTAssertThrowsError(try d.next())
    }

    func testInvalidPayloads() {
        func check(_ payload: [UInt8], _ expected: FrameError) {
            var d = FrameDecoder()
            let n = UInt32(payload.count)
            d.append([UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] + payload)
            XCTAssertThrowsError(try d.next(), "\(payload)") { XCTAssertEqual($0 as? FrameError, expected) }
        }
        check(Array("{\"a\":".utf8), .invalidJSON)
        check([0x7b, 0xff, 0xfe, 0x7d], .invalidUTF8)
        check(Array("[1,2]".utf8), .notAnObject("array"))
        check(Array("42".utf8), .notAnObject("integer"))
        check(Array("garbage".utf8), .invalidJSON)
    }

    func testTruncatedStream() throws {
        var d = FrameDecoder()
        d.append(Array(Frame.encode(["a": 1]).dropLast()))
        XCTAssertNil(try d.next())
        XCTAssertThrowsError(try d.finish()) { XCTAssertEqual($0 as? FrameError, .truncated(buffered: 10)) }
        var d2 = FrameDecoder()
        d2.append([0, 0])
        XCTAssertThrowsError(try d2.finish())
    }

    func testNIODecoderAndEncoder() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(JSONFrameDecoder(maxFrameBytes: 64)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(JSONFrameEncoder()))
        let frame = Frame.encode(["type": "reply", "id": 3])
        var buf = channel.allocator.buffer(capacity: 64)
        buf.writeBytes(frame.prefix(3))
        try channel.writeInbound(buf)
        XCTAssertNil(try channel.readInbound(as: JSONValue.self))
        buf.clear(); buf.writeBytes(frame.dropFirst(3))
        try channel.writeInbound(buf)
        XCTAssertEqual(try channel.readInbound(as: JSONValue.self), ["type": "reply", "id": 3])

        try channel.writeOutbound(JSONValue.object(["x": 1]))
        let out = try XCTUnwrap(channel.readOutbound(as: ByteBuffer.self))
        XCTAssertEqual(Array(out.readableBytesView), Frame.encode(["x": 1]))

        buf.clear(); buf.writeBytes([0, 0, 1, 0])
        XCTAssertThrowsError(try channel.writeInbound(buf)) { XCTAssertEqual($0 as? FrameError, .oversized(length: 256, limit: 64)) }
        _ = try? channel.finish()
    }
}

final class WireMessageTests: XCTestCase {
    func testMessagesRoundTrip() throws {
        let msgs: [WireMessage] = [
            .execute(ExecuteMessage(kind: .artifact, artifactID: "t", code: "def f(x): return x", method: "f",
                                    args: [1, "a"], caller: "alpha", depth: 2, maxOutputBytes: 100)),
            .call(id: 7, action: "invoke", params: ["artifact_id": "u", "method": "m", "args": []]),
            .reply(id: 7, response: .ok(["v": 1])),
            .reply(id: 8, response: .failure(KernelError(.rateLimited, "slow down", retryAfter: 1.5))),
            .result(id: 0, response: .failure(KernelError(.executionError, "boom", details: ["traceback": "x"]))),
            .other(type: "observe", body: ["id": 3]),
        ]
        for m in msgs {
            let bytes = Frame.encode(m.json)
            var d = FrameDecoder()
            d.append(bytes)
            XCTAssertEqual(try WireMessage(json: try XCTUnwrap(d.next())), m)
        }
    }

    func testMalformedMessages() {
        XCTAssertThrowsError(try WireMessage(json: ["id": 1]))
        XCTAssertThrowsError(try WireMessage(json: ["type": "call", "action": "read"]))
        XCTAssertThrowsError(try WireMessage(json: ["type": "call", "id": "1", "action": "read"]))
        XCTAssertThrowsError(try WireMessage(json: ["type": "reply", "id": 1, "response": 5]))
        XCTAssertThrowsError(try WireMessage(json: ["type": "reply", "id": 1, "response": ["result": 1]]))
        XCTAssertThrowsError(try WireMessage(json: ["type": "result", "id": 0,
                                                    "response": ["ok": false, "error": ["code": "NOPE"]]]))
        XCTAssertThrowsError(try WireMessage(json: ["type": "execute", "id": 0, "kind": "daemon"]))
    }
}

