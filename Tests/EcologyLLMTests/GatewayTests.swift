import EcologyTestSupport
import EcologyCore
@testable import EcologyLLM
import Foundation
import XCTest

/// The gateway against the fixture server over real HTTP on 127.0.0.1.
final class GatewayTests: XCTestCase {
    static let model = "test-model"
    /// $2 per million input tokens, $8 per million output tokens.
    static let price = ModelPrice(inputPerMillionMicrodollars: 2_000_000, outputPerMillionMicrodollars: 8_000_000)
    let roomyRate = BucketConfig(ratePerSecond: 1_000, capacity: 1_000_000, initial: 1_000_000)

    struct Fixture {
        let gateway: LLMGateway
        let accounting: InMemoryLLMAccounting
        let clock: VirtualClock
        let server: FakeOpenAIServer
    }

    func settings(_ server: FakeOpenAIServer, _ options: [String], timeout: Double = 10) -> LLMSettings {
        var s = LLMSettings()
        s.baseURL = server.baseURL(options)
        s.model = Self.model
        s.apiKeyEnv = "TEST_LLM_KEY"
        s.maxTokens = 100
        s.temperature = 0.5
        s.timeoutSeconds = timeout
        s.prices = [Self.model: Self.price]
        return s
    }

    func fixture(_ options: [String], budget: Int64 = 10_000, timeout: Double = 10,
                 capabilities: BackendCapabilities = .openAI,
                 systemRate: BucketConfig? = nil) throws -> Fixture {
        let server = try FakeOpenAIServer.get()
        let clock = VirtualClock()
        let s = settings(server, options, timeout: timeout)
        let provider = try OpenAICompatibleProvider(settings: s, capabilities: capabilities,
                                                    environment: ["TEST_LLM_KEY": "sekret"], clock: clock)
        let accounting = InMemoryLLMAccounting(clock: clock, systemRate: systemRate ?? roomyRate)
        accounting.open(principal: "alpha", budgetMicrodollars: budget, rate: roomyRate)
        let gateway = try LLMGateway(settings: s, provider: provider, accounting: accounting, clock: clock)
        return Fixture(gateway: gateway, accounting: accounting, clock: clock, server: server)
    }

    let hello = ChatRequest(messages: [.user("hello")])

    /// Estimate for `hello`: 3 (request) + 4 (message) + 2 ("hello").
    let helloPromptEstimate: Int64 = 9
    /// Worst case for `hello`: 9 × $2/M + 100 × $8/M, rounded up.
    let helloReservation: Int64 = 818

    func testReportedUsageIsChargedExactlyAndTheRequestIsWellFormed() throws {
        let tag = uniqueTag()
        let f = try fixture([tag, "usage=30,50"])
        var req = hello
        req.seed = 42
        let record = try f.gateway.complete(principal: "alpha", request: req).get()
        XCTAssertEqual(record.response.content, "echo: hello")
        XCTAssertEqual(record.finishReason, "stop")
        XCTAssertEqual(record.promptTokens, 30)
        XCTAssertEqual(record.completionTokens, 50)
        XCTAssertEqual(record.chargedMicrodollars, 30 * 2 + 50 * 8)
        XCTAssertEqual(record.reservedMicrodollars, helloReservation)
        XCTAssertEqual(record.reservedTokens, helloPromptEstimate + 100)
        XCTAssertFalse(record.estimated)
        XCTAssertEqual(record.principal, "alpha")
        XCTAssertEqual(record.model, Self.model)
        XCTAssertEqual(f.accounting.budget(of: "alpha"), 10_000 - 460)
        XCTAssertEqual(f.accounting.rateBalance(of: "alpha"), 1_000_000 - 80)
        XCTAssertEqual(f.accounting.systemRateBalance(), 1_000_000 - 80)
        XCTAssertEqual(record.json["charged_microdollars"], 460)

        let sent = try f.server.requests(tagged: tag)
        XCTAssertEqual(sent.count, 1)
        XCTAssertTrue(sent[0].path.hasSuffix("/v1/chat/completions"))
        XCTAssertEqual(sent[0].headers["authorization"], "Bearer sekret")
        XCTAssertEqual(sent[0].headers["content-type"], "application/json")
        XCTAssertEqual(sent[0].body["model"], .string(Self.model))
        XCTAssertEqual(sent[0].body["max_tokens"], 100)
        XCTAssertEqual(sent[0].body["temperature"]?.doubleValue, 0.5)
        XCTAssertEqual(sent[0].body["seed"], 42)
        XCTAssertEqual(sent[0].body["messages"], [["role": "user", "content": "hello"]])
        XCTAssertNil(sent[0].body["tools"])
    }

