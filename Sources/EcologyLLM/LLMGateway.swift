import EcologyCore
import Foundation
import Logging
import NIOConcurrencyHelpers

/// The supervisor's only network path: validates, prices, reserves, calls the provider
/// and settles every LLM call against the caller's llm_budget and llm_rate.
///
/// `complete` is synchronous and thread-safe: the supervisor calls it from each agent's
/// own thread (it blocks that thread for at most the provider timeout). An `async`
/// overload runs the same call on a Dispatch worker for callers in Swift concurrency.
///
/// What a call costs:
/// | outcome | llm_budget | llm_rate tokens | error |
/// |---|---|---|---|
/// | success, usage reported | exact cost of the usage | prompt + completion | — |
/// | success, no usage | cost of local estimates, `estimated` | estimates | — |
/// | refused locally (validation, budget, rate, provider back-off) | nothing | nothing | INVALID_ARGS / BUDGET_EXHAUSTED / RATE_LIMITED |
/// | not sent (connection refused, unknown host, replay miss) | nothing | nothing | EXECUTION_ERROR / INTERNAL |
/// | provider answered an error status (429, 4xx, 5xx) | nothing | nothing | RATE_LIMITED / INVALID_ARGS / INTERNAL / EXECUTION_ERROR |
/// | timeout, connection lost after sending, malformed 2xx body | the whole reservation, `estimated` | the whole reservation | TIMEOUT / EXECUTION_ERROR |
///
/// The last row is deliberate: once the request is out, the provider may have generated
/// (and billed) up to `max_tokens`, and we cannot know how much.
public final class LLMGateway: Sendable {
    public let settings: LLMSettings
    public let prices: LLMPriceTable
    public let provider: LLMProvider
    public let accounting: LLMAccounting
    private let clock: WorldClock
    private let logger: Logger
    /// After a provider 429, calls are refused locally until this world time.
    private let providerBackoffUntilMicros = NIOLockedValueBox<Int64>(0)

    /// Retry delay assumed when a provider 429 carries no `Retry-After`.
    public static let defaultProviderRetryAfter: Double = 1
    /// The longest provider `Retry-After` the gateway honours (seconds). A larger value
    /// (a broken or hostile provider sending 1e300) is clamped to this, so that it can
    /// neither overflow the backoff arithmetic nor silence the world's LLM for ever.
    public static let maxProviderRetryAfter: Double = 3_600

    /// Throws INTERNAL (a configuration error) when the default model has no price,
    /// a price is negative, or `maxTokens` is not positive.
    public init(settings: LLMSettings, provider: LLMProvider, accounting: LLMAccounting,
                clock: WorldClock = SystemClock(), logger: Logger = Logger(label: "ecology.llm")) throws {
        prices = try LLMPriceTable(settings.prices)
        _ = try prices.price(of: settings.model)
        guard settings.maxTokens > 0 else {
            throw KernelError(.internal, "LLM configuration error: llm.max_tokens must be positive")
        }
        self.settings = settings; self.provider = provider; self.accounting = accounting
        self.clock = clock; self.logger = logger
    }

    /// What the backend supports; minds use it to choose tools or JSON-schema output.
    public var capabilities: BackendCapabilities { provider.capabilities }

