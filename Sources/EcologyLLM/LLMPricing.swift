import EcologyCore

/// Prices per model, in micro-dollars per million tokens (`LLMSettings.prices`).
///
/// A model without a price is a configuration error, never free. Costs are exact
/// integers rounded up: `ceil((in × inputPrice + out × outputPrice) / 1_000_000)`.
public struct LLMPriceTable: Sendable, Equatable {
    public let prices: [String: ModelPrice]

    /// Throws INTERNAL for a negative price.
    public init(_ prices: [String: ModelPrice]) throws {
        for (model, p) in prices where p.inputPerMillionMicrodollars < 0 || p.outputPerMillionMicrodollars < 0 {
            throw KernelError(.internal, "LLM configuration error: llm.prices[\"\(model)\"] is negative")
        }
        self.prices = prices
    }

    /// The price of `model`, or INTERNAL naming the missing entry.
    public func price(of model: String) throws -> ModelPrice {
        guard let p = prices[model] else {
            let known = prices.keys.sorted().joined(separator: ", ")
            throw KernelError(.internal, "LLM configuration error: model \"\(model)\" has no price in llm.prices "
                              + "(priced models: \(known.isEmpty ? "none" : known)); unpriced models are refused, never free",
                              details: ["model": .string(model)])
        }
        return p
    }

    /// Exact cost in micro-dollars, rounded up; saturates at `Int64.max` instead of overflowing.
    public static func cost(_ price: ModelPrice, promptTokens: Int64, completionTokens: Int64) -> Int64 {
        let a = price.inputPerMillionMicrodollars.multipliedReportingOverflow(by: max(0, promptTokens))
        let b = price.outputPerMillionMicrodollars.multipliedReportingOverflow(by: max(0, completionTokens))
        guard !a.overflow, !b.overflow else { return Int64.max }
        let sum = a.partialValue.addingReportingOverflow(b.partialValue)
        guard !sum.overflow else { return Int64.max }
        return sum.partialValue / 1_000_000 + (sum.partialValue % 1_000_000 == 0 ? 0 : 1)
    }
}

/// Local token counts for reservations and for replies without usage:
/// about four bytes of UTF-8 per token, plus a few tokens of chat-template framing
/// per message. An estimate only; results computed from it are marked `estimated`.
public enum TokenEstimator {
    public static let bytesPerToken = 4
    public static let perMessageOverhead: Int64 = 4
    public static let perRequestOverhead: Int64 = 3

    public static func tokens(in text: String) -> Int64 {
        Int64((text.utf8.count + bytesPerToken - 1) / bytesPerToken)
    }

    /// Prompt tokens: every message (content and tool calls) plus the tool and schema
    /// definitions, which providers also bill as input.
    public static func promptTokens(_ request: ProviderRequest) -> Int64 {
        var total = perRequestOverhead
        for m in request.messages {
            total += perMessageOverhead + tokens(in: m.content ?? "")
            for call in m.toolCalls { total += tokens(in: call.name) + tokens(in: call.arguments) }
        }
        if !request.tools.isEmpty { total += tokens(in: JSONCodec.string(.array(request.tools.map(\.json)))) }
        if case .jsonSchema(_, let schema, _)? = request.responseFormat { total += tokens(in: JSONCodec.string(schema)) }
        return total
    }

    /// Completion tokens of a reply: its text and tool calls.
    public static func completionTokens(_ message: ChatMessage) -> Int64 {
        var total = tokens(in: message.content ?? "")
        for call in message.toolCalls { total += tokens(in: call.name) + tokens(in: call.arguments) }
        return total
    }
}
