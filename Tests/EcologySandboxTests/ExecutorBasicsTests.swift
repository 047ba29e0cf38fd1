import XCTest
@testable import EcologySandbox
import EcologyCore

final class ExecutorBasicsTests: XCTestCase {
    func testTrivialTool() {
        let o = run("def run():\n    return {'hello': 'world', 'n': [1, 2.5, None, True]}\n")
        XCTAssertEqual(try? o.result.get(), ["hello": "world", "n": [1, 2.5, nil, true]])
        XCTAssertGreaterThan(o.wallMicros, 0)
        XCTAssertNil(o.violatedSyscall)
    }

    func testArgsPassing() {
        let o = run("def add(a, b, c=None):\n    return {'sum': a + b, 'c': c}\n", method: "add", args: [40, 2, ["x": "y"]])
        XCTAssertEqual(try? o.result.get(), ["sum": 42, "c": ["x": "y"]])
    }

    func testExceptionIsExecutionErrorWithTraceback() throws {
        let o = run("def run():\n    raise ValueError('nope')\n")
        assertCode(o, .executionError)
        guard case .failure(let e) = o.result else { return }
        XCTAssertTrue(e.message.contains("ValueError"))
        let tb = try XCTUnwrap(e.details?["traceback"]?.stringValue)
        XCTAssertTrue(tb.contains("nope") && tb.contains("<artifact test_tool>"), tb)
    }

    func testMissingMethodAndSyntaxError() {
        assertCode(run("def run():\n    return 1\n", method: "other"), .executionError)
        assertCode(run("def run(:\n"), .executionError)
    }

    func testNestedKernelCallRoundTrip() {
        let calls: KernelCallHandler = { action, params in
            if action == "invoke", params["artifact_id"] == "calc", params["method"] == "double" {
                let x = params["args"]?.arrayValue?.first?.intValue ?? 0
                return .ok(.int(x * 2))
            }
            if action == "read" { return .failure(KernelError(.notFound, "artifact \(params["artifact_id"]?.stringValue ?? "") not found")) }
            return .failure(KernelError(.invalidArgs, "unexpected \(action)"))
        }
        let code = """
        def run(x):
            doubled = invoke('calc', 'double', x)
            try:
                read('missing')
            except KernelCallError as e:
                return {'doubled': doubled, 'code': e.code}
            return 'no error'
        """
        let o = run(code, args: [21], calls: calls)
        XCTAssertEqual(try? o.result.get(), ["doubled": 42, "code": "NOT_FOUND"])
    }

    func testContractModeRefusesKernelCalls() {
        let code = """
        def check_permission(artifact_id, action, requester_id, artifact, context):
            try:
                invoke('genesis_ledger', 'balance', requester_id)
                return {'allowed': True, 'reason': 'kernel call went through'}
            except KernelCallError as e:
                return {'allowed': requester_id == 'alpha', 'reason': e.code}
        """
        let o = run(code, method: "check_permission", args: ["doc", "read", "alpha", ["id": "doc"], [:]], kind: .contract)
        XCTAssertEqual(try? o.result.get(), ["allowed": true, "reason": "ACCESS_DENIED"], "\(o.result)")
        let bad = run("def check_permission(*a):\n    return 'yes'\n", method: "check_permission",
                      args: ["doc", "read", "alpha", nil, [:]], kind: .contract)
        assertCode(bad, .executionError)
    }

    func testCPUIsMeasured() {
        let code = "import time\ndef run():\n    t = time.process_time()\n    while time.process_time() - t < 0.2:\n        pass\n    return 1\n"
        let o = run(code)
        XCTAssertEqual(try? o.result.get(), 1)
        XCTAssertGreaterThanOrEqual(o.cpuMicros, 100_000)
    }

    func testUserCanImportStdlibAndUseTmp() {
        let code = """
        import json, hashlib, os, tempfile
        def run():
            p = os.path.join(tempfile.gettempdir(), 'x.txt')
            with open(p, 'w') as f:
                f.write('hi')
            return {'h': hashlib.sha256(b'a').hexdigest()[:8], 'read': open(p).read(), 'tmp': tempfile.gettempdir()}
        """
        let o = run(code)
        XCTAssertEqual(try? o.result.get(), ["h": "ca978112", "read": "hi", "tmp": "/tmp"])
    }
}
