import EcologyTestSupport
import EcologyCore
@testable import EcologyKernel
import EcologyLLM
@testable import EcologySupervisor
import Foundation
import XCTest

/// The LLM gateway charging the world ledger (`WorldLLMAccounting`), against the fake
/// OpenAI-compatible server, from the supervisor's `llm` action and from real agents.
final class LLMAccountingTests: XCTestCase {
    static let model = "fake-model"

    /// One micro-dollar per token in and out, so costs are token counts.
    static func config(baseURL: String, agents: [AgentSpec] = [.scripted("alpha"), .scripted("beta")]) -> WorldConfig {
        var c = WorldConfig.test(agents: agents)
        c.llm.baseURL = baseURL
        c.llm.model = model
        c.llm.prices = [model: ModelPrice(inputPerMillionMicrodollars: 1_000_000, outputPerMillionMicrodollars: 1_000_000)]
        c.llm.maxTokens = 20
        c.llm.timeoutSeconds = 10
        return c
    }

    static let hello: JSONValue = ["messages": [["role": "user", "content": "hi"]]]

    private func server() throws -> FakeOpenAIServer {
        do { return try FakeOpenAIServer.get() } catch {
            XCTFail("the fake OpenAI server (python3) did not start: \(error)")
            throw error
        }
    }

    func testConcurrentCallsNeverOverspendTheBudget() throws {
        // Each call reserves 8 prompt (estimate) + 20 completion = 28 µ$ and costs 5 + 15 = 20 µ$.
        var c = Self.config(baseURL: try server().baseURL(["usage=5,15"]))
        c.resources.llmBudgetMicrodollars = 1_000
        let w = try SandboxWorld(config: c)
        let supervisor = Supervisor(kernel: w.kernel, executor: w.executor, gateway: try Supervisor.makeGateway(kernel: w.kernel))
        let budget: @Sendable () -> Int64 = { Int64(((w.balance("alpha")["llm_budget"]?.doubleValue ?? -1) * 1_000_000).rounded()) }
        XCTAssertEqual(budget(), 1_000)

        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var ok = 0, exhausted = 0, other: [String] = [], charged: Int64 = 0, lowest = Int64.max
            func with(_ body: (Tally) -> Void) { lock.lock(); body(self); lock.unlock() }
        }
        let tally = Tally()
        let done = ManagedAtomicFlag()
        let watcherEnded = DispatchSemaphore(value: 0)
        let watcher = Thread {
            while !done.isSet { let b = budget(); tally.with { $0.lowest = min($0.lowest, b) }; Thread.sleep(forTimeInterval: 0.002) }
            watcherEnded.signal()
        }
        watcher.start()
        DispatchQueue.concurrentPerform(iterations: 80) { _ in
            let r = supervisor.llm("alpha", Self.hello)
            tally.with { t in
                switch r {
                case .ok(let v): t.ok += 1; t.charged += v["cost_microdollars"]?.intValue ?? 0
                case .failure(let e) where e.code == .budgetExhausted: t.exhausted += 1
                case .failure(let e): t.other.append("\(e)")
                }
            }
        }
        done.set()
        watcherEnded.wait()
        var seen: (ok: Int, exhausted: Int, other: [String], charged: Int64, lowest: Int64) = (0, 0, [], 0, 0)
        tally.with { seen = ($0.ok, $0.exhausted, $0.other, $0.charged, $0.lowest) }
        let (ok, exhausted, other, charged, lowest) = seen

        XCTAssertEqual(other, [], "only budget refusals are expected")
        XCTAssertGreaterThan(exhausted, 0, "80 calls of 20 µ$ cannot all fit in 1000 µ$")
        XCTAssertEqual(charged, Int64(ok) * 20)
        XCTAssertLessThanOrEqual(charged, 1_000, "never more than the budget")
        XCTAssertEqual(budget(), 1_000 - charged, "the ledger holds exactly what was not charged")
        XCTAssertLessThan(budget(), 28, "calls were refused only when the budget could not cover a reservation")
        XCTAssertGreaterThanOrEqual(lowest, 0, "the budget never went negative, even between reserve and settle")
        let events = w.events("llm_call", principal: "alpha")
        XCTAssertEqual(events.count, ok)
        XCTAssertEqual(events.compactMap { $0.data["charged_microdollars"]?.intValue }.reduce(0, +), charged)
        XCTAssertEqual(w.balance("beta")["llm_budget"]?.doubleValue, 0.001, "beta's budget was not touched")

