import EcologyTestSupport
import EcologyCore
@testable import EcologyLLM
import Foundation
import XCTest

/// Class 1 of issue 9 for numbers an LLM provider sends back: a hostile or broken
/// provider (or whatever answers at its URL) must not trap the supervisor with a
/// `Retry-After` of 1e300 or usage counts near Int64.max.
final class ProviderNumberAttackTests: XCTestCase {
    static let model = "test-model"
    let roomyRate = BucketConfig(ratePerSecond: 1_000, capacity: 1_000_000, initial: 1_000_000)

    func gateway(_ options: [String]) throws -> (LLMGateway, InMemoryLLMAccounting, VirtualClock) {
        let server = try FakeOpenAIServer.get()
        let clock = VirtualClock()
        var s = LLMSettings()
        s.baseURL = server.baseURL(options)
        s.model = Self.model
        s.apiKeyEnv = "TEST_LLM_KEY"
        s.maxTokens = 100
        s.timeoutSeconds = 10
        s.prices = [Self.model: ModelPrice(inputPerMillionMicrodollars: 2_000_000, outputPerMillionMicrodollars: 8_000_000)]
        let provider = try OpenAICompatibleProvider(settings: s, environment: ["TEST_LLM_KEY": "k"], clock: clock)
        let accounting = InMemoryLLMAccounting(clock: clock, systemRate: roomyRate)
        accounting.open(principal: "alpha", budgetMicrodollars: 10_000, rate: roomyRate)
        return (try LLMGateway(settings: s, provider: provider, accounting: accounting, clock: clock), accounting, clock)
    }

    let hello = ChatRequest(messages: [.user("hello")])

    /// `Retry-After: 1e300` used to reach `Int64(wait × 1e6)` and the message's
    /// `Int64(rounded)`: one 429 killed the supervisor. The wait is clamped to
    /// `LLMGateway.maxProviderRetryAfter`, so a provider cannot silence the world for ever.
    func testHugeRetryAfterIsClampedNotATrap() throws {
        for value in ["1e300", "9.3e18", "9223372036854775807"] {
            let (g, accounting, clock) = try gateway([uniqueTag() + value.filter(\.isNumber), "status=429", "retry=\(value)"])
            let error = try XCTUnwrap(g.complete(principal: "alpha", request: hello).failureValue)
            XCTAssertEqual(error.code, .rateLimited)
            XCTAssertEqual(error.retryAfter, LLMGateway.maxProviderRetryAfter, value)
            XCTAssertEqual(accounting.budget(of: "alpha"), 10_000, "a refused call costs nothing")
            clock.advance(seconds: LLMGateway.maxProviderRetryAfter + 1)
            // The backoff ends: the next call reaches the provider again (and is refused by it again).
            let again = try XCTUnwrap(g.complete(principal: "alpha", request: hello).failureValue)
            XCTAssertEqual(again.details?["retry_after_source"], "header", "\(again)")
        }
    }

    /// Usage counts whose sum overflows Int64: charged as far as the budget goes (the
    /// cost saturates), the rest reported uncollected; no trap.
    func testUsageNearInt64MaxIsChargedWithoutOverflow() throws {
        let (g, accounting, _) = try gateway([uniqueTag(), "usage=9223372036854775807,9223372036854775807"])
        let record = try g.complete(principal: "alpha", request: hello).get()
        XCTAssertEqual(record.promptTokens, .max)
        XCTAssertEqual(record.chargedMicrodollars, 10_000, "the whole budget, and no more")
        XCTAssertGreaterThan(record.uncollectedMicrodollars, 0)
        XCTAssertEqual(accounting.budget(of: "alpha"), 0)
        XCTAssertNotNil(accounting.rateBalance(of: "alpha"))
    }
}