    /// Runs one call for `principal`, who pays for it. See the type's cost table.
    /// Failures carry the charge in `details`: `charged_microdollars`, `charged_tokens`,
    /// `uncollected_microdollars`, `estimated`, `model`, `latency_ms` (and `http_status`).
    public func complete(principal: String, request: ChatRequest) -> Result<LLMCallRecord, KernelError> {
        let resolved: ProviderRequest
        let price: ModelPrice
        do {
            resolved = try resolve(request)
            price = try prices.price(of: resolved.model)
        } catch let e as KernelError {
            return .failure(e)
        } catch {
            return .failure(KernelError(.internal, "\(error)"))
        }
        let startedAt = clock.nowMicros()
        if let wait = providerBackoff(at: startedAt) {
            return .failure(KernelError(.rateLimited,
                                        "the LLM provider is rate limiting the world; retry after \(LLMAccountingErrors.formatSeconds(wait)) s",
                                        details: ["limit": "provider", "principal": .string(principal)],
                                        retryAfter: wait))
        }

        let promptEstimate = TokenEstimator.promptTokens(resolved)
        let maxCompletion = Int64(resolved.maxTokens)
        let reserveMoney = LLMPriceTable.cost(price, promptTokens: promptEstimate, completionTokens: maxCompletion)
        let reservation: LLMReservation
        do {
            reservation = try accounting.reserve(principal: principal, microdollars: reserveMoney,
                                                 tokens: promptEstimate.saturatingAdd(maxCompletion))
        } catch let e as KernelError {
            return .failure(e)
        } catch {
            return .failure(KernelError(.internal, "LLM reservation failed: \(error)"))
        }

        let t0 = DispatchTime.now().uptimeNanoseconds
        let outcome = provider.send(resolved)
        let latency = Int64((DispatchTime.now().uptimeNanoseconds - t0) / 1_000)

        switch outcome {
        case .success(let reply):
            let prompt: Int64, completion: Int64, estimated: Bool
            if let usage = reply.usage {
                (prompt, completion, estimated) = (usage.promptTokens, usage.completionTokens, false)
            } else {
                // The server cannot have produced more than max_tokens.
                (prompt, completion, estimated) = (promptEstimate,
                                                   min(maxCompletion, TokenEstimator.completionTokens(reply.message)), true)
            }
            let cost = LLMPriceTable.cost(price, promptTokens: prompt, completionTokens: completion)
            let settlement: LLMSettlement
            do {
                // Usage is the provider's number (up to Int64.max each): the sum saturates, as the cost does.
                settlement = try accounting.settle(reservation, microdollars: cost, tokens: prompt.saturatingAdd(completion),
                                                   estimated: estimated)
            } catch {
                return .failure(settleFailure(error, principal: principal))
            }
            if settlement.uncollectedMicrodollars > 0 {
                logger.warning("llm usage exceeded the reservation and the budget",
                               metadata: ["principal": "\(principal)",
                                          "uncollected_microdollars": "\(settlement.uncollectedMicrodollars)"])
            }
            return .success(LLMCallRecord(
                principal: principal, model: resolved.model, messages: resolved.messages,
                toolNames: resolved.tools.map(\.name), response: reply.message, finishReason: reply.finishReason,
                promptTokens: prompt, completionTokens: completion,
                chargedMicrodollars: settlement.chargedMicrodollars,
                uncollectedMicrodollars: settlement.uncollectedMicrodollars,
                reservedMicrodollars: reservation.microdollars, reservedTokens: reservation.tokens,
                estimated: estimated, latencyMicros: latency, startedAtMicros: startedAt,
                requestKey: resolved.key, rawResponse: reply.rawBody))

        case .failure(let failure):
            let chargesReservation: Bool
            switch failure {
            case .timedOut, .transport, .malformedResponse: chargesReservation = true
            case .notSent, .rateLimited, .httpStatus, .configuration, .notInCassette: chargesReservation = false
            }
            let settlement: LLMSettlement
            do {
                settlement = try accounting.settle(reservation,
                                                   microdollars: chargesReservation ? reservation.microdollars : 0,
                                                   tokens: chargesReservation ? reservation.tokens : 0,
                                                   estimated: chargesReservation)
            } catch {
                return .failure(settleFailure(error, principal: principal))
            }
            var error = kernelError(for: failure, principal: principal, model: resolved.model)
            if case .rateLimited = failure, let wait = error.retryAfter {
                startProviderBackoff(until: clock.nowMicros().saturatingAdd(CheckedNumber.micros(fromSeconds: wait)))
            }
            var details = error.details?.objectValue ?? [:]
            details["model"] = .string(resolved.model)
            details["charged_microdollars"] = .int(settlement.chargedMicrodollars)
            details["uncollected_microdollars"] = .int(settlement.uncollectedMicrodollars)
            details["charged_tokens"] = .int(settlement.chargedTokens)
            details["estimated"] = .bool(settlement.estimated)
            details["latency_ms"] = .number(Double(latency) / 1000)
            error.details = .object(details)
            logger.info("llm call failed", metadata: ["principal": "\(principal)", "error": "\(error.code.rawValue)",
                                                      "reason": "\(failure)"])
            return .failure(error)
        }
    }

