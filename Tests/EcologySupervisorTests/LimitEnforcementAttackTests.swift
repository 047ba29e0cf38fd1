import EcologyCore
@testable import EcologyKernel
import EcologySandbox
import Foundation
import GRDB
import XCTest

/// Class 5 of issue 9: the supervisor enforces every limit itself. Hostile tool code,
/// through the real kernel and the real sandbox, tries to stretch the wall clock through
/// nested calls and slow contracts, to return more than the output limit by going around
/// the runner, and to flood the kernel with calls. Each attack is answered with the
/// documented code, only the payer's compute moves (by exactly the measured CPU), the
/// invariants hold and the kernel keeps serving.
final class LimitEnforcementAttackTests: XCTestCase {
    /// Compute does not refill, so every CPU-µs charged shows in the balance.
    static func config(timeout: Double = 1) -> WorldConfig {
        var c = WorldConfig.test()
        c.resources.compute = BucketConfig(ratePerSecond: 0, capacity: 10_000, initial: 10_000)
        c.limits.invokeTimeoutSeconds = timeout
        c.resources.memoryLimitBytes = 64 << 20
        return c
    }

    /// A chain of five tools, each sleeping 0.6 s and then invoking the next: before, every
    /// level had the full 1 s limit while its parent waited, so the chain ran ~3 s. Now the
    /// chain shares one deadline: the second level gets what remains, the third never starts.
    func testNestedChainCannotStretchTheWallClock() throws {
        let w = try SandboxWorld(config: Self.config())
        for i in 0..<5 {
            let next = i < 4 ? "return invoke('beta.hop\(i + 1)', 'run')" : "return 'bottom'"
            try XCTUnwrapOK(w.writeTool("beta", "beta.hop\(i)", code: "import time\ndef run():\n    time.sleep(0.6)\n    \(next)\n"))
        }
        let before = try ComputeLedger(w)
        let started = Date()
        let r = w.invoke("alpha", "beta.hop0", "run")
        let wall = Date().timeIntervalSince(started)
        XCTAssertEqual(r.error?.code, .timeout, "\(r)")
        XCTAssertLessThanOrEqual(wall, 1.0 + 0.75, "the whole chain ends at its deadline (limit 1 s), not at 5 × its depth")
        let hops = w.events("invoke").compactMap { $0.data["artifact_id"]?.stringValue }.filter { $0.hasPrefix("beta.hop") }
        XCTAssertEqual(Set(hops), ["beta.hop0", "beta.hop1"], "a level with no time left never starts: \(hops)")
        XCTAssertTrue(w.events("invoke").filter { $0.data["artifact_id"]?.stringValue == "beta.hop1" }
                        .allSatisfy { $0.data["error"]?.stringValue == "TIMEOUT" }, "the nested level got only the remaining time")
        try before.assertOnlyPayerCharged(w, payer: "alpha")
        try assertStillServes(w)
    }

    /// A tool reads an artifact guarded by a slow contract (2.5 s, within a generous
    /// `contract_timeout_seconds` of 3): the evaluation used to get its full limit while
    /// the tool waited, 2.5× past the tool's own 1 s.
    func testSlowContractsCannotStretchTheCallChain() throws {
        var c = Self.config()
        c.limits.contractTimeoutSeconds = 3
        let w = try SandboxWorld(config: c)
        let slowGate = "import time\ndef check_permission(artifact_id, action, requester_id, artifact, context):\n    time.sleep(2.5)\n    return {'allowed': True, 'reason': 'slowly'}\n"
        try XCTUnwrapOK(w.act("beta", "write", ["artifact_id": "beta.slowgate", "content": "{}", "code": .string(slowGate), "executable": true,
                                                 "interface": ["tools": [["name": "check_permission", "description": "contract", "inputSchema": ["type": "object"]]]]]))
        for i in 1...3 {
            try XCTUnwrapOK(w.act("beta", "write", ["artifact_id": .string("beta.vault\(i)"), "content": .string("secret \(i)"), "contract": "beta.slowgate"]))
        }
        try XCTUnwrapOK(w.writeTool("beta", "beta.reader", code: "def run():\n    return [read('beta.vault%d' % i)['content'] for i in (1, 2, 3)]\n"))
        let before = try ComputeLedger(w)
        let started = Date()
        let r = w.invoke("alpha", "beta.reader", "run")
        let wall = Date().timeIntervalSince(started)
        XCTAssertEqual(r.error?.code, .timeout, "\(r)")
        XCTAssertLessThanOrEqual(wall, 1.0 + 0.75, "contract evaluations share the chain's deadline (was 2.5 s)")
        // Every evaluation that ran is on record and paid for by the reader's payer.
        let evaluations = w.events("contract_evaluated")
        XCTAssertFalse(evaluations.isEmpty)
        XCTAssertTrue(evaluations.allSatisfy { $0.principal == "alpha" && $0.data["payer"]?.stringValue == "alpha" })
        try before.assertOnlyPayerCharged(w, payer: "alpha")
        try assertStillServes(w)
    }

