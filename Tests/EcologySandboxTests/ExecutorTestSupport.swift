import XCTest
import Foundation
@testable import EcologySandbox
import EcologyCore

/// One executor shared by the tests of this target (starting a zygote costs ~100 ms).
enum Shared {
    static let executor: SandboxedExecutor = {
        do { return try SandboxedExecutor(config: WorldConfig()) } catch { fatalError("executor: \(error)") }
    }()
}

func request(_ code: String, method: String = "run", args: [JSONValue] = [], kind: ChildKind = .artifact,
             timeout: Double = 5, memory: Int64 = 128 << 20, maxOutput: Int = 65_536, depth: Int = 0) -> ExecutionRequest {
    ExecutionRequest(kind: kind, artifactID: "test_tool", code: code, method: method, args: args, caller: "alpha",
                     depth: depth, timeoutSeconds: timeout, memoryLimitBytes: memory, maxOutputBytes: maxOutput)
}

let noCalls: KernelCallHandler = { action, _ in .failure(KernelError(.notFound, "no kernel in this test: \(action)")) }

extension XCTestCase {
    @discardableResult
    func run(_ code: String, method: String = "run", args: [JSONValue] = [], kind: ChildKind = .artifact,
             timeout: Double = 5, memory: Int64 = 128 << 20, maxOutput: Int = 65_536,
             calls: @escaping KernelCallHandler = noCalls) -> ExecutionOutcome {
        Shared.executor.execute(request(code, method: method, args: args, kind: kind, timeout: timeout, memory: memory,
                                        maxOutput: maxOutput), kernelCalls: calls)
    }

    func assertCode(_ o: ExecutionOutcome, _ code: ErrorCode, file: StaticString = #filePath, line: UInt = #line) {
        switch o.result {
        case .success(let v): XCTFail("expected \(code.rawValue), got success \(v)", file: file, line: line)
        case .failure(let e): XCTAssertEqual(e.code, code, "\(e) details=\(e.details.map(JSONCodec.string) ?? "")", file: file, line: line)
        }
    }

    /// The executor keeps serving after whatever happened before.
    func assertStillServes(file: StaticString = #filePath, line: UInt = #line) {
        let o = run("def run(a, b):\n    return a + b\n", args: [2, 3])
        XCTAssertEqual(try? o.result.get(), .int(5), "benign execution after a hostile one: \(o.result)", file: file, line: line)
    }
}