    func testMissingUsageIsEstimatedLocallyAndMarked() throws {
        let f = try fixture([uniqueTag(), "nousage=1", "reply=abcdefgh"])
        let record = try f.gateway.complete(principal: "alpha", request: hello).get()
        XCTAssertTrue(record.estimated)
        XCTAssertEqual(record.promptTokens, helloPromptEstimate)
        XCTAssertEqual(record.completionTokens, 2)
        XCTAssertEqual(record.chargedMicrodollars, 9 * 2 + 2 * 8)
        XCTAssertEqual(f.accounting.budget(of: "alpha"), 10_000 - 34)
        XCTAssertEqual(record.json["estimated"], true)
    }

    func testProvider429IsRateLimitedWithRetryAfterAndBacksOffTheWorld() throws {
        let tag = uniqueTag()
        let f = try fixture([tag, "status=429", "retry=7"])
        let error = try XCTUnwrap(f.gateway.complete(principal: "alpha", request: hello).failureValue)
        XCTAssertEqual(error.code, .rateLimited)
        XCTAssertEqual(error.retryAfter, 7)
        XCTAssertEqual(error.details?["limit"], "provider")
        XCTAssertEqual(error.details?["retry_after_source"], "header")
        XCTAssertEqual(error.details?["charged_microdollars"], 0)
        XCTAssertTrue(error.message.contains("429") && error.message.contains("retry after 7 s"), error.message)
        XCTAssertEqual(f.accounting.budget(of: "alpha"), 10_000, "a refused call costs nothing")
        XCTAssertEqual(f.accounting.rateBalance(of: "alpha"), 1_000_000)

        // Within the Retry-After window the gateway refuses without asking the provider.
        f.clock.advance(seconds: 3)
        let again = try XCTUnwrap(f.gateway.complete(principal: "alpha", request: hello).failureValue)
        XCTAssertEqual(again.code, .rateLimited)
        XCTAssertEqual(again.retryAfter, 4)
        XCTAssertEqual(try f.server.requests(tagged: tag).count, 1)

        f.clock.advance(seconds: 4)
        _ = f.gateway.complete(principal: "alpha", request: hello)
        XCTAssertEqual(try f.server.requests(tagged: tag).count, 2)
    }

    func testRetryAfterHeaderFormats() {
        XCTAssertEqual(OpenAIChatWire.retryAfterSeconds("12", nowSeconds: 0), 12)
        XCTAssertEqual(OpenAIChatWire.retryAfterSeconds(" 1.5 ", nowSeconds: 0), 1.5)
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example).
        XCTAssertEqual(OpenAIChatWire.retryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", nowSeconds: 784_111_767), 10)
        XCTAssertNil(OpenAIChatWire.retryAfterSeconds("soon", nowSeconds: 0))
    }

    func testToolCallsAreParsedAndToolsAreSentInFunctionCallingForm() throws {
        let tag = uniqueTag()
        let f = try fixture([tag, "tools=1"])
        let tool = ChatTool(name: "write_artifact", description: "Write an artifact",
                            parameters: ["type": "object", "properties": ["x": ["type": "integer"]]])
        let req = ChatRequest(messages: [.system("act"), .user("go")], tools: [tool], toolChoice: .required)
        let record = try f.gateway.complete(principal: "alpha", request: req).get()
        XCTAssertNil(record.response.content)
        XCTAssertEqual(record.finishReason, "tool_calls")
        XCTAssertEqual(record.response.toolCalls.count, 1)
        XCTAssertEqual(record.response.toolCalls[0].name, "write_artifact")
        XCTAssertEqual(record.response.toolCalls[0].parsedArguments, ["x": 1])
        XCTAssertEqual(record.toolNames, ["write_artifact"])

        let body = try XCTUnwrap(f.server.requests(tagged: tag).first?.body)
        XCTAssertEqual(body["tools"], [tool.json])
        XCTAssertEqual(body["tools"]?.arrayValue?.first?["function"]?["name"], "write_artifact")
        XCTAssertEqual(body["tool_choice"], "required")

        // The conversation goes on with the tool's answer.
        let follow = ChatRequest(messages: [.system("act"), .user("go"), record.response,
                                            .tool(callID: record.response.toolCalls[0].id, "done")], tools: [tool])
        XCTAssertEqual(try f.gateway.complete(principal: "alpha", request: follow).get().response.toolCalls.count, 1)
        let second = try XCTUnwrap(f.server.requests(tagged: tag).last?.body)
        XCTAssertEqual(second["messages"]?.arrayValue?[2]["tool_calls"]?.arrayValue?.first?["id"],
                       .string(record.response.toolCalls[0].id))
        XCTAssertEqual(second["messages"]?.arrayValue?[3]["tool_call_id"], .string(record.response.toolCalls[0].id))
    }