    /// Tool code writes its own `result` frame to fd 3 (the runner never checks it), and
    /// then, the other way round, disables the runner's size check by patching the module.
    func testOutputLimitHoldsWhenTheRunnerIsBypassed() throws {
        let w = try SandboxWorld(config: Self.config())
        try XCTUnwrapOK(w.writeTool("beta", "beta.rawframe", code: """
            import json, os, struct, time
            def run():
                body = json.dumps({"type": "result", "id": 0, "response": {"ok": True, "result": "x" * 300000}}).encode()
                data = struct.pack(">I", len(body)) + body
                while data:
                    data = data[os.write(3, data):]
                time.sleep(5)
            """))
        try XCTUnwrapOK(w.writeTool("beta", "beta.patched", code: """
            import runner, types
            def run():
                runner.json = types.SimpleNamespace(dumps=lambda *a, **k: "0")
                return "y" * 300000
            """))
        for tool in ["beta.rawframe", "beta.patched"] {
            let before = try ComputeLedger(w)
            let r = w.invoke("alpha", tool, "run")
            XCTAssertEqual(r.error?.code, .executionError, "\(tool): \(r.value.map { "success of \(JSONCodec.string($0).utf8.count) bytes" } ?? "\(r)")")
            XCTAssertEqual(r.error?.details?["limit"]?.stringValue, "output", "\(tool): \(r)")
            XCTAssertLessThan(JSONCodec.string(r.json).utf8.count, w.config.limits.maxOutputBytes, "nothing of the oversized result comes back")
            try before.assertOnlyPayerCharged(w, payer: "alpha")
        }
        try assertStillServes(w)
    }

    /// A flood of cheap kernel calls (reads and noops cost the payer nothing by default)
    /// ends at the supervisor's bound instead of running for the whole wall-clock limit.
    func testKernelCallFloodEndsAtTheBound() throws {
        let w = try SandboxWorld(config: Self.config(timeout: 20))
        try XCTUnwrapOK(w.writeTool("beta", "beta.flood", code: """
            def run():
                n = 0
                for _ in range(\(ExecutionLimits.maxKernelCalls + 10)):
                    kernel_call("noop")
                    n += 1
                return n
            """))
        let before = try ComputeLedger(w)
        let r = w.invoke("alpha", "beta.flood", "run")
        XCTAssertEqual(r.error?.code, .executionError, "\(r)")
        XCTAssertEqual(r.error?.details?["limit"]?.stringValue, "kernel_calls", "\(r)")
        try before.assertOnlyPayerCharged(w, payer: "alpha")
        try assertStillServes(w)
    }

    /// A benign call works after the attack and the invariants hold.
    func assertStillServes(_ w: SandboxWorld, file: StaticString = #filePath, line: UInt = #line) throws {
        try XCTUnwrapOK(w.writeTool("gamma", "gamma.ok", code: "def run(a, b):\n    return a * b\n", params: ["a", "b"]), file: file, line: line)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "gamma.ok", "run", [6, 7]), file: file, line: line), .int(42), file: file, line: line)
        w.assertInvariants(file: file, line: line)
    }
}

/// Every principal's exact compute (scaled units) and other balances before an attack, to
/// check afterwards that only the payer's compute moved, by exactly the CPU on record.
struct ComputeLedger {
    let scaled: [String: Int64]
    let others: [String: [String]]
    let lastSeq: Int64

    init(_ w: SandboxWorld) throws {
        scaled = try Self.scaledCompute(w)
        others = w.ledger().mapValues { $0.filter { !$0.hasPrefix("compute=") } }
        lastSeq = w.lastSeq
    }

    static func scaledCompute(_ w: SandboxWorld) throws -> [String: Int64] {
        let now = w.kernel.clock.nowMicros()
        return try w.database.read { db in
            var out: [String: Int64] = [:]
            for id in try String.fetchAll(db, sql: "SELECT id FROM principals") {
                out[id] = try Principal.load(db, id)?.compute.scaledBalance(atMicros: now)
            }
            return out
        }
    }

    /// CPU-µs on record since the snapshot (invokes and contract evaluations), by payer.
    static func recordedCPUMicros(_ w: SandboxWorld, after seq: Int64) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for e in w.events(after: seq) where e.type == "invoke" || e.type == "contract_evaluated" {
            guard let payer = e.data["payer"]?.stringValue, let ms = e.data["cpu_ms"]?.doubleValue else { continue }
            out[payer, default: 0] += Int64(exactly: (ms * 1000).rounded()) ?? 0
        }
        return out
    }

    /// Only `payer`'s compute changed (no refill: rate 0), by exactly the recorded CPU
    /// (one CPU-µs = 1,000 scaled units); no scrip, budget or disk moved anywhere.
    func assertOnlyPayerCharged(_ w: SandboxWorld, payer: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let after = try Self.scaledCompute(w)
        let cpu = Self.recordedCPUMicros(w, after: lastSeq)
        XCTAssertEqual(Set(cpu.keys).subtracting([payer]), [], "nobody else paid CPU: \(cpu)", file: file, line: line)
        for (id, was) in scaled {
            let expected = was - (id == payer ? (cpu[payer] ?? 0) * 1000 : 0)
            XCTAssertEqual(after[id], expected, "\(id)'s compute moved by exactly its recorded CPU", file: file, line: line)
        }
        XCTAssertEqual(w.ledger().mapValues { $0.filter { !$0.hasPrefix("compute=") } }, others,
                       "no scrip, llm_budget or disk moved", file: file, line: line)
    }
}