        // Spent means spent: refused without reaching the provider, at no charge.
        let refused = supervisor.llm("alpha", Self.hello)
        XCTAssertEqual(refused.error?.code, .budgetExhausted)
        XCTAssertEqual(budget(), 1_000 - charged)
        w.assertInvariants()
    }

    func testAgentRateBucketLimitsCalls() throws {
        var c = Self.config(baseURL: try server().baseURL(["usage=5,15"]))
        // 100 tokens, refilling 1 per second: five calls of 20 tokens, then the bucket is short.
        c.resources.llmRate = BucketConfig(ratePerSecond: 1, capacity: 100, initial: 100)
        let w = try SandboxWorld(config: c)
        let supervisor = Supervisor(kernel: w.kernel, executor: w.executor, gateway: try Supervisor.makeGateway(kernel: w.kernel))
        var results: [Envelope] = []
        for _ in 0..<6 { results.append(supervisor.llm("alpha", Self.hello)) }
        XCTAssertEqual(results.prefix(4).filter { $0.error == nil }.count, 4, "\(results)")
        let limited = try XCTUnwrap(results.first { $0.error != nil }?.error)
        XCTAssertEqual(limited.code, .rateLimited)
        XCTAssertEqual(limited.details?["limit"]?.stringValue, "agent_rate", "the agent's own bucket, not the system's")
        XCTAssertNotNil(limited.retryAfter, "it refills, so waiting helps")
        let okCalls = results.filter { $0.error == nil }.count
        XCTAssertEqual(w.events("llm_call", principal: "alpha").count, okCalls, "refused calls are not charged or logged as calls")
        XCTAssertEqual(try XCTUnwrapOK(supervisor.llm("beta", Self.hello))["cost_microdollars"]?.intValue, 20,
                       "another agent's bucket is its own")
        w.assertInvariants()
    }

    func testLLMMindAgentCallsTheModelThroughTheGateway() throws {
        // tools=1: the fake model always calls the first tool offered.
        let c = Self.config(baseURL: try server().baseURL(["tools=1"]), agents: [AgentSpec(id: "alpha", mind: "llm", prompt: "You test.")])
        var config = c
        config.llm.maxTokens = 256
        let w = try SandboxWorld(config: config)
        let s = startSupervisor(w, entry: "agent_main.py", gateway: try Supervisor.makeGateway(kernel: w.kernel))
        waitUntil("two llm calls by the llm mind", timeout: 15) { w.events("llm_call", principal: "alpha").count >= 2 }
        s.stop()
        let calls = w.events("llm_call", principal: "alpha")
        XCTAssertTrue(calls.allSatisfy { $0.data["model"]?.stringValue == Self.model && $0.data["error"] == nil }, "\(calls.map(\.data))")
        let charged = calls.compactMap { $0.data["charged_microdollars"]?.intValue }.reduce(0, +)
        XCTAssertGreaterThan(charged, 0)
        let left = Int64(((w.balance("alpha")["llm_budget"]?.doubleValue ?? 0) * 1_000_000).rounded())
        XCTAssertEqual(left, c.resources.llmBudgetMicrodollars - charged, "every call was charged to alpha's llm_budget")
        XCTAssertFalse(try w.kernel.traces(agent: "alpha", limit: 50).isEmpty, "the mind traces its decisions")
        XCTAssertTrue(w.events("agent_crashed").isEmpty)
        w.assertInvariants()
    }

    /// Record a run against the fake server, replay it offline in a fresh world with the
    /// same seed: the agent sees the same answers, so it makes the same calls and the
    /// world records the same llm_call / custom events with the same charges.
    ///
    /// The agent is the scripted test agent, not the `llm` mind: the mind's prompt carries
    /// the world clock, balances that depend on measured CPU, and recent events that
    /// depend on thread scheduling, so its requests (the cassette's keys) differ from one
    /// run to the next and a replay would miss. What is deterministic — and what we
    /// assert — is the agent-side sequence: given the same start frame and the same
    /// answers, an agent makes the same kernel calls in the same order.
    func testReplayedRunMakesTheSameCallsAsTheRecordedOne() throws {
        let cassette = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-cassette-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: cassette) }
        var program: [JSONValue] = []
        for i in 0..<4 {
            program.append(Step.call("llm", ["messages": [["role": "user", "content": .string("step \(i)")]]], report: "llm"))
            program.append(Step.invoke("genesis_ledger", "balance", [], report: "balance"))
        }
        func run(_ mode: LLMProviderMode, baseURL: String) throws -> (events: [[String]], reports: [JSONValue]) {
            let w = try SandboxWorld(config: Self.config(baseURL: baseURL, agents: [.scripted("alpha", program)]))
            let s = startSupervisor(w, gateway: try Supervisor.makeGateway(kernel: w.kernel, mode: mode), seed: 7)
            waitUntil("the program to finish", timeout: 15) { w.reports("balance", by: "alpha").count == 4 }
            s.stop()
            w.assertInvariants()
            let mine = w.events(principal: "alpha").filter { ["llm_call", "custom"].contains($0.type) }
            let described = mine.map { e -> [String] in
                [e.type, e.principal ?? "", e.data["topic"]?.stringValue ?? "", String(e.data["charged_microdollars"]?.intValue ?? -1),
                 String(e.data["prompt_tokens"]?.intValue ?? -1), String(e.data["completion_tokens"]?.intValue ?? -1)]
            }
            let answers = w.reports("llm", by: "alpha").map { $0.data["data"]?["reply"]?["result"]?["message"] ?? .null }
            return (described, answers)
        }
        let recorded = try run(.record(cassette: cassette), baseURL: try server().baseURL())
        // Nothing listens on port 9: a replay that touched the network would fail.
        let replayed = try run(.replay(cassette: cassette), baseURL: "http://127.0.0.1:9/v1")
        XCTAssertEqual(recorded.events.count, 12, "4 llm_call + 8 reports")
        XCTAssertEqual(replayed.events, recorded.events)
        XCTAssertEqual(replayed.reports, recorded.reports)
        XCTAssertEqual(recorded.reports.first?["content"]?.stringValue, "echo: step 0")
    }
}

/// A flag set once, read from any thread.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}
