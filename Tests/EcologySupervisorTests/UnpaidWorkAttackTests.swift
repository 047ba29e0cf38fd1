import EcologyCore
@testable import EcologyKernel
import EcologySandbox
import Foundation
import GRDB
import XCTest

/// Class 6 of issue 9: no work runs unpaid. Hostile agents, through the real kernel and
/// the real sandbox, try to make code run that nobody pays for: an unfunded standing
/// artifact as the payer of a busy loop, a payer that is not a principal, a contract that
/// burns CPU for every reader (and for readers who cannot pay). Each is refused before a
/// child starts, or charged to the documented payer by exactly the CPU on record.
final class UnpaidWorkAttackTests: XCTestCase {
    static func config() -> WorldConfig { LimitEnforcementAttackTests.config() }

    static let contractInterface: JSONValue = ["tools": [["name": "check_permission", "description": "contract", "inputSchema": ["type": "object"]]]]

    /// alpha makes a standing artifact with no compute (rate 0, balance 0) whose code invokes
    /// a busy loop: the loop's payer would be the shell, which never pays. Before, the loop
    /// ran for the whole limit and left the shell in debt forever; now it never starts.
    func testUnfundedStandingArtifactIsNotAPayer() throws {
        let w = try SandboxWorld(config: Self.config())
        try XCTUnwrapOK(w.writeTool("alpha", "alpha.spin", code: "def run():\n    while True:\n        pass\n"))
        try XCTUnwrapOK(w.act("alpha", "write", [
            "artifact_id": "alpha.shell", "content": "a shell", "standing": true, "executable": true,
            "code": "def run():\n    return invoke('alpha.spin', 'run')\n",
            "interface": ["tools": [["name": "run", "description": "shell", "inputSchema": ["type": "object"]]]],
        ]))
        XCTAssertEqual(w.compute("alpha.shell"), 0, "a new principal starts with nothing")
        let before = try ComputeLedger(w)
        let runs = w.counting.count(.artifact)

        let r = w.invoke("alpha", "alpha.shell", "run")
        XCTAssertEqual(r.error?.code, .executionError, "\(r)")
        XCTAssertEqual(r.error?.details?["kernel_error"]?.stringValue, "INSUFFICIENT_COMPUTE", "the nested invoke was refused: \(r)")
        XCTAssertEqual(w.counting.count(.artifact), runs + 1, "only the shell ran (paid by alpha); the loop never started")
        XCTAssertTrue(w.events("invoke", after: before.lastSeq).allSatisfy { $0.data["artifact_id"]?.stringValue == "alpha.shell" })
        XCTAssertEqual(w.compute("alpha.shell"), 0, "the shell is not in debt")
        try before.assertOnlyPayerCharged(w, payer: "alpha")
        try assertStillServes(w)
    }

    /// Code run for a payer that is not a principal (the CLI's `--as`, a stale context):
    /// before, `invokeUserCode` skipped every check when the payer had no row and the code
    /// ran for free. Now nothing starts.
    func testNonPrincipalPayerRunsNothing() throws {
        let w = try SandboxWorld(config: Self.config())
        try XCTUnwrapOK(w.writeTool("beta", "beta.spin", code: "def run():\n    while True:\n        pass\n"))
        let before = try ComputeLedger(w)
        let runs = w.counting.count(.artifact)
        for context in [CallContext.principal("ghost"), CallContext(caller: "beta.spin", payer: "ghost", depth: 1)] {
            let r = w.kernel.invoke("beta.spin", method: "run", args: [], context: context)
            XCTAssertEqual(r.error?.code, .accessDenied, "\(r)")
            XCTAssertTrue(r.error?.message.contains("not a principal") == true, "\(r)")
        }
        XCTAssertEqual(w.counting.count(.artifact), runs, "no child started")
        try before.assertOnlyPayerCharged(w, payer: "nobody")
        try assertStillServes(w)
    }

    /// beta guards an artifact with a contract that burns CPU on every evaluation, allowing
    /// gamma and denying delta. Before, that CPU was charged to nobody (and a denial rolled
    /// back whatever the action had charged). Now each reader's payer pays exactly the
    /// evaluation's measured CPU, whether the contract allows or denies.
    func testContractBurningCPUIsPaidByEachReader() throws {
        // Time enough for the burn on a loaded host: what is measured is CPU, not wall.
        var c = Self.config()
        c.limits.invokeTimeoutSeconds = 5
        c.limits.contractTimeoutSeconds = 5
        let w = try SandboxWorld(config: c)
        let burner = """
            import time
            def check_permission(artifact_id, action, requester_id, artifact, context):
                end = time.process_time() + 0.1
                while time.process_time() < end:
                    pass
                return {"allowed": requester_id == "gamma", "reason": "burned for " + requester_id}
            """
        try XCTUnwrapOK(w.act("beta", "write", ["artifact_id": "beta.burner", "content": "{}", "code": .string(burner),
                                                 "executable": true, "interface": Self.contractInterface]))
        try XCTUnwrapOK(w.act("beta", "write", ["artifact_id": "beta.secret", "content": "the secret", "contract": "beta.burner"]))
        for reader in ["gamma", "delta"] {
            let before = try ComputeLedger(w)
            let r = w.act(reader, "read", ["artifact_id": "beta.secret"])
            if reader == "gamma" { XCTAssertEqual(r.value?["content"]?.stringValue, "the secret", "\(r)") }
            else { XCTAssertEqual(r.error?.code, .accessDenied, "\(r)") }
            let evaluations = w.events("contract_evaluated", after: before.lastSeq)
            XCTAssertEqual(evaluations.count, 1, "one evaluation, on record")
            XCTAssertEqual(evaluations.first?.data["payer"]?.stringValue, reader)
            XCTAssertGreaterThan(evaluations.first?.data["cpu_ms"]?.doubleValue ?? 0, 50, "the burn was measured")
            try before.assertOnlyPayerCharged(w, payer: reader)
        }
        try assertStillServes(w)
    }

