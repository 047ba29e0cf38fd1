import EcologyTestSupport
import EcologyCore
@testable import EcologyLLM
import Foundation
import XCTest

final class ReplayTests: XCTestCase {
    let price = ModelPrice(inputPerMillionMicrodollars: 2_000_000, outputPerMillionMicrodollars: 8_000_000)
    let rate = BucketConfig(ratePerSecond: 1_000, capacity: 1_000_000, initial: 1_000_000)

    var cassette: URL!

    override func setUpWithError() throws {
        cassette = FileManager.default.temporaryDirectory
            .appendingPathComponent("ecology-llm-\(UUID().uuidString).jsonl")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: cassette)
    }

    func settings(_ baseURL: String) -> LLMSettings {
        var s = LLMSettings()
        s.baseURL = baseURL
        s.model = "test-model"
        s.maxTokens = 64
        s.prices = ["test-model": price]
        return s
    }

    func gateway(_ provider: LLMProvider, _ s: LLMSettings) throws -> (LLMGateway, InMemoryLLMAccounting) {
        let clock = VirtualClock()
        let accounting = InMemoryLLMAccounting(clock: clock, systemRate: rate)
        accounting.open(principal: "alpha", budgetMicrodollars: 100_000, rate: rate)
        return (try LLMGateway(settings: s, provider: provider, accounting: accounting, clock: clock), accounting)
    }

    /// A session of calls: distinct prompts, a repeated identical prompt, a tool call,
    /// a reply without usage and a provider error.
    func session(_ gateway: LLMGateway) -> [Result<LLMCallRecord, KernelError>] {
        let tool = ChatTool(name: "act", description: "do it")
        return [
            gateway.complete(principal: "alpha", request: ChatRequest(messages: [.user("one")], seed: 7)),
            gateway.complete(principal: "alpha", request: ChatRequest(messages: [.user("same")])),
            gateway.complete(principal: "alpha", request: ChatRequest(messages: [.user("same")])),
            gateway.complete(principal: "alpha", request: ChatRequest(model: "tools", messages: [.user("go")], tools: [tool])),
            gateway.complete(principal: "alpha", request: ChatRequest(model: "nousage", messages: [.user("ünïcode ✓\n\"quoted\"")])),
            gateway.complete(principal: "alpha", request: ChatRequest(model: "broken", messages: [.user("x")])),
        ]
    }

    /// Routes by model to the fixture's behaviours, so one provider serves the session.
    struct ByModel: LLMProvider {
        let providers: [String: OpenAICompatibleProvider]
        var capabilities: BackendCapabilities { .openAI }
        func send(_ request: ProviderRequest) -> Result<ProviderResponse, ProviderError> {
            (providers[request.model] ?? providers["test-model"]!).send(request)
        }
    }

    func liveProvider(_ server: FakeOpenAIServer, tag: String) throws -> ByModel {
        var map: [String: OpenAICompatibleProvider] = [:]
        for (model, opts) in [("test-model", [String]()), ("tools", ["tools=1"]), ("nousage", ["nousage=1"]),
                              ("broken", ["status=503"])] {
            map[model] = try OpenAICompatibleProvider(settings: settings(server.baseURL([tag] + opts)),
                                                      capabilities: .openAI)
        }
        return ByModel(providers: map)
    }

    func testReplayGivesByteIdenticalResponsesAndTheSameCharges() throws {
        let server = try FakeOpenAIServer.get()
        var s = settings(server.baseURL())
        for m in ["tools", "nousage", "broken"] { s.prices[m] = price }

        let recorder = try RecordingProvider(wrapping: try liveProvider(server, tag: uniqueTag()), cassette: cassette)
        let (live, liveAccounting) = try gateway(recorder, s)
        let recorded = session(live)

        let replayer = try ReplayProvider(cassette: cassette, capabilities: .openAI)
        XCTAssertEqual(replayer.unplayedCount, 6)
        let (replay, replayAccounting) = try gateway(replayer, s)
        let replayed = session(replay)
        XCTAssertEqual(replayer.unplayedCount, 0)

        XCTAssertEqual(recorded.count, replayed.count)
        for (i, (a, b)) in zip(recorded, replayed).enumerated() {
            switch (a, b) {
            case (.success(var x), .success(var y)):
                XCTAssertEqual(x.rawResponse, y.rawResponse, "call \(i): byte-identical body")
                XCTAssertEqual(x.chargedMicrodollars, y.chargedMicrodollars, "call \(i)")
                XCTAssertEqual(x.estimated, y.estimated, "call \(i)")
                x.latencyMicros = 0; y.latencyMicros = 0
                XCTAssertEqual(x, y, "call \(i)")
            case (.failure(var x), .failure(var y)):
                x.details?.removeLatency(); y.details?.removeLatency()
                XCTAssertEqual(x, y, "call \(i)")
            default:
                XCTFail("call \(i): \(a) vs \(b)")
            }
        }
        // Identical requests were answered in recorded order: the live server numbered them.
        let first = try XCTUnwrap(recorded[1].get().rawResponse), second = try XCTUnwrap(recorded[2].get().rawResponse)
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(try replayed[1].get().rawResponse, first)
        XCTAssertEqual(try replayed[2].get().rawResponse, second)
        XCTAssertEqual(try replayed[3].get().response.toolCalls.first?.name, "act")
        XCTAssertTrue(try replayed[4].get().estimated)
        XCTAssertEqual(replayed[5].failureValue?.code, .executionError)
        XCTAssertEqual(liveAccounting.budget(of: "alpha"), replayAccounting.budget(of: "alpha"))
        XCTAssertLessThan(try XCTUnwrap(replayAccounting.budget(of: "alpha")), 100_000)
    }

    func testReplayMissAndExhaustionFailClearlyAndCostNothing() throws {
        let server = try FakeOpenAIServer.get()
        let s = settings(server.baseURL([uniqueTag()]))
        let recorder = try RecordingProvider(wrapping: try OpenAICompatibleProvider(settings: s), cassette: cassette)
        let (live, _) = try gateway(recorder, s)
        let knownCharge = try live.complete(principal: "alpha", request: ChatRequest(messages: [.user("known")])).get().chargedMicrodollars

        let (replay, accounting) = try gateway(try ReplayProvider(cassette: cassette, capabilities: .openAI), s)
        let miss = try XCTUnwrap(replay.complete(principal: "alpha", request: ChatRequest(messages: [.user("unknown")])).failureValue)
        XCTAssertEqual(miss.code, .internal)
        XCTAssertTrue(miss.message.contains("no recorded answer"), miss.message)
        XCTAssertTrue(miss.message.contains("unknown"), miss.message)

        // A different temperature is a different request.
        let other = ChatRequest(messages: [.user("known")], temperature: 0.1)
        XCTAssertEqual(replay.complete(principal: "alpha", request: other).failureValue?.code, .internal)

        XCTAssertNoThrow(try replay.complete(principal: "alpha", request: ChatRequest(messages: [.user("known")])).get())
        let exhausted = try XCTUnwrap(replay.complete(principal: "alpha", request: ChatRequest(messages: [.user("known")])).failureValue)
        XCTAssertTrue(exhausted.message.contains("recorded 1 time(s)"), exhausted.message)
        XCTAssertEqual(accounting.budget(of: "alpha"), 100_000 - knownCharge, "only the one replayed answer was charged")
    }

    func testProviderModesBuildTheRightProviders() throws {
        let s = settings(try FakeOpenAIServer.get().baseURL([uniqueTag()]))
        XCTAssertTrue(try LLMProviderMode.live.makeProvider(settings: s) is OpenAICompatibleProvider)
        XCTAssertThrowsError(try LLMProviderMode.replay(cassette: cassette).makeProvider(settings: s)) {
            XCTAssertEqual(($0 as? KernelError)?.code, .invalidArgs)
        }
        let recorder = try LLMProviderMode.record(cassette: cassette).makeProvider(settings: s)
        XCTAssertTrue(recorder is RecordingProvider)
        let (live, _) = try gateway(recorder, s)
        _ = try live.complete(principal: "alpha", request: ChatRequest(messages: [.user("mode")])).get()
        let replayer = try LLMProviderMode.replay(cassette: cassette).makeProvider(settings: s)
        XCTAssertEqual((replayer as? ReplayProvider)?.unplayedCount, 1)
        var broken = s
        broken.baseURL = "ftp://example"
        XCTAssertThrowsError(try LLMProviderMode.live.makeProvider(settings: broken)) {
            XCTAssertTrue(($0 as? KernelError)?.message.contains("base_url") == true)
        }
    }

    func testCassetteLinesAreCanonicalAndABrokenLineIsNamed() throws {
        let request = ProviderRequest(model: "m", messages: [.user("hi")], maxTokens: 3, temperature: 1, seed: 2)
        let body = Data(#"{"choices":[{"message":{"role":"assistant","content":"yo"},"finish_reason":"stop"}]}"#.utf8)
        let entry = CassetteEntry(request: request, outcome: OpenAIChatWire.parse(status: 200, retryAfterHeader: nil, body: body, nowSeconds: 0))
        XCTAssertFalse(entry.line.contains("\n"))
        let parsed = try CassetteEntry.parse(line: entry.line)
        XCTAssertEqual(parsed.canonicalRequest, request.canonicalString)
        XCTAssertEqual(parsed.key, request.key)
        XCTAssertEqual(try parsed.outcome.get().rawBody, body)
        XCTAssertEqual(request.key.count, 16)
        XCTAssertEqual(request.key, ProviderRequest(model: "m", messages: [.user("hi")], maxTokens: 3, temperature: 1, seed: 2).key)
        XCTAssertNotEqual(request.key, ProviderRequest(model: "m", messages: [.user("hi")], maxTokens: 3, temperature: 1, seed: 3).key)

        try (entry.line + "\n{not json\n").write(to: cassette, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ReplayProvider(cassette: cassette, capabilities: .openAI)) {
            XCTAssertTrue(($0 as? KernelError)?.message.contains("line 2") == true, "\($0)")
        }
    }
}

extension JSONValue {
    /// Latency is measured, not recorded: drop it before comparing live and replayed errors.
    mutating func removeLatency() {
        if case .object(var o) = self { o["latency_ms"] = nil; self = .object(o) }
    }
}
