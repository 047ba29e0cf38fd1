import EcologyCore
import EcologyKernel
@testable import EcologyObservatory
import Foundation
import XCTest

/// Who may do what: the token, Host and Origin checks, the loopback rule.
final class ObservatorySecurityTests: XCTestCase {
    func testControlNeedsTheTokenAndActsThroughTheKernel() throws {
        let w = try ObservatoryTestWorld()
        let path = "/api/agents/alpha/pause"
        XCTAssertEqual(try RawHTTP.request(port: w.port, "POST", path).status, 401)
        XCTAssertEqual(try RawHTTP.request(port: w.port, "POST", path, headers: ["Authorization": "Bearer " + String(repeating: "0", count: 64)]).status, 401)
        XCTAssertEqual(try RawHTTP.request(port: w.port, "POST", path, headers: ["Cookie": "\(RequestGuard.cookieName)=\(w.token.value)"]).status, 401,
                       "a cookie is sent with cross-site forms: control needs the header")
        XCTAssertEqual(try w.kernel.agents().first { $0["id"] == "alpha" }?["paused"], false)
        let ok = try RawHTTP.request(port: w.port, "POST", path, headers: ["Authorization": "Bearer \(w.token.value)"])
        XCTAssertEqual(ok.status, 200, ok.body)
        XCTAssertEqual(try w.kernel.agents().first { $0["id"] == "alpha" }?["paused"], true)
        XCTAssertEqual(try w.kernel.recentEvents(limit: 1).last?.type, "agent_paused")
        XCTAssertEqual(try RawHTTP.request(port: w.port, "POST", "/api/agents/alpha/resume", headers: ["Authorization": "Bearer \(w.token.value)"]).status, 200)
        XCTAssertEqual(try w.kernel.agents().first { $0["id"] == "alpha" }?["paused"], false)
        XCTAssertEqual(try RawHTTP.request(port: w.port, "POST", "/api/agents/nobody/pause", headers: ["Authorization": "Bearer \(w.token.value)"]).status, 404)
        XCTAssertEqual(try RawHTTP.request(port: w.port, "GET", path).status, 404, "control is POST only")
    }

