import EcologyCore
@testable import EcologyLLM
import XCTest

final class PricingTests: XCTestCase {
    func testCostIsExactAndRoundsUp() {
        let p = ModelPrice(inputPerMillionMicrodollars: 2_000_000, outputPerMillionMicrodollars: 8_000_000)
        XCTAssertEqual(LLMPriceTable.cost(p, promptTokens: 1_000, completionTokens: 500), 6_000)
        XCTAssertEqual(LLMPriceTable.cost(p, promptTokens: 0, completionTokens: 0), 0)
        let cheap = ModelPrice(inputPerMillionMicrodollars: 1, outputPerMillionMicrodollars: 1)
        XCTAssertEqual(LLMPriceTable.cost(cheap, promptTokens: 1, completionTokens: 1), 1, "a fraction of a micro-dollar rounds up")
        XCTAssertEqual(LLMPriceTable.cost(cheap, promptTokens: 999_999, completionTokens: 1), 1)
        XCTAssertEqual(LLMPriceTable.cost(cheap, promptTokens: 1_000_000, completionTokens: 1), 2)
        let huge = ModelPrice(inputPerMillionMicrodollars: Int64.max / 2, outputPerMillionMicrodollars: 1)
        XCTAssertEqual(LLMPriceTable.cost(huge, promptTokens: 10, completionTokens: 0), Int64.max, "saturates, never wraps")
    }

    func testUnknownModelIsAConfigurationErrorNeverFree() throws {
        let table = try LLMPriceTable(["gpt-x": ModelPrice(inputPerMillionMicrodollars: 1, outputPerMillionMicrodollars: 2)])
        XCTAssertThrowsError(try table.price(of: "mystery")) { error in
            let e = error as? KernelError
            XCTAssertEqual(e?.code, .internal)
            XCTAssertTrue(e?.message.contains("configuration error") == true)
            XCTAssertTrue(e?.message.contains("mystery") == true)
            XCTAssertTrue(e?.message.contains("gpt-x") == true, "the message lists the priced models")
        }
        XCTAssertThrowsError(try LLMPriceTable(["m": ModelPrice(inputPerMillionMicrodollars: -1, outputPerMillionMicrodollars: 0)]))
    }

    func testEstimatorCountsContentToolsAndSchema() {
        let plain = ProviderRequest(model: "m", messages: [.user(String(repeating: "a", count: 40))], maxTokens: 10, temperature: 0)
        XCTAssertEqual(TokenEstimator.promptTokens(plain), 3 + 4 + 10)
        var withTools = plain
        withTools.tools = [ChatTool(name: "t", description: String(repeating: "d", count: 400))]
        XCTAssertGreaterThan(TokenEstimator.promptTokens(withTools), TokenEstimator.promptTokens(plain) + 100)
        XCTAssertEqual(TokenEstimator.tokens(in: "abcde"), 2)
        XCTAssertEqual(TokenEstimator.tokens(in: ""), 0)
    }
}