    func testBackendWithoutToolChoiceGetsNone() throws {
        let tag = uniqueTag()
        let f = try fixture([tag, "tools=1"], capabilities: .ollama)
        let req = ChatRequest(messages: [.user("go")], tools: [ChatTool(name: "t", description: "")], toolChoice: .required)
        _ = try f.gateway.complete(principal: "alpha", request: req).get()
        let body = try XCTUnwrap(f.server.requests(tagged: tag).first?.body)
        XCTAssertNotNil(body["tools"])
        XCTAssertNil(body["tool_choice"])
    }

    func testToolsAreRefusedWhenTheBackendHasNoFunctionCalling() throws {
        let caps = BackendCapabilities(structuredOutput: .jsonSchema, supportsTools: false, supportsToolChoice: false, supportsSeed: true)
        let f = try fixture([uniqueTag()], capabilities: caps)
        let req = ChatRequest(messages: [.user("go")], tools: [ChatTool(name: "t", description: "")])
        let error = try XCTUnwrap(f.gateway.complete(principal: "alpha", request: req).failureValue)
        XCTAssertEqual(error.code, .invalidArgs)
        XCTAssertTrue(error.message.contains("JSON schema"))
        XCTAssertEqual(f.accounting.budget(of: "alpha"), 10_000)
    }

    func testSlowProviderTimesOutAndChargesTheReservation() throws {
        let f = try fixture([uniqueTag(), "delay=3"], timeout: 0.5)
        let started = Date()
        let error = try XCTUnwrap(f.gateway.complete(principal: "alpha", request: hello).failureValue)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertLessThan(elapsed, 2.9, "the gateway gave up before the server answered")
        XCTAssertGreaterThanOrEqual(elapsed, 0.45, "the gateway waited for its timeout")
        XCTAssertEqual(error.code, .timeout)
        XCTAssertEqual(error.details?["charged_microdollars"], .int(helloReservation))
        XCTAssertEqual(error.details?["charged_tokens"], .int(helloPromptEstimate + 100))
        XCTAssertEqual(error.details?["estimated"], true)
        XCTAssertEqual(f.accounting.budget(of: "alpha"), 10_000 - helloReservation)
    }

    func testMalformedProviderJSONIsAClearExecutionError() throws {
        for (option, words) in [("malformed=1", "no choices array"), ("notjson=1", "not JSON")] {
            let f = try fixture([uniqueTag(), option])
            let error = try XCTUnwrap(f.gateway.complete(principal: "alpha", request: hello).failureValue)
            XCTAssertEqual(error.code, .executionError, option)
            XCTAssertTrue(error.message.contains("malformed LLM provider response"), error.message)
            XCTAssertTrue(error.message.contains(words), error.message)
            XCTAssertEqual(error.details?["provider_error"], "malformed_response")
            XCTAssertEqual(f.accounting.budget(of: "alpha"), 10_000 - helloReservation,
                           "a 2xx we cannot read may have been billed: the reservation is charged")
        }
    }

    func testErrorStatusesMapToCodesAndCostNothing() throws {
        for (status, code) in [(503, ErrorCode.executionError), (500, .executionError), (400, .invalidArgs),
                               (401, .internal), (404, .internal)] {
            let f = try fixture([uniqueTag(), "status=\(status)"])
            let error = try XCTUnwrap(f.gateway.complete(principal: "alpha", request: hello).failureValue)
            XCTAssertEqual(error.code, code, "HTTP \(status)")
            XCTAssertTrue(error.message.contains("HTTP \(status)"), error.message)
            XCTAssertEqual(error.details?["http_status"], .int(Int64(status)))
            XCTAssertEqual(f.accounting.budget(of: "alpha"), 10_000)
        }
    }

    func testUnreachableProviderIsAnExecutionErrorAndCostsNothing() throws {
        var s = LLMSettings()
        s.baseURL = "http://127.0.0.1:1/v1"
        s.model = Self.model
        s.prices = [Self.model: Self.price]
        s.maxTokens = 100
        let clock = VirtualClock()
        let accounting = InMemoryLLMAccounting(clock: clock, systemRate: roomyRate)
        accounting.open(principal: "alpha", budgetMicrodollars: 10_000, rate: roomyRate)
        let gateway = try LLMGateway(settings: s, provider: try OpenAICompatibleProvider(settings: s, clock: clock),
                                     accounting: accounting, clock: clock)
        let error = try XCTUnwrap(gateway.complete(principal: "alpha", request: hello).failureValue)
        XCTAssertEqual(error.code, .executionError)
        XCTAssertTrue(error.message.contains("unreachable"), error.message)
        XCTAssertEqual(accounting.budget(of: "alpha"), 10_000)
        XCTAssertEqual(accounting.openReservationCount, 0)
    }

