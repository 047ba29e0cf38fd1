import EcologyTestSupport
import EcologyCore
@testable import EcologyKernel
import EcologyLLM
@testable import EcologySupervisor
import Foundation
import XCTest

/// The LLM provider failing in every way the fake server can: timing out, 429 with and
/// without Retry-After, 500, malformed and non-JSON bodies, a body cut off halfway, a body
/// that never ends. Through the supervisor's `llm` action on the world ledger
/// (`WorldLLMAccounting`): each is a clear error to the agent, every reservation is
/// settled (none stays open), the llm_budget and the agent's and the system's rate
/// buckets hold exactly what docs/LLM.md says (all back for an error status; the whole
/// reservation for a call the provider may have billed), the ledger invariants hold,
/// and the next call goes through. (`GatewayTests` covers the same modes on the in-memory
/// accounting; this is the real ledger.)
final class ProviderFaultTests: XCTestCase {
    /// "hi" is estimated at 8 prompt tokens; max_tokens 20: the reservation is 28 µ$ and 28 tokens.
    static let reservation: Int64 = 28

    struct Fixture: Sendable {
        let world: SandboxWorld
        let supervisor: Supervisor
        let accounting: WorldLLMAccounting
    }

    private func fixture(_ options: [String], timeout: Double = 10) throws -> Fixture {
        let server: FakeOpenAIServer
        do { server = try FakeOpenAIServer.get() } catch {
            XCTFail("the fake OpenAI server (python3) did not start: \(error)"); throw error
        }
        var c = LLMAccountingTests.config(baseURL: server.baseURL([uniqueTag()] + options))
        c.llm.timeoutSeconds = timeout
        c.resources.llmBudgetMicrodollars = 10_000
        // No refill, so every token taken or given back shows in the balances.
        c.resources.llmRate = BucketConfig(ratePerSecond: 0, capacity: 20_000, initial: 20_000)
        c.resources.systemLLMRate = BucketConfig(ratePerSecond: 0, capacity: 100_000, initial: 100_000)
        let w = try SandboxWorld(config: c)
        let accounting = WorldLLMAccounting(kernel: w.kernel)
        let settings = w.kernel.config.llm
        let gateway = try LLMGateway(settings: settings, provider: try OpenAICompatibleProvider(settings: settings, clock: w.kernel.clock),
                                     accounting: accounting, clock: w.kernel.clock)
        let supervisor = Supervisor(kernel: w.kernel, executor: w.executor, gateway: gateway)
        return Fixture(world: w, supervisor: supervisor, accounting: accounting)
    }

    private func budget(_ w: SandboxWorld, _ id: String = "alpha") -> Int64 {
        Int64(((w.balance(id)["llm_budget"]?.doubleValue ?? -1) * 1_000_000).rounded())
    }

    private func rate(_ w: SandboxWorld, _ id: String = "alpha") throws -> Int64 {
        try w.kernel.readOnly { db in try Principal.require(db, id).llmRate.balance(atMicros: w.kernel.clock.nowMicros()) }
    }

    /// One failing call: its error, then the ledger checks common to every mode.
    private func failingCall(_ f: Fixture, charged: Bool, file: StaticString = #filePath, line: UInt = #line) throws -> KernelError {
        let w = f.world
        let (budgetBefore, rateBefore, systemBefore) = (budget(w), try rate(w), f.accounting.systemBalance)
        let error = try XCTUnwrap(f.supervisor.llm("alpha", LLMAccountingTests.hello).error, "the call failed", file: file, line: line)
        XCTAssertEqual(f.accounting.openReservationCount, 0, "the reservation was settled: \(error)", file: file, line: line)
        let cost: Int64 = charged ? Self.reservation : 0
        XCTAssertEqual(error.details?["charged_microdollars"]?.intValue ?? 0, cost, "\(error)", file: file, line: line)
        XCTAssertEqual(budget(w), budgetBefore - cost, "llm_budget: \(error)", file: file, line: line)
        XCTAssertEqual(try rate(w), rateBefore - cost, "the agent's llm_rate bucket: \(error)", file: file, line: line)
        XCTAssertEqual(f.accounting.systemBalance, systemBefore - cost, "the system's llm_rate bucket: \(error)", file: file, line: line)
        XCTAssertEqual(budget(w, "beta"), 10_000, "nobody else pays", file: file, line: line)
        let events = w.events("llm_call", principal: "alpha")
        if charged {
            XCTAssertEqual(events.last?.data["charged_microdollars"]?.intValue, cost, "a charged failure is in the event log", file: file, line: line)
            XCTAssertEqual(events.last?.data["error"]?.stringValue, error.code.rawValue, file: file, line: line)
        } else {
            XCTAssertTrue(events.isEmpty, "an uncharged failure is no llm_call: \(events.map(\.data))", file: file, line: line)
        }
        let traces = try w.kernel.traces(agent: "alpha", limit: 10)
        XCTAssertTrue(traces.contains { $0["kind"]?.stringValue == "llm_error" }, "the agent's trace shows the error", file: file, line: line)
        w.assertInvariants("after \(error.code.rawValue)", file: file, line: line)
        return error
    }

    func testProviderTimeoutChargesTheReservationAndIsATimeout() throws {
        let f = try fixture(["delay=5"], timeout: 0.5)
        let error = try failingCall(f, charged: true)
        XCTAssertEqual(error.code, .timeout)
        XCTAssertTrue(error.message.contains("timed out"), error.message)
    }

    func testBodyThatNeverEndsTimesOut() throws {
        let f = try fixture(["endless=1"], timeout: 0.8)
        let started = Date()
        let error = try failingCall(f, charged: true)
        XCTAssertEqual(error.code, .timeout, "\(error)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the gateway gave up at its deadline, not the body's end")
    }

