import EcologyCore
import Foundation

/// Everything one successful LLM call produced: what the event log (`llm_call`) and
/// the agent's trace record. Failed calls report the same figures in the error's
/// `details` (see `LLMGateway`).
public struct LLMCallRecord: Sendable, Equatable {
    public var principal: String
    public var model: String
    /// The prompt as sent (before backend adaptation).
    public var messages: [ChatMessage]
    /// Names of the tools offered.
    public var toolNames: [String]
    /// The assistant's reply: text and/or tool calls.
    public var response: ChatMessage
    public var finishReason: String?
    public var promptTokens: Int64
    public var completionTokens: Int64
    /// Micro-dollars taken from llm_budget.
    public var chargedMicrodollars: Int64
    /// Real cost the budget could not cover (only when usage exceeded the reservation).
    public var uncollectedMicrodollars: Int64
    public var reservedMicrodollars: Int64
    public var reservedTokens: Int64
    /// True when the token counts are local estimates (the provider reported no usage).
    public var estimated: Bool
    /// Wall time of the provider call, measured on the monotonic clock.
    public var latencyMicros: Int64
    /// World time when the call was admitted.
    public var startedAtMicros: Int64
    /// `ProviderRequest.key`: links the call to its cassette entry.
    public var requestKey: String
    /// The provider's response body, byte for byte.
    public var rawResponse: Data

    public init(principal: String, model: String, messages: [ChatMessage], toolNames: [String], response: ChatMessage,
                finishReason: String?, promptTokens: Int64, completionTokens: Int64, chargedMicrodollars: Int64,
                uncollectedMicrodollars: Int64, reservedMicrodollars: Int64, reservedTokens: Int64, estimated: Bool,
                latencyMicros: Int64, startedAtMicros: Int64, requestKey: String, rawResponse: Data) {
        self.principal = principal; self.model = model; self.messages = messages; self.toolNames = toolNames
        self.response = response; self.finishReason = finishReason; self.promptTokens = promptTokens
        self.completionTokens = completionTokens; self.chargedMicrodollars = chargedMicrodollars
        self.uncollectedMicrodollars = uncollectedMicrodollars; self.reservedMicrodollars = reservedMicrodollars
        self.reservedTokens = reservedTokens; self.estimated = estimated; self.latencyMicros = latencyMicros
        self.startedAtMicros = startedAtMicros; self.requestKey = requestKey; self.rawResponse = rawResponse
    }

    /// The `llm_call` event data and trace entry (without the raw body).
    public var json: JSONValue {
        [
            "principal": .string(principal),
            "model": .string(model),
            "messages": .array(messages.map(\.json)),
            "tools": .array(toolNames.map(JSONValue.string)),
            "response": response.json,
            "finish_reason": finishReason.map(JSONValue.string) ?? .null,
            "prompt_tokens": .int(promptTokens),
            "completion_tokens": .int(completionTokens),
            "charged_microdollars": .int(chargedMicrodollars),
            "uncollected_microdollars": .int(uncollectedMicrodollars),
            "reserved_microdollars": .int(reservedMicrodollars),
            "reserved_tokens": .int(reservedTokens),
            "estimated": .bool(estimated),
            "latency_ms": .number(Double(latencyMicros) / 1000),
            "started_at_micros": .int(startedAtMicros),
            "request_key": .string(requestKey),
        ]
    }
}
