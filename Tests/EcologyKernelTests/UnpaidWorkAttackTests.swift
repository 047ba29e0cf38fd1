import EcologyCore
@testable import EcologyKernel
import EcologyStore
import EcologyTestSupport
import Foundation
import GRDB
import XCTest

/// Classes 5 and 6 of issue 9 on virtual time: the chain deadline the kernel computes on
/// its `WorldClock`, and the compute holds that keep executions from running unpaid. (The
/// same attacks through the real sandbox: Tests/EcologySupervisorTests/UnpaidWorkAttackTests
/// and LimitEnforcementAttackTests.)
final class UnpaidWorkAttackTests: XCTestCase {
    /// Tool code that spends `seconds` of virtual time, then invokes `next` (if any).
    final class ChainExecutor: ArtifactExecutor, @unchecked Sendable {
        // @unchecked: `requests` is only touched with `lock` held; `clock` is thread-safe.
        let clock: VirtualClock
        private let lock = NSLock()
        private var _requests: [ExecutionRequest] = []
        init(clock: VirtualClock) { self.clock = clock }
        var requests: [ExecutionRequest] { lock.lock(); defer { lock.unlock() }; return _requests }

        func execute(_ request: ExecutionRequest, kernelCalls: @escaping KernelCallHandler) -> ExecutionOutcome {
            lock.lock(); _requests.append(request); lock.unlock()
            let parts = request.code.split(separator: ":").map(String.init)
            clock.advance(seconds: Double(parts[0]) ?? 0)
            guard parts.count > 1 else { return ExecutionOutcome(result: .success("bottom"), cpuMicros: 1_000, wallMicros: 1) }
            let reply = kernelCalls("invoke", ["artifact_id": .string(parts[1]), "method": "run", "args": []])
            switch reply {
            case .ok(let v): return ExecutionOutcome(result: .success(v), cpuMicros: 1_000, wallMicros: 1)
            case .failure(let e): return ExecutionOutcome(result: .failure(e), cpuMicros: 1_000, wallMicros: 1)
            }
        }
    }

    func world(_ configure: (inout WorldConfig) -> Void = { _ in }) throws -> (Kernel, VirtualClock, ChainExecutor, URL) {
        var config = WorldConfig()
        config.limits.invokeTimeoutSeconds = 5
        configure(&config)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-unpaid-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let clock = VirtualClock()
        let executor = ChainExecutor(clock: clock)
        let kernel = Kernel(database: try WorldDatabase(path: dir.appendingPathComponent("w.sqlite").path), config: config,
                            clock: clock, executor: executor)
        try kernel.bootstrap()
        return (kernel, clock, executor, dir)
    }

    func tool(_ kernel: Kernel, _ id: String, code: String) throws {
        try XCTUnwrapOK(kernel.handle(action: "write", params: [
            "artifact_id": .string(id), "content": "t", "code": .string(code), "executable": true,
            "interface": ["tools": [["name": "run", "description": "t", "inputSchema": ["type": "object"]]]],
        ], context: .principal("beta")))
    }

    /// Each level spends 2 s of a 5 s chain: the second gets 3 s, the third 1 s, the fourth
    /// is refused TIMEOUT before it starts. Before, every level was given the full 5 s.
    func testNestedInvokeGetsOnlyTheTimeThatRemains() throws {
        let (kernel, _, executor, dir) = try world()
        defer { try? FileManager.default.removeItem(at: dir) }
        for i in 0..<5 { try tool(kernel, "beta.hop\(i)", code: i < 4 ? "2:beta.hop\(i + 1)" : "2") }
        let r = kernel.invoke("beta.hop0", method: "run", args: [], context: .principal("alpha"))
        XCTAssertEqual(r.error?.code, .timeout, "\(r)")
        XCTAssertEqual(executor.requests.map(\.timeoutSeconds), [5, 3, 1], "each level gets what remains of one deadline")
        XCTAssertEqual(Set(executor.requests.map(\.deadlineMicros)).count, 1, "one deadline for the whole chain")
        XCTAssertTrue(try kernel.checkInvariants().ok)
    }

    /// Holds keep two executions from paying with the same compute, and cap the CPU limit.
    func testHoldsNeverSpendTheSameComputeTwice() throws {
        let (kernel, _, _, dir) = try world()
        defer { try? FileManager.default.removeItem(at: dir) }
        // alpha: 10,000 CPU-ms (the default initial balance).
        let first = try kernel.readOnly { try kernel.reserveCompute($0, payer: "alpha", ceilingSeconds: 5, wallSeconds: 5, what: "t") }
        let second = try kernel.readOnly { try kernel.reserveCompute($0, payer: "alpha", ceilingSeconds: 5, wallSeconds: 5, what: "t") }
        XCTAssertEqual([first.cpuLimitSeconds, second.cpuLimitSeconds], [5, 5])
        XCTAssertThrowsError(try kernel.readOnly { try kernel.reserveCompute($0, payer: "alpha", ceilingSeconds: 5, wallSeconds: 5, what: "t") }) {
            XCTAssertEqual(($0 as? KernelError)?.code, .insufficientCompute, "everything is held")
        }
        kernel.releaseCompute(first)
        let third = try kernel.readOnly { try kernel.reserveCompute($0, payer: "alpha", ceilingSeconds: 5, wallSeconds: 5, what: "t") }
        XCTAssertEqual(third.scaledUnits, 5_000 * TokenBucket.scale)
        kernel.releaseCompute(second); kernel.releaseCompute(third)
        XCTAssertEqual(kernel.computeReservations.held(by: "alpha"), 0, "holds are released exactly")
        XCTAssertThrowsError(try kernel.readOnly { try kernel.reserveCompute($0, payer: "nobody", ceilingSeconds: 5, wallSeconds: 5, what: "t") }) {
            XCTAssertEqual(($0 as? KernelError)?.code, .accessDenied, "a non-principal pays for nothing")
        }
    }
}