    func testTruncatedBodyIsAnExecutionErrorAndChargesTheReservation() throws {
        let f = try fixture(["truncate=1"])
        let error = try failingCall(f, charged: true)
        XCTAssertEqual(error.code, .executionError, "\(error)")
        XCTAssertTrue(error.message.contains("reservation was charged") || error.message.contains("malformed"), error.message)
    }

    func testMalformedAndNonJSONBodiesAreExecutionErrors() throws {
        for option in ["malformed=1", "notjson=1"] {
            let f = try fixture([option])
            let error = try failingCall(f, charged: true)
            XCTAssertEqual(error.code, .executionError, option)
            XCTAssertTrue(error.message.contains("malformed LLM provider response"), error.message)
        }
    }

    func testServerErrorCostsNothingAndTheNextCallWorks() throws {
        let f = try fixture(["status=500"])
        let error = try failingCall(f, charged: false)
        XCTAssertEqual(error.code, .executionError)
        XCTAssertTrue(error.message.contains("HTTP 500"), error.message)
        // Same world, same gateway, a provider that answers: the supervisor serves on.
        let server = try FakeOpenAIServer.get()
        let ok = try fixtureSharing(f, baseURL: server.baseURL([uniqueTag(), "usage=5,15"]))
        XCTAssertEqual(try XCTUnwrapOK(ok.supervisor.llm("alpha", LLMAccountingTests.hello))["cost_microdollars"]?.intValue, 20)
        XCTAssertEqual(budget(f.world), 10_000 - 20)
        f.world.assertInvariants()
    }

    func test429WithRetryAfterIsRateLimitedAndCostsNothing() throws {
        let f = try fixture(["status=429", "retry=2"])
        let error = try failingCall(f, charged: false)
        XCTAssertEqual(error.code, .rateLimited)
        XCTAssertEqual(error.retryAfter, 2)
        XCTAssertEqual(error.details?["retry_after_source"], "header")
        // Within the window the gateway refuses locally: nothing reserved, nothing sent.
        let again = try failingCall(f, charged: false)
        XCTAssertEqual(again.code, .rateLimited)
        XCTAssertLessThanOrEqual(try XCTUnwrap(again.retryAfter), 2)
    }

    func test429WithoutRetryAfterBacksOffOneSecond() throws {
        let f = try fixture(["status=429"])
        let error = try failingCall(f, charged: false)
        XCTAssertEqual(error.code, .rateLimited)
        XCTAssertEqual(error.retryAfter, 1, "no Retry-After header: the documented 1 s")
        XCTAssertEqual(error.details?["retry_after_source"], "default")
    }

    /// The ledger refuses the settlement's write (another process holds SQLite's write
    /// lock past the busy timeout while the provider answers): the call fails with a clear
    /// error, the reservation stays taken, and the settlement is written, to the real
    /// use, by the next call once the ledger accepts writes again.
    func testSettlementTheLedgerRefusesIsWrittenLater() throws {
        let f = try fixture(["delay=1", "usage=5,15"], timeout: 30)
        let w = f.world
        let before = budget(w)
        let call = DispatchQueue(label: "llm-call")
        nonisolated(unsafe) var first: Envelope?
        let done = DispatchSemaphore(value: 0)
        call.async { first = f.supervisor.llm("alpha", LLMAccountingTests.hello); done.signal() }
        waitUntil("the reservation", timeout: 5) { budget(w) == before - Self.reservation }

        // Another process takes the write lock while the provider is still answering.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["sqlite3", w.database.path]
        let input = Pipe()
        holder.standardInput = input
        holder.standardOutput = FileHandle.nullDevice
        try holder.run()
        input.fileHandleForWriting.write(Data("BEGIN IMMEDIATE;\nSELECT 1;\n".utf8))
        defer { if holder.isRunning { holder.terminate() } }

        // The settlement waits out the busy timeout (10 s) and is kept for later; then the lock goes.
        waitUntil("the settlement refused", timeout: 30) { f.accounting.pendingSettlementCount == 1 }
        input.fileHandleForWriting.write(Data("COMMIT;\n.quit\n".utf8))
        holder.waitUntilExit()
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        let error = try XCTUnwrap(first?.error, "\(String(describing: first))")
        XCTAssertEqual(error.code, .internal)
        XCTAssertTrue(error.message.contains("settlement will be written"), error.message)
        XCTAssertEqual(f.accounting.pendingSettlementCount, 1)
        XCTAssertEqual(budget(w), before - Self.reservation, "the reservation is held until its settlement is written")

        // The next call writes the pending settlement first.
        XCTAssertEqual(try XCTUnwrapOK(f.supervisor.llm("alpha", LLMAccountingTests.hello))["cost_microdollars"]?.intValue, 20)
        XCTAssertEqual(f.accounting.pendingSettlementCount, 0)
        XCTAssertEqual(budget(w), before - 20 - 20, "both calls settled to their real use (5 + 15 tokens at 1 µ$ each)")
        XCTAssertEqual(f.accounting.openReservationCount, 0)
        w.assertInvariants()
    }

    /// A second gateway on the same world, ledger and supervisor kind, at another URL.
    private func fixtureSharing(_ f: Fixture, baseURL: String) throws -> Fixture {
        var settings = f.world.kernel.config.llm
        settings.baseURL = baseURL
        let gateway = try LLMGateway(settings: settings, provider: try OpenAICompatibleProvider(settings: settings, clock: f.world.kernel.clock),
                                     accounting: f.accounting, clock: f.world.kernel.clock)
        return Fixture(world: f.world, supervisor: Supervisor(kernel: f.world.kernel, executor: f.world.executor, gateway: gateway),
                       accounting: f.accounting)
    }
}
