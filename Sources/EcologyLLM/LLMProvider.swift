import EcologyCore
import Foundation

/// Something that answers chat-completions requests: the HTTP provider, or a
/// recording/replaying wrapper. Calls are synchronous and may block for up to the
/// provider's timeout; implementations must be safe to call from many threads.
public protocol LLMProvider: Sendable {
    /// What the backend understands; the gateway validates requests against it.
    var capabilities: BackendCapabilities { get }
    func send(_ request: ProviderRequest) -> Result<ProviderResponse, ProviderError>
}

/// Token counts reported by the provider.
public struct LLMUsage: Sendable, Equatable {
    public var promptTokens: Int64
    public var completionTokens: Int64
    public init(promptTokens: Int64, completionTokens: Int64) {
        self.promptTokens = promptTokens; self.completionTokens = completionTokens
    }
}

/// A parsed successful reply.
public struct ProviderResponse: Sendable, Equatable {
    /// The assistant message: text and/or tool calls.
    public var message: ChatMessage
    public var finishReason: String?
    /// Nil when the server reported no usage (or only part of it).
    public var usage: LLMUsage?
    /// The response body exactly as received; replay gives back the same bytes.
    public var rawBody: Data

    public init(message: ChatMessage, finishReason: String?, usage: LLMUsage?, rawBody: Data) {
        self.message = message; self.finishReason = finishReason; self.usage = usage; self.rawBody = rawBody
    }
}

/// Why a provider call failed. The case decides what the call costs (see `LLMGateway`).
public enum ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request never left this process or never reached a server
    /// (bad URL, connection refused, unknown host). Nothing was consumed.
    case notSent(String)
    /// HTTP 429: the provider refused for its own rate limit.
    case rateLimited(retryAfter: Double?, body: String)
    /// Another non-2xx status: the provider rejected or failed the request.
    case httpStatus(Int, body: String)
    /// No complete answer within the timeout; the provider may have generated tokens.
    case timedOut(String)
    /// The connection broke after the request was sent.
    case transport(String)
    /// A 2xx reply that is not a chat completion.
    case malformedResponse(String, body: String)
    /// The provider cannot be used as configured (e.g. the API key variable is unset).
    case configuration(String)
    /// Replay only: the cassette holds no (further) answer for this request.
    case notInCassette(String)

    public var description: String {
        switch self {
        case .notSent(let m): return "request not sent: \(m)"
        case .rateLimited(let r, _): return "provider rate limit (HTTP 429)" + (r.map { ", retry after \($0) s" } ?? "")
        case .httpStatus(let s, let b): return "provider answered HTTP \(s): \(b.prefix(300))"
        case .timedOut(let m): return "provider timed out: \(m)"
        case .transport(let m): return "connection to provider failed after sending: \(m)"
        case .malformedResponse(let m, _): return "malformed provider response: \(m)"
        case .configuration(let m): return "LLM configuration error: \(m)"
        case .notInCassette(let m): return "replay: \(m)"
        }
    }
}
