import EcologyTestSupport
import EcologyCore
@testable import EcologyLLM
import Foundation
import XCTest

final class MintScorerTests: XCTestCase {
    func testVerdictParsingClampsAndTolerates() throws {
        func parse(_ s: String) -> (Int, String)? {
            guard case .success(let v) = LLMMintScorer.parseVerdict(s) else { return nil }
            return (v.score, v.reason)
        }
        XCTAssertEqual(parse(#"{"score": 73, "reason": "works"}"#)?.0, 73)
        XCTAssertEqual(parse(#"{"score": 73, "reason": "works"}"#)?.1, "works")
        XCTAssertEqual(parse(#"{"score": 140, "reason": "wow"}"#)?.0, 100)
        XCTAssertEqual(parse(#"{"score": -5, "reason": "bad"}"#)?.0, 0)
        XCTAssertEqual(parse(#"{"score": 41.6, "reason": "ok"}"#)?.0, 42)
        XCTAssertEqual(parse(#"{"score": "55", "reason": "ok"}"#)?.0, 55)
        XCTAssertEqual(parse("Sure!\n```json\n{\"score\": 12, \"reason\": \"thin\"}\n```")?.0, 12)
        XCTAssertEqual(parse(#"{"score": 9}"#)?.1, "")
        for bad in ["no json here", #"{"reason": "no score"}"#, #"{"score": "high"}"#, #"{"score": null}"#, "{broken"] {
            guard case .failure(let e) = LLMMintScorer.parseVerdict(bad) else { return XCTFail(bad) }
            XCTAssertEqual(e.code, .executionError, bad)
            XCTAssertTrue(e.message.contains("scorer"), e.message)
        }
    }

    func scorer(reply: String, tag: String, budget: Int64 = 1_000_000) throws -> (LLMMintScorer, InMemoryLLMAccounting) {
        let server = try FakeOpenAIServer.get()
        var s = LLMSettings()
        s.baseURL = server.baseURL([tag, "reply=" + reply.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!])
        s.model = "judge"
        s.maxTokens = 512
        s.prices = ["judge": ModelPrice(inputPerMillionMicrodollars: 1_000_000, outputPerMillionMicrodollars: 1_000_000)]
        let clock = VirtualClock()
        let rate = BucketConfig(ratePerSecond: 1_000, capacity: 1_000_000, initial: 1_000_000)
        let accounting = InMemoryLLMAccounting(clock: clock, systemRate: rate)
        accounting.open(principal: "genesis_mint", budgetMicrodollars: budget, rate: rate)
        let gateway = try LLMGateway(settings: s, provider: try OpenAICompatibleProvider(settings: s), accounting: accounting, clock: clock)
        return (LLMMintScorer(gateway: gateway), accounting)
    }

    func testScoresThroughTheGatewayChargedToTheMint() throws {
        let tag = uniqueTag()
        let (scorer, accounting) = try scorer(reply: #"{"score": 250, "reason": "a very fine adder"}"#, tag: tag)
        let verdict = try scorer.score(artifactID: "adder", content: "adds numbers", code: "def add(a, b): return a + b",
                                       interface: #"{"tools":[{"name":"add"}]}"#).get()
        XCTAssertEqual(verdict.score, 100)
        XCTAssertEqual(verdict.reason, "a very fine adder")
        XCTAssertLessThan(try XCTUnwrap(accounting.budget(of: "genesis_mint")), 1_000_000)

        let body = try XCTUnwrap(FakeOpenAIServer.get().requests(tagged: tag).first?.body)
        XCTAssertEqual(body["response_format"]?["type"], "json_schema")
        XCTAssertEqual(body["response_format"]?["json_schema"]?["schema"], LLMMintScorer.schema)
        XCTAssertEqual(body["temperature"]?.doubleValue, 0)
        let user = body["messages"]?.arrayValue?.last?["content"]?.stringValue ?? ""
        XCTAssertTrue(user.contains("Artifact id: adder") && user.contains("def add(a, b)"), user)
    }

    func testUnreadableVerdictAndEmptyBudgetAreErrors() throws {
        let (scorer, _) = try scorer(reply: "I like it", tag: uniqueTag())
        XCTAssertEqual(scorer.score(artifactID: "x", content: "c", code: nil, interface: nil).failureValue?.code, .executionError)
        let (broke, _) = try self.scorer(reply: #"{"score":1,"reason":""}"#, tag: uniqueTag(), budget: 0)
        XCTAssertEqual(broke.score(artifactID: "x", content: "c", code: nil, interface: nil).failureValue?.code, .budgetExhausted)
    }

    func testLongFieldsAreCut() {
        let gateway = try? LLMGateway(settings: { var s = LLMSettings(); s.maxTokens = 512; return s }(),
                                      provider: NeverCalled(), accounting: InMemoryLLMAccounting(clock: VirtualClock(),
                                      systemRate: BucketConfig(ratePerSecond: 1, capacity: 1, initial: 1)))
        let scorer = LLMMintScorer(gateway: gateway!, maxFieldCharacters: 100)
        let req = scorer.request(artifactID: "big", content: String(repeating: "x", count: 10_000), code: nil, interface: nil)
        let user = req.messages.last?.content ?? ""
        XCTAssertLessThan(user.count, 600)
        XCTAssertTrue(user.contains("cut at 100 characters"))
    }
}

/// A provider for tests that must not reach one.
struct NeverCalled: LLMProvider {
    var capabilities: BackendCapabilities { .openAI }
    func send(_ request: ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        XCTFail("the provider was called")
        return .failure(.notSent("never"))
    }
}