    func testUnpricedModelIsAConfigurationErrorAtConstructionAndAtCallTime() throws {
        let server = try FakeOpenAIServer.get()
        let tag = uniqueTag()
        var s = settings(server, [tag])
        let clock = VirtualClock()
        let accounting = InMemoryLLMAccounting(clock: clock, systemRate: roomyRate)
        accounting.open(principal: "alpha", budgetMicrodollars: 10_000, rate: roomyRate)
        let provider = try OpenAICompatibleProvider(settings: s, clock: clock)

        s.model = "unpriced"
        XCTAssertThrowsError(try LLMGateway(settings: s, provider: provider, accounting: accounting, clock: clock)) {
            XCTAssertEqual(($0 as? KernelError)?.code, .internal)
            XCTAssertTrue(($0 as? KernelError)?.message.contains("\"unpriced\" has no price") == true)
        }

        s.model = Self.model
        let gateway = try LLMGateway(settings: s, provider: provider, accounting: accounting, clock: clock)
        var req = hello
        req.model = "unpriced"
        let error = try XCTUnwrap(gateway.complete(principal: "alpha", request: req).failureValue)
        XCTAssertEqual(error.code, .internal)
        XCTAssertTrue(error.message.contains("configuration error"))
        XCTAssertEqual(accounting.budget(of: "alpha"), 10_000)
        XCTAssertEqual(try server.requests(tagged: tag).count, 0, "nothing was sent")
    }

    func testBudgetAndRateErrorsComeFromTheReservationBeforeAnythingIsSent() throws {
        let tag = uniqueTag()
        let f = try fixture([tag], budget: helloReservation - 1)
        let error = try XCTUnwrap(f.gateway.complete(principal: "alpha", request: hello).failureValue)
        XCTAssertEqual(error.code, .budgetExhausted)
        XCTAssertEqual(try f.server.requests(tagged: tag).count, 0)
        // A smaller max_tokens reserves less and fits.
        var small = hello
        small.maxTokens = 10
        XCTAssertNoThrow(try f.gateway.complete(principal: "alpha", request: small).get())

        let g = try fixture([uniqueTag()], systemRate: BucketConfig(ratePerSecond: 1, capacity: 110, initial: 110))
        g.accounting.open(principal: "beta", budgetMicrodollars: 10_000, rate: roomyRate)
        _ = try g.gateway.complete(principal: "alpha", request: hello).get()
        let limited = try XCTUnwrap(g.gateway.complete(principal: "beta", request: hello).failureValue)
        XCTAssertEqual(limited.code, .rateLimited)
        XCTAssertEqual(limited.details?["limit"], "system_rate")
        XCTAssertEqual(limited.retryAfter, 4, "105 tokens left of 109 needed, at 1 token/s")
    }

    func testValidationRejectsBadRequests() throws {
        let f = try fixture([uniqueTag()])
        func code(_ r: ChatRequest) -> ErrorCode? { f.gateway.complete(principal: "alpha", request: r).failureValue?.code }
        XCTAssertEqual(code(ChatRequest(messages: [])), .invalidArgs)
        XCTAssertEqual(code(ChatRequest(messages: [.user("x")], maxTokens: 101)), .invalidArgs)
        XCTAssertEqual(code(ChatRequest(messages: [.user("x")], maxTokens: 0)), .invalidArgs)
        XCTAssertEqual(code(ChatRequest(messages: [.user("x")], temperature: 3)), .invalidArgs)
        XCTAssertEqual(code(ChatRequest(messages: [ChatMessage(role: .tool, content: "x")])), .invalidArgs)
        XCTAssertEqual(code(ChatRequest(messages: [.user("x")], tools: [ChatTool(name: "bad name", description: "")])), .invalidArgs)
        XCTAssertEqual(code(ChatRequest(messages: [.user("x")], tools: [ChatTool(name: "t", description: "")],
                                        toolChoice: .function("other"))), .invalidArgs)
        XCTAssertEqual(f.accounting.budget(of: "alpha"), 10_000)
    }

