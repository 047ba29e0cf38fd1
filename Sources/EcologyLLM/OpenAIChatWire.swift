import EcologyCore
import Foundation

/// The chat-completions wire format: building a body for a backend and reading replies.
/// Pure functions, shared by the HTTP provider and by replay so both parse identically.
public enum OpenAIChatWire {
    /// The body to POST for `request`, adapted to what the backend understands.
    public static func body(for request: ProviderRequest, capabilities: BackendCapabilities) -> JSONValue {
        guard case .object(var o) = request.canonicalJSON else { return request.canonicalJSON }
        if !capabilities.supportsSeed { o["seed"] = nil }
        if !capabilities.supportsToolChoice { o["tool_choice"] = nil }
        if let format = request.responseFormat {
            let instruction: String
            switch format {
            case .jsonObject: instruction = "Reply with one JSON object and nothing else."
            case .jsonSchema(_, let schema, _):
                instruction = "Reply with one JSON object that matches this JSON Schema, and nothing else: "
                    + JSONCodec.string(schema)
            }
            switch (capabilities.structuredOutput, format) {
            case (.jsonSchema, _):
                break
            case (.jsonObject, _):
                o["response_format"] = ["type": "json_object"]
                o["messages"] = .array(withInstruction(instruction, request.messages).map(\.json))
            case (.promptOnly, _):
                o["response_format"] = nil
                o["messages"] = .array(withInstruction(instruction, request.messages).map(\.json))
            }
        }
        return .object(o)
    }

    /// Puts `instruction` into the leading system message (or a new one), since some chat
    /// templates accept a system message only in first position.
    private static func withInstruction(_ instruction: String, _ messages: [ChatMessage]) -> [ChatMessage] {
        var out = messages
        if let first = out.first, first.role == .system {
            out[0].content = (first.content.map { $0 + "\n\n" } ?? "") + instruction
        } else {
            out.insert(.system(instruction), at: 0)
        }
        return out
    }

    /// Reads one HTTP reply. `retryAfterHeader` is the raw `Retry-After` value, if any.
    public static func parse(status: Int, retryAfterHeader: String?, body: Data,
                             nowSeconds: Double) -> Result<ProviderResponse, ProviderError> {
        let text = String(decoding: body, as: UTF8.self)
        if status == 429 {
            return .failure(.rateLimited(retryAfter: retryAfterHeader.flatMap { retryAfterSeconds($0, nowSeconds: nowSeconds) },
                                         body: String(text.prefix(2_000))))
        }
        guard (200..<300).contains(status) else {
            return .failure(.httpStatus(status, body: String(text.prefix(2_000))))
        }
        let bad = { (why: String) -> Result<ProviderResponse, ProviderError> in
            .failure(.malformedResponse(why, body: String(text.prefix(2_000))))
        }
        guard let json = try? JSONCodec.decode(body) else { return bad("the body is not JSON") }
        guard json.objectValue != nil else { return bad("the body is not a JSON object") }
        if let err = json["error"], err != .null, json["choices"] == nil {
            let message = err["message"]?.stringValue ?? JSONCodec.string(err)
            return bad("the provider answered with an error: \(message)")
        }
        guard let choices = json["choices"]?.arrayValue else { return bad("no choices array") }
        guard let first = choices.first else { return bad("choices is empty") }
        guard var rawMessage = first["message"]?.objectValue else { return bad("choices[0] has no message object") }
        if rawMessage["role"] == nil || rawMessage["role"] == .null { rawMessage["role"] = "assistant" }
        var message: ChatMessage
        do {
            message = try ChatMessage(json: .object(rawMessage))
        } catch let e as KernelError {
            return bad("choices[0].message: \(e.message)")
        } catch {
            return bad("choices[0].message is unreadable")
        }
        guard message.role == .assistant else { return bad("choices[0].message.role is \(message.role.rawValue)") }
        message.toolCallID = nil
        var usage: LLMUsage?
        if let u = json["usage"], let p = u["prompt_tokens"]?.intValue, let c = u["completion_tokens"]?.intValue,
           p >= 0, c >= 0 {
            usage = LLMUsage(promptTokens: p, completionTokens: c)
        }
        return .success(ProviderResponse(message: message, finishReason: first["finish_reason"]?.stringValue,
                                         usage: usage, rawBody: body))
    }

    /// `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
    public static func retryAfterSeconds(_ header: String, nowSeconds: Double) -> Double? {
        let value = header.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(value), seconds.isFinite { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return max(0, date.timeIntervalSince1970 - nowSeconds)
    }
}