    /// The same call for Swift-concurrency callers; the blocking work runs off the
    /// cooperative pool.
    public func complete(principal: String, request: ChatRequest) async -> Result<LLMCallRecord, KernelError> {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: self.complete(principal: principal, request: request))
            }
        }
    }

    /// Applies defaults and checks everything that can be checked before spending.
    public func resolve(_ request: ChatRequest) throws -> ProviderRequest {
        let model = request.model ?? settings.model
        guard !model.isEmpty else { throw KernelError.invalid("model must not be empty") }
        let maxTokens = request.maxTokens ?? settings.maxTokens
        guard maxTokens >= 1, maxTokens <= settings.maxTokens else {
            throw KernelError.invalid("max_tokens must be between 1 and \(settings.maxTokens) (llm.max_tokens)")
        }
        let temperature = request.temperature ?? settings.temperature
        guard temperature.isFinite, temperature >= 0, temperature <= 2 else {
            throw KernelError.invalid("temperature must be between 0 and 2")
        }
        guard !request.messages.isEmpty else { throw KernelError.invalid("messages must not be empty") }
        for (i, m) in request.messages.enumerated() {
            if m.role == .tool, m.toolCallID == nil {
                throw KernelError.invalid("messages[\(i)]: a tool message needs tool_call_id")
            }
            if m.role != .assistant, !m.toolCalls.isEmpty {
                throw KernelError.invalid("messages[\(i)]: only assistant messages carry tool_calls")
            }
            if m.content == nil, m.toolCalls.isEmpty {
                throw KernelError.invalid("messages[\(i)]: content is missing")
            }
        }
        if !request.tools.isEmpty, !capabilities.supportsTools {
            throw KernelError.invalid("this LLM backend is configured without function calling; "
                                      + "use a JSON schema (structured output) instead of tools")
        }
        var names = Set<String>()
        for tool in request.tools {
            guard ChatTool.isValidName(tool.name) else {
                throw KernelError.invalid("tool name \"\(tool.name)\" must be 1-64 characters of [A-Za-z0-9_-]")
            }
            guard names.insert(tool.name).inserted else { throw KernelError.invalid("tool \"\(tool.name)\" is listed twice") }
            guard tool.parameters.objectValue != nil else {
                throw KernelError.invalid("tool \"\(tool.name)\": parameters must be a JSON Schema object")
            }
        }
        switch request.toolChoice {
        case .function(let name)?:
            guard names.contains(name) else { throw KernelError.invalid("tool_choice names unknown tool \"\(name)\"") }
        case .required?:
            guard !names.isEmpty else { throw KernelError.invalid("tool_choice required needs tools") }
        default: break
        }
        if case .jsonSchema(let name, let schema, _)? = request.responseFormat {
            guard schema.objectValue != nil else { throw KernelError.invalid("the response schema must be a JSON object") }
            guard ChatTool.isValidName(name) else {
                throw KernelError.invalid("the response schema name must be 1-64 characters of [A-Za-z0-9_-]")
            }
        }
        return ProviderRequest(model: model, messages: request.messages, tools: request.tools,
                               toolChoice: request.toolChoice, responseFormat: request.responseFormat,
                               maxTokens: maxTokens, temperature: temperature, seed: request.seed)
    }

    /// Maps a provider failure to the wire error the caller sees.
    func kernelError(for failure: ProviderError, principal: String, model: String) -> KernelError {
        switch failure {
        case .notSent(let m):
            return KernelError(.executionError, "the LLM provider is unreachable (nothing was charged): \(m)",
                               details: ["provider_error": "not_sent"])
        case .rateLimited(let retryAfter, let body):
            // The provider's number: NaN/negative never reach here (OpenAIChatWire), a huge one is clamped.
            let wait = min(retryAfter ?? Self.defaultProviderRetryAfter, Self.maxProviderRetryAfter)
            return KernelError(.rateLimited,
                               "the LLM provider answered 429 (provider rate limit, shared by the whole world); "
                               + "retry after \(LLMAccountingErrors.formatSeconds(wait)) s",
                               details: ["limit": "provider", "provider_error": "rate_limited", "http_status": 429,
                                         "retry_after_source": retryAfter == nil ? "default" : "header",
                                         "body": .string(String(body.prefix(500)))],
                               retryAfter: wait)
        case .httpStatus(let status, let body):
            let code: ErrorCode
            let why: String
            switch status {
            case 400, 413, 422:
                (code, why) = (.invalidArgs, "the LLM provider rejected the request (e.g. too long for the model's context)")
            case 401, 403:
                (code, why) = (.internal, "LLM configuration error: the provider refused the API key (llm.api_key_env = \(settings.apiKeyEnv))")
            case 404:
                (code, why) = (.internal, "LLM configuration error: the provider does not know model \"\(model)\" or the path (llm.base_url = \(settings.baseURL))")
            case 408:
                (code, why) = (.timeout, "the LLM provider timed out the request")
            default:
                (code, why) = (.executionError, "the LLM provider failed")
            }
            return KernelError(code, "\(why) (HTTP \(status), nothing was charged): \(body.prefix(300))",
                               details: ["provider_error": "http_status", "http_status": .int(Int64(status))])
        case .timedOut(let m):
            return KernelError(.timeout, "the LLM call timed out after sending; the reservation was charged: \(m)",
                               details: ["provider_error": "timed_out"])
        case .transport(let m):
            return KernelError(.executionError, "the connection to the LLM provider broke after sending; "
                               + "the reservation was charged: \(m)", details: ["provider_error": "transport"])
        case .malformedResponse(let m, let body):
            return KernelError(.executionError, "malformed LLM provider response (\(m)); the reservation was charged",
                               details: ["provider_error": "malformed_response", "body": .string(String(body.prefix(500)))])
        case .configuration(let m):
            return KernelError(.internal, "LLM configuration error: \(m)", details: ["provider_error": "configuration"])
        case .notInCassette(let m):
            return KernelError(.internal, "LLM replay: \(m)", details: ["provider_error": "not_in_cassette"])
        }
    }

    private func settleFailure(_ error: Error, principal: String) -> KernelError {
        logger.error("llm settlement failed", metadata: ["principal": "\(principal)", "error": "\(error)"])
        if let e = error as? KernelError { return KernelError(.internal, "LLM settlement failed: \(e.message)") }
        return KernelError(.internal, "LLM settlement failed: \(error)")
    }

    private func providerBackoff(at now: Int64) -> Double? {
        let until = providerBackoffUntilMicros.withLockedValue { $0 }
        return now < until ? Double(until - now) / 1_000_000 : nil
    }

    private func startProviderBackoff(until micros: Int64) {
        providerBackoffUntilMicros.withLockedValue { $0 = max($0, micros) }
    }
}