    /// A standing tool with no compute reads the guarded artifact: the contract would run on
    /// the tool's (empty) compute. Before, it ran anyway; now it is refused before it starts.
    func testReaderThatCannotPayRunsNoContract() throws {
        let w = try SandboxWorld(config: Self.config())
        try XCTUnwrapOK(w.act("beta", "write", ["artifact_id": "beta.gate", "content": "{}", "executable": true, "interface": Self.contractInterface,
                                                 "code": "def check_permission(artifact_id, action, requester_id, artifact, context):\n    return {'allowed': True, 'reason': 'open'}\n"]))
        try XCTUnwrapOK(w.act("beta", "write", ["artifact_id": "beta.secret", "content": "the secret", "contract": "beta.gate"]))
        try XCTUnwrapOK(w.act("alpha", "write", [
            "artifact_id": "alpha.poor", "content": "no compute", "standing": true, "executable": true,
            "code": "def run():\n    return read('beta.secret')['content']\n",
            "interface": ["tools": [["name": "run", "description": "reader", "inputSchema": ["type": "object"]]]],
        ]))
        let before = try ComputeLedger(w)
        let contracts = w.counting.count(.contract)
        let r = w.invoke("alpha", "alpha.poor", "run")
        XCTAssertEqual(r.error?.code, .executionError, "\(r)")
        XCTAssertEqual(r.error?.details?["kernel_error"]?.stringValue, "INSUFFICIENT_COMPUTE", "\(r)")
        XCTAssertEqual(w.counting.count(.contract), contracts, "the contract never started")
        XCTAssertEqual(w.compute("alpha.poor"), 0)
        try before.assertOnlyPayerCharged(w, payer: "alpha")
        try assertStillServes(w)
    }

    /// A busy loop paid by a poor payer gets only the CPU that payer can pay for: its
    /// RLIMIT_CPU is the payer's compute rounded up to whole seconds, and the payer ends at
    /// most that rounding plus the hard limit's grace second in debt.
    func testCPULimitIsCappedToWhatThePayerCanPay() throws {
        var c = Self.config()
        c.limits.invokeTimeoutSeconds = 4
        let w = try SandboxWorld(config: c)
        try XCTUnwrapOK(w.writeTool("beta", "beta.spin", code: "def run():\n    while True:\n        pass\n"))
        try XCTUnwrapOK(w.act("alpha", "write", [
            "artifact_id": "alpha.tight", "content": "little compute", "standing": true, "executable": true,
            "code": "def run():\n    return invoke('beta.spin', 'run')\n", "contract": "genesis_self_owned",
            "interface": ["tools": [["name": "run", "description": "shell", "inputSchema": ["type": "object"]]]],
        ]))
        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["alpha.tight", "compute", 300]))
        XCTAssertEqual(w.compute("alpha.tight"), 300)
        let r = w.invoke("alpha", "alpha.tight", "run")
        XCTAssertNotNil(r.error, "\(r)")
        let spin = try XCTUnwrap(w.events("invoke").first { $0.data["artifact_id"]?.stringValue == "beta.spin" })
        XCTAssertEqual(spin.data["payer"]?.stringValue, "alpha.tight")
        XCTAssertEqual(spin.data["cpu_limit_seconds"]?.intValue, 1, "300 CPU-ms pays for a 1 s limit, not the configured 4")
        XCTAssertGreaterThan(w.compute("alpha.tight"), -2_000, "debt stays within the documented allowance")
        XCTAssertEqual(w.invoke("alpha", "alpha.tight", "run").error?.details?["kernel_error"]?.stringValue ?? "",
                       "INSUFFICIENT_COMPUTE", "once spent, it pays for nothing more")
        try assertStillServes(w)
    }

    func assertStillServes(_ w: SandboxWorld, file: StaticString = #filePath, line: UInt = #line) throws {
        try XCTLimitsStillServe(w, file: file, line: line)
    }
}

func XCTLimitsStillServe(_ w: SandboxWorld, file: StaticString = #filePath, line: UInt = #line) throws {
    try XCTUnwrapOK(w.writeTool("epsilon", "epsilon.ok", code: "def run(a, b):\n    return a * b\n", params: ["a", "b"]), file: file, line: line)
    XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "epsilon.ok", "run", [6, 7]), file: file, line: line), .int(42), file: file, line: line)
    w.assertInvariants(file: file, line: line)
}
