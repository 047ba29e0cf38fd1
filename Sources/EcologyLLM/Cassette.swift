import EcologyCore
import Foundation
import Logging
import NIOConcurrencyHelpers

/// One line of a cassette (JSONL): a request and what the provider answered.
///
/// `{"v":1,"key":"<16 hex>","request":{canonical request},
///   "response":{"message","finish_reason","usage","body"|"body_base64"}}` or
/// `{"v":1,"key":…,"request":…,"error":{"kind",…}}`.
public struct CassetteEntry: Sendable, Equatable {
    public var request: ProviderRequest
    public var outcome: Result<ProviderResponse, ProviderError>

    public init(request: ProviderRequest, outcome: Result<ProviderResponse, ProviderError>) {
        self.request = request; self.outcome = outcome
    }

    public var line: String {
        var o: [String: JSONValue] = ["v": 1, "key": .string(request.key), "request": request.canonicalJSON]
        switch outcome {
        case .success(let r):
            var response: [String: JSONValue] = [
                "message": r.message.json,
                "finish_reason": r.finishReason.map(JSONValue.string) ?? .null,
                "usage": r.usage.map { ["prompt_tokens": .int($0.promptTokens), "completion_tokens": .int($0.completionTokens)] } ?? .null,
            ]
            if let text = String(data: r.rawBody, encoding: .utf8) {
                response["body"] = .string(text)
            } else {
                response["body_base64"] = .string(r.rawBody.base64EncodedString())
            }
            o["response"] = .object(response)
        case .failure(let e):
            o["error"] = Self.json(e)
        }
        return JSONCodec.string(.object(o))
    }

    static func json(_ e: ProviderError) -> JSONValue {
        switch e {
        case .notSent(let m): return ["kind": "not_sent", "message": .string(m)]
        case .rateLimited(let r, let b):
            return ["kind": "rate_limited", "retry_after": r.map(JSONValue.number) ?? .null, "body": .string(b)]
        case .httpStatus(let s, let b): return ["kind": "http_status", "status": .int(Int64(s)), "body": .string(b)]
        case .timedOut(let m): return ["kind": "timed_out", "message": .string(m)]
        case .transport(let m): return ["kind": "transport", "message": .string(m)]
        case .malformedResponse(let m, let b): return ["kind": "malformed_response", "message": .string(m), "body": .string(b)]
        case .configuration(let m): return ["kind": "configuration", "message": .string(m)]
        case .notInCassette(let m): return ["kind": "not_in_cassette", "message": .string(m)]
        }
    }

    /// The request part only needs to identify the call: it is kept as canonical JSON.
    /// Parsing restores the outcome exactly, including the raw body bytes.
    static func parse(line: String) throws -> (canonicalRequest: String, key: String, outcome: Result<ProviderResponse, ProviderError>) {
        let json = try JSONCodec.decode(line)
        guard json["v"]?.intValue == 1 else { throw KernelError.invalid("unknown cassette version") }
        guard let request = json["request"], request.objectValue != nil else { throw KernelError.invalid("no request") }
        let canonical = JSONCodec.string(request)
        let key = StableHash.fnv1a64Hex(canonical)
        if let r = json["response"] {
            guard let m = r["message"] else { throw KernelError.invalid("response without message") }
            let message = try ChatMessage(json: m)
            var usage: LLMUsage?
            if let u = r["usage"], u != .null {
                guard let p = u["prompt_tokens"]?.intValue, let c = u["completion_tokens"]?.intValue else {
                    throw KernelError.invalid("usage without token counts")
                }
                usage = LLMUsage(promptTokens: p, completionTokens: c)
            }
            let body: Data
            if let text = r["body"]?.stringValue {
                body = Data(text.utf8)
            } else if let b64 = r["body_base64"]?.stringValue, let data = Data(base64Encoded: b64) {
                body = data
            } else {
                throw KernelError.invalid("response without body")
            }
            return (canonical, key, .success(ProviderResponse(message: message, finishReason: r["finish_reason"]?.stringValue,
                                                             usage: usage, rawBody: body)))
        }
        guard let e = json["error"], let kind = e["kind"]?.stringValue else {
            throw KernelError.invalid("entry has neither response nor error")
        }
        let message = e["message"]?.stringValue ?? ""
        let body = e["body"]?.stringValue ?? ""
        let error: ProviderError
        switch kind {
        case "not_sent": error = .notSent(message)
        case "rate_limited": error = .rateLimited(retryAfter: e["retry_after"]?.doubleValue, body: body)
        case "http_status":
            guard let s = e["status"]?.intValue else { throw KernelError.invalid("http_status without status") }
            error = .httpStatus(Int(s), body: body)
        case "timed_out": error = .timedOut(message)
        case "transport": error = .transport(message)
        case "malformed_response": error = .malformedResponse(message, body: body)
        case "configuration": error = .configuration(message)
        case "not_in_cassette": error = .notInCassette(message)
        default: throw KernelError.invalid("unknown error kind \(kind)")
        }
        return (canonical, key, .failure(error))
    }
}

