import EcologyCore
@testable import EcologyKernel
import EcologySandbox
@testable import EcologySupervisor
import Foundation
import XCTest

/// Class 1 of issue 9 on the wire: a hostile agent child sends numbers no Swift
/// conversion may trap on, in frames the supervisor decodes and serves itself (`sleep`)
/// or hands to the kernel. The supervisor answers INVALID_ARGS and keeps serving.
final class HostileAgentNumberTests: XCTestCase {
    /// A real agent child (sandboxed Python) sends the frames; the supervisor must answer
    /// each and run the agent's next step, with no crash and the ledger intact.
    func testHostileNumbersInFramesAreAnsweredNotTrapped() throws {
        let bounded: JSONValue = [
            "artifact_id": "bounded", "code": "def run(x):\n    return x\n", "executable": true, "content": "bounds",
            "interface": ["tools": [["name": "run", "description": "x ≥ 1e300",
                                     "inputSchema": ["type": "object", "required": ["x"],
                                                     "properties": ["x": ["type": "number", "minimum": .number(1e300)]]]]]],
        ]
        let program: [JSONValue] = [
            Step.call("sleep", ["seconds": .number(1e300)], report: "sleep_huge"),
            Step.call("sleep", ["seconds": .number(-1e300)], report: "sleep_negative"),
            Step.call("sleep", ["balance": ["resource": "scrip", "gte": .number(9.3e18)]], report: "sleep_balance"),
            Step.call("write", bounded, report: "write"),
            Step.invoke("bounded", "run", [["x": 0]], report: "invoke_bounded"),
            Step.invoke("genesis_ledger", "transfer", [["to": "beta", "amount": .number(1e300)]], report: "transfer_huge"),
            Step.invoke("genesis_event_log", "read", [["limit": .number(9.3e18), "offset": .number(-1e300)]], report: "read_huge"),
            Step.call("noop", report: "after"),
        ]
        let w = try SandboxWorld(config: .test(agents: [.scripted("alpha", program), .scripted("beta")]))
        let s = startSupervisor(w)
        waitUntil("alpha's last step", timeout: 30) { !w.reports("after", by: "alpha").isEmpty }
        for topic in ["sleep_huge", "sleep_negative", "sleep_balance", "invoke_bounded", "transfer_huge", "read_huge"] {
            let reply = w.reports(topic, by: "alpha").first?.data["data"]?["reply"]
            XCTAssertEqual(reply?["error"]?["code"], "INVALID_ARGS", "\(topic): \(String(describing: reply))")
        }
        XCTAssertEqual(w.reports("write", by: "alpha").first?.data["data"]?["reply"]?["ok"], true)
        XCTAssertTrue(w.events("agent_crashed", principal: "alpha").isEmpty)
        XCTAssertEqual(w.scrip("beta"), 100)
        s.stop()
        w.assertInvariants()
    }

    /// The llm_budget wake-up compared `Int64(dollars × 1e6)`: for a budget near
    /// Int64.max micro-dollars the product rounds past 2^63 and the conversion trapped.
    /// It now compares the exact micro-dollars.
    func testLLMBudgetWakeComparesExactMicrodollars() throws {
        let sleep = try WakeCondition(params: JSONCodec.decode(#"{"balance": {"resource": "llm_budget", "gte": 9223372036854775807}}"#),
                                      nowMicros: 0, afterSeq: 0)
        let rich = Principal(id: "alpha", scrip: 0, llmBudget: .max, diskQuota: 0,
                             compute: TokenBucket(ratePerSecond: 0, capacity: 0, balance: 0, nowMicros: 0),
                             llmRate: TokenBucket(ratePerSecond: 0, capacity: 0, balance: 0, nowMicros: 0))
        XCTAssertTrue(sleep.balanceSatisfied(rich.json(now: 0)))
        var poorer = rich; poorer.llmBudget = .max - 1
        XCTAssertFalse(sleep.balanceSatisfied(poorer.json(now: 0)))
        for bad in [#"{"balance": {"resource": "llm_budget", "gte": 1e300}}"#, #"{"seconds": 1e300}"#, #"{"seconds": -1e-300}"#,
                    #"{"seconds": 3600.0000001}"#, #"{"balance": {"resource": "compute", "gte": -9223372036854775809}}"#] {
            XCTAssertThrowsError(try WakeCondition(params: JSONCodec.decode(bad), nowMicros: .max, afterSeq: 0), bad) { error in
                XCTAssertEqual((error as? KernelError)?.code, .invalidArgs, bad)
            }
        }
        // A valid sleep near the end of time saturates instead of overflowing.
        let late = try WakeCondition(params: JSONCodec.decode(#"{"seconds": 3600}"#), nowMicros: .max - 10, afterSeq: 0)
        XCTAssertEqual(late.deadlineMicros, .max)
    }
}
