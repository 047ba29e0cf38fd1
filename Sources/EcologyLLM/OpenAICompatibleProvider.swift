import EcologyCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOConcurrencyHelpers

/// The one HTTP provider: `POST {baseURL}/chat/completions` on any OpenAI-compatible
/// server (OpenAI, Gemini's compatible endpoint, Ollama, llama.cpp, vLLM).
///
/// The API key is read once, at construction, from the environment variable *named*
/// by `LLMSettings.apiKeyEnv`, and sent as `Authorization: Bearer`. An unset variable
/// sends no header (local servers need none). `send` blocks the calling thread for at
/// most `timeoutSeconds`, then cancels the request.
public final class OpenAICompatibleProvider: LLMProvider, Sendable {
    public let endpoint: URL
    public let capabilities: BackendCapabilities
    public let timeoutSeconds: Double
    private let apiKeyEnv: String
    private let apiKey: String?
    private let session: URLSession
    private let clock: WorldClock

    /// Throws INTERNAL (a configuration error) for a base URL that is not http(s) or a
    /// non-positive timeout.
    public init(settings: LLMSettings, capabilities: BackendCapabilities? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                clock: WorldClock = SystemClock()) throws {
        var base = settings.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base + "/chat/completions"), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host != nil else {
            throw KernelError(.internal, "LLM configuration error: llm.base_url \"\(settings.baseURL)\" is not an http(s) URL")
        }
        guard settings.timeoutSeconds > 0, settings.timeoutSeconds.isFinite else {
            throw KernelError(.internal, "LLM configuration error: llm.timeout_seconds must be positive")
        }
        endpoint = url
        self.capabilities = try capabilities ?? BackendCapabilities.from(settings: settings)
        timeoutSeconds = settings.timeoutSeconds
        apiKeyEnv = settings.apiKeyEnv
        apiKey = environment[settings.apiKeyEnv].flatMap { $0.isEmpty ? nil : $0 }
        self.clock = clock
        // The deadline is enforced in `send`: on Linux, URLSession mishandles timeouts
        // under one second (they fire at once), so its own timeouts are only a backstop.
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = Self.backstop(settings.timeoutSeconds)
        config.timeoutIntervalForResource = Self.backstop(settings.timeoutSeconds)
        config.httpMaximumConnectionsPerHost = 64
        config.urlCache = nil
        session = URLSession(configuration: config)
    }

    deinit { session.invalidateAndCancel() }

    public func send(_ request: ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        var http = URLRequest(url: endpoint)
        http.httpMethod = "POST"
        http.timeoutInterval = Self.backstop(timeoutSeconds)
        http.setValue("application/json", forHTTPHeaderField: "Content-Type")
        http.setValue("application/json", forHTTPHeaderField: "Accept")
        if let apiKey { http.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        http.httpBody = JSONCodec.encode(OpenAIChatWire.body(for: request, capabilities: capabilities))

        let done = DispatchSemaphore(value: 0)
        let box = ExchangeBox()
        let timeout = timeoutSeconds
        let task = session.dataTask(with: http) { data, response, error in
            // Classified here: the error itself is not Sendable, its classification is.
            box.set(Exchange(data: data, response: response as? HTTPURLResponse,
                             error: error.map { Self.classify($0, timeout: timeout) }))
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeoutSeconds) == .timedOut {
            task.cancel()
            return .failure(.timedOut("no reply within \(timeoutSeconds) s"))
        }
        let exchange = box.get()
        if let error = exchange.error { return .failure(error) }
        guard let response = exchange.response else { return .failure(.transport("no HTTP response")) }
        let retryAfter = response.allHeaderFields.first {
            ($0.key as? String)?.lowercased() == "retry-after"
        }.flatMap { $0.value as? String }
        let result = OpenAIChatWire.parse(status: response.statusCode, retryAfterHeader: retryAfter,
                                          body: exchange.data ?? Data(), nowSeconds: clock.nowSeconds)
        if case .failure(.httpStatus(let status, let body)) = result, status == 401 || status == 403, apiKey == nil {
            return .failure(.httpStatus(status, body: "no API key sent: environment variable \(apiKeyEnv) is unset. \(body)"))
        }
        return result
    }

    private static func backstop(_ timeout: Double) -> Double { timeout.rounded(.up) + 1 }

    /// Whether the request may have reached the server decides what a failure costs.
    static func classify(_ error: Error, timeout: Double) -> ProviderError {
        guard let e = error as? URLError else { return .transport(String(describing: error)) }
        switch e.code {
        case .timedOut:
            return .timedOut("no reply within \(timeout) s")
        case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .notConnectedToInternet,
             .badURL, .unsupportedURL, .secureConnectionFailed, .serverCertificateUntrusted,
             .serverCertificateHasBadDate, .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot,
             .clientCertificateRejected, .appTransportSecurityRequiresSecureConnection:
            return .notSent("\(e.localizedDescription) (URLError \(e.code.rawValue))")
        default:
            return .transport("\(e.localizedDescription) (URLError \(e.code.rawValue))")
        }
    }
}

/// What the completion handler was given, with its error already classified.
private struct Exchange: Sendable {
    var data: Data?
    var response: HTTPURLResponse?
    var error: ProviderError?
}

/// Hands the completion handler's values to the waiting thread.
private final class ExchangeBox: Sendable {
    private let exchange = NIOLockedValueBox(Exchange())

    func set(_ e: Exchange) { exchange.withLockedValue { $0 = e } }

    func get() -> Exchange { exchange.withLockedValue { $0 } }
}