/// Wraps a provider and appends every request and its outcome to a cassette file,
/// one JSON line per call, in the order the calls finish. Lines are written whole
/// under a lock, so concurrent calls never interleave.
public final class RecordingProvider: LLMProvider, Sendable {
    public let inner: LLMProvider
    public let cassette: URL
    private let handle: FileHandle
    private let lock = NSLock()
    private let logger: Logger

    public var capabilities: BackendCapabilities { inner.capabilities }

    /// Creates the cassette if needed and appends to it. Throws INTERNAL if it cannot be opened.
    public init(wrapping inner: LLMProvider, cassette: URL, logger: Logger = Logger(label: "ecology.llm.record")) throws {
        self.inner = inner; self.cassette = cassette; self.logger = logger
        let fm = FileManager.default
        if !fm.fileExists(atPath: cassette.path) {
            guard fm.createFile(atPath: cassette.path, contents: nil) else {
                throw KernelError(.internal, "cannot create LLM cassette \(cassette.path)")
            }
        }
        guard let h = FileHandle(forWritingAtPath: cassette.path) else {
            throw KernelError(.internal, "cannot open LLM cassette \(cassette.path) for writing")
        }
        handle = h
    }

    deinit { try? handle.close() }

    public func send(_ request: ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        let outcome = inner.send(request)
        let line = CassetteEntry(request: request, outcome: outcome).line + "\n"
        lock.lock(); defer { lock.unlock() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(line.utf8))
        } catch {
            // The call happened and is charged either way; a gap in the cassette only
            // makes a later replay fail loudly at this request.
            logger.error("cannot append to LLM cassette", metadata: ["path": "\(cassette.path)", "error": "\(error)"])
        }
        return outcome
    }
}

/// Answers only from a cassette: the same request gets the recorded outcome, and the
/// n-th repetition of an identical request gets the n-th recorded answer. A request
/// that is not in the cassette (or asked more often than recorded) fails with
/// `notInCassette`, which the gateway reports as INTERNAL and never charges.
public final class ReplayProvider: LLMProvider, Sendable {
    public let capabilities: BackendCapabilities
    /// The recorded outcomes by canonical request, and how many of each have been served.
    private struct Tape {
        var answers: [String: [Result<ProviderResponse, ProviderError>]] = [:]
        var served: [String: Int] = [:]
    }
    private let tape: NIOLockedValueBox<Tape>

    /// Throws INVALID_ARGS naming the cassette line that cannot be read.
    public init(cassette: URL, capabilities: BackendCapabilities) throws {
        self.capabilities = capabilities
        let text: String
        do {
            text = try String(contentsOf: cassette, encoding: .utf8)
        } catch {
            throw KernelError(.invalidArgs, "cannot read LLM cassette \(cassette.path): \(error.localizedDescription)")
        }
        var loaded = Tape()
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            do {
                let entry = try CassetteEntry.parse(line: String(line))
                loaded.answers[entry.canonicalRequest, default: []].append(entry.outcome)
            } catch let e as KernelError {
                throw KernelError(.invalidArgs, "LLM cassette \(cassette.path) line \(i + 1): \(e.message)")
            }
        }
        tape = NIOLockedValueBox(loaded)
    }

    /// Recorded answers not yet given.
    public var unplayedCount: Int {
        tape.withLockedValue { t in t.answers.reduce(0) { $0 + $1.value.count - (t.served[$1.key] ?? 0) } }
    }

    public func send(_ request: ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        let canonical = request.canonicalString
        return tape.withLockedValue { t in
            guard let list = t.answers[canonical] else {
                let first = request.messages.last?.content.map { String($0.prefix(80)) } ?? ""
                return .failure(.notInCassette("no recorded answer for request \(request.key) "
                                               + "(model \(request.model), last message \"\(first)\")"))
            }
            let n = t.served[canonical] ?? 0
            guard n < list.count else {
                return .failure(.notInCassette("request \(request.key) was recorded \(list.count) time(s) "
                                               + "and is now asked for time \(n + 1)"))
            }
            t.served[canonical] = n + 1
            return list[n]
        }
    }
}