    func testInjectValidatesItsBody() throws {
        let w = try ObservatoryTestWorld()
        let auth = ["Authorization": "Bearer \(w.token.value)"]
        let ok = try RawHTTP.request(port: w.port, "POST", "/api/inject", headers: auth, body: #"{"topic":"news","data":{"x":1}}"#)
        XCTAssertEqual(ok.status, 200, ok.body)
        let last = try XCTUnwrap(try w.kernel.recentEvents(limit: 1).last)
        XCTAssertEqual(last.type, "custom")
        XCTAssertEqual(last.data["topic"], "news")
        XCTAssertEqual(last.data["injected"], true)
        for body in ["not json", #"{"topic":""}"#, #"{"topic":"t","data":[1]}"#, "[1,2]", #"{"topic":"t","principal":"a b"}"#] {
            XCTAssertEqual(try RawHTTP.request(port: w.port, "POST", "/api/inject", headers: auth, body: body).status, 400, body)
        }
        let huge = #"{"topic":"t","data":{"x":""# + String(repeating: "a", count: 70_000) + #""}}"#
        XCTAssertEqual(try RawHTTP.request(port: w.port, "POST", "/api/inject", headers: auth, body: huge).status, 413)
    }

    func testCrossOriginAndRebindingAreRefused() throws {
        let w = try ObservatoryTestWorld()
        let auth = ["Authorization": "Bearer \(w.token.value)"]
        var cross = auth; cross["Origin"] = "http://evil.example"
        XCTAssertEqual(try RawHTTP.request(port: w.port, "POST", "/api/agents/alpha/pause", headers: cross).status, 403)
        var same = auth; same["Origin"] = "http://127.0.0.1:\(w.port)"
        XCTAssertEqual(try RawHTTP.request(port: w.port, "POST", "/api/agents/alpha/pause", headers: same).status, 200)
        // DNS rebinding: the attacker's name now points at 127.0.0.1; the Host header gives it away.
        XCTAssertEqual(try RawHTTP.request(port: w.port, "/api/overview", host: "evil.example:\(w.port)").status, 403)
        XCTAssertEqual(try RawHTTP.request(port: w.port, "/metrics", host: "evil.example").status, 403)
        XCTAssertEqual(try RawHTTP.request(port: w.port, "/api/overview", host: "localhost:\(w.port)").status, 200)
        XCTAssertEqual(try RawHTTP.request(port: w.port, "/api/overview", host: "127.0.0.1:\(w.port + 1)").status, 403)
    }

    func testReadOnlyServerHasNoControls() throws {
        let w = try ObservatoryTestWorld(live: false, control: false)
        let a = try RawHTTP.request(port: w.port, "POST", "/api/agents/alpha/pause", headers: ["Authorization": "Bearer anything"])
        XCTAssertEqual(a.status, 403, a.body)
        XCTAssertEqual(try RawHTTP.request(port: w.port, "/api/overview").status, 200, "reads need no token on loopback")
    }

    func testBeyondLoopbackEveryRequestNeedsTheToken() throws {
        let token = ControlToken.generate()
        let wildcard = RequestGuard(address: ObservatoryAddress(host: "0.0.0.0", port: 8787), port: 8787, token: token)
        XCTAssertEqual(wildcard.check(access: .read, host: "192.168.1.5:8787", origin: nil, authorization: nil, cookie: nil)?.status, 401)
        XCTAssertNil(wildcard.check(access: .read, host: "192.168.1.5:8787", origin: nil, authorization: "Bearer \(token.value)", cookie: nil))
        XCTAssertNil(wildcard.check(access: .read, host: "192.168.1.5:8787", origin: nil, authorization: nil,
                                    cookie: "a=b; \(RequestGuard.cookieName)=\(token.value)"))
        XCTAssertEqual(wildcard.check(access: .read, host: "evil.example:8787", origin: nil, authorization: "Bearer \(token.value)", cookie: nil)?.status, 403,
                       "a wildcard bind accepts IP literals, not names")
        let loopback = RequestGuard(address: .default, port: 8787, token: nil)
        XCTAssertNil(loopback.check(access: .read, host: "127.0.0.1:8787", origin: nil, authorization: nil, cookie: nil))
        XCTAssertNil(loopback.check(access: .read, host: "[::1]:8787", origin: nil, authorization: nil, cookie: nil))
        XCTAssertEqual(loopback.check(access: .read, host: nil, origin: nil, authorization: nil, cookie: nil)?.status, 403)
    }

    func testANonLoopbackServerWithoutATokenIsRefused() throws {
        let w = try ObservatoryTestWorld()
        for host in ["0.0.0.0", "192.0.2.1", "::"] {
            XCTAssertThrowsError(try ObservatoryServer(reader: w.server.reader, options: .init(address: ObservatoryAddress(host: host, port: 0), token: nil)), host)
        }
        XCTAssertNoThrow(try ObservatoryServer(reader: w.server.reader, options: .init(address: ObservatoryAddress(host: "127.0.0.2", port: 0), token: nil)))
    }

    func testTokenIsRandomPrivateAndComparedExactly() throws {
        let a = ControlToken.generate(), b = ControlToken.generate()
        XCTAssertNotEqual(a.value, b.value)
        XCTAssertEqual(a.value.count, 64)
        XCTAssertTrue(a.value.allSatisfy(\.isHexDigit))
        XCTAssertTrue(a.matches(a.value))
        XCTAssertFalse(a.matches(String(a.value.dropLast())))
        XCTAssertFalse(a.matches(a.value + "0"))
        XCTAssertFalse(a.matches(""))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try a.save(dataDir: dir.path)
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), a.value + "\n")
        _ = try b.save(dataDir: dir.path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), b.value + "\n", "a new run replaces the token")
    }

    func testHTTPAddressParsing() throws {
        XCTAssertNil(try ObservatoryAddress.parse("off"))
        XCTAssertEqual(try ObservatoryAddress.parse("127.0.0.1:8787"), .default)
        XCTAssertEqual(try ObservatoryAddress.parse("localhost:9000"), ObservatoryAddress(host: "127.0.0.1", port: 9000))
        XCTAssertEqual(try ObservatoryAddress.parse("[::1]:80"), ObservatoryAddress(host: "::1", port: 80))
        XCTAssertEqual(try ObservatoryAddress.parse("0.0.0.0:0")?.isLoopback, false)
        XCTAssertEqual(try ObservatoryAddress.parse("127.1.2.3:1")?.isLoopback, true)
        XCTAssertEqual(try ObservatoryAddress.parse("[::1]:1")?.isLoopback, true)
        for bad in ["8787", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:99999999999999999999",
                    "example.com:80", "[::1]80", "[::1:80", ":8787", "127.0.0.1:８０"] {
            XCTAssertThrowsError(try ObservatoryAddress.parse(bad), bad)
        }
    }
}