    /// Many agent threads call at once on a budget that runs out: the sum of charges
    /// equals what left the budget, and the budget never goes negative.
    func testConcurrentCallsNeverOverspendTheBudget() throws {
        let initial: Int64 = 5_000
        let f = try fixture([uniqueTag(), "delay=0.2"], budget: initial)
        let tally = Tally()
        onThreads(32) { i in
            let result = f.gateway.complete(principal: "alpha", request: ChatRequest(messages: [.user("call \(i)")]))
            tally.add(result)
        }
        let (charged, succeeded, exhausted, other) = tally.totals
        XCTAssertEqual(other, [])
        let final = try XCTUnwrap(f.accounting.budget(of: "alpha"))
        XCTAssertGreaterThanOrEqual(final, 0)
        XCTAssertEqual(initial - final, charged)
        XCTAssertGreaterThan(succeeded, 0)
        XCTAssertGreaterThan(exhausted, 0, "reservations, not actual costs, gate admission")
        XCTAssertEqual(f.accounting.openReservationCount, 0)
    }

    func testAsyncCallerGetsTheSameResult() async throws {
        let f = try fixture([uniqueTag(), "usage=1,1"])
        let result: Result<LLMCallRecord, KernelError> = await f.gateway.complete(principal: "alpha", request: hello)
        XCTAssertEqual(try result.get().chargedMicrodollars, 10)
    }

    func testStructuredOutputIsAdaptedToTheBackend() {
        let schema: JSONValue = ["type": "object", "properties": ["a": ["type": "integer"]]]
        let req = ProviderRequest(model: "m", messages: [.system("be brief"), .user("q")],
                                  responseFormat: .jsonSchema(name: "answer", schema: schema, strict: true),
                                  maxTokens: 5, temperature: 0, seed: 1)
        let native = OpenAIChatWire.body(for: req, capabilities: .openAI)
        XCTAssertEqual(native["response_format"]?["type"], "json_schema")
        XCTAssertEqual(native["response_format"]?["json_schema"]?["schema"], schema)
        XCTAssertEqual(native["messages"], .array(req.messages.map(\.json)))

        var objectOnly = BackendCapabilities.openAI
        objectOnly.structuredOutput = .jsonObject
        let fallback = OpenAIChatWire.body(for: req, capabilities: objectOnly)
        XCTAssertEqual(fallback["response_format"], ["type": "json_object"])
        let system = fallback["messages"]?.arrayValue?.first?["content"]?.stringValue ?? ""
        XCTAssertTrue(system.hasPrefix("be brief") && system.contains(JSONCodec.string(schema)), system)

        var none = BackendCapabilities.openAI
        none.structuredOutput = .promptOnly
        none.supportsSeed = false
        let prompt = OpenAIChatWire.body(for: ProviderRequest(model: "m", messages: [.user("q")], responseFormat: .jsonObject,
                                                               maxTokens: 5, temperature: 0, seed: 1), capabilities: none)
        XCTAssertNil(prompt["response_format"])
        XCTAssertNil(prompt["seed"])
        XCTAssertEqual(prompt["messages"]?.arrayValue?.first?["role"], "system")
        XCTAssertEqual(prompt["messages"]?.arrayValue?.count, 2)
    }

    func testCapabilitiesFromSettings() throws {
        var s = LLMSettings()
        XCTAssertTrue(try BackendCapabilities.from(settings: s).supportsTools)
        s.structuredOutput = "json_object"
        XCTAssertEqual(try BackendCapabilities.from(settings: s).structuredOutput, .jsonObject)
        XCTAssertFalse(try BackendCapabilities.from(settings: s).supportsTools)
        s.structuredOutput = "xml"
        XCTAssertThrowsError(try BackendCapabilities.from(settings: s))
        XCTAssertEqual(BackendCapabilities.preset(named: "Ollama"), .ollama)
    }
}

/// Runs `body` on `count` dedicated threads at once (not the CPU-sized Dispatch pool,
/// so that blocking calls really overlap) and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        let thread = Thread { body(i); group.leave() }
        thread.start()
    }
    group.wait()
}

/// Sums the outcomes of concurrent calls.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var charged: Int64 = 0, succeeded = 0, exhausted = 0, other: [KernelError] = []

    func add(_ result: Result<LLMCallRecord, KernelError>) {
        lock.lock(); defer { lock.unlock() }
        switch result {
        case .success(let r): charged += r.chargedMicrodollars; succeeded += 1
        case .failure(let e) where e.code == .budgetExhausted: exhausted += 1
        case .failure(let e): other.append(e)
        }
    }

    var totals: (charged: Int64, succeeded: Int, exhausted: Int, other: [KernelError]) {
        lock.lock(); defer { lock.unlock() }
        return (charged, succeeded, exhausted, other)
    }
}

extension Result {
    var failureValue: Failure? { if case .failure(let e) = self { return e } else { return nil } }
}
