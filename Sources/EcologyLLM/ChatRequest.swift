import EcologyCore

/// What a caller (an agent's mind, the mint scorer) asks the gateway for.
///
/// Fields left nil take the world's `LLMSettings`: `model`, `maxTokens`, `temperature`.
/// `maxTokens` is also the worst case the gateway reserves for, so a smaller value
/// lets a call through on a smaller budget.
public struct ChatRequest: Sendable, Equatable {
    public var model: String?
    public var messages: [ChatMessage]
    public var tools: [ChatTool]
    public var toolChoice: ToolChoice?
    public var responseFormat: ResponseFormat?
    public var maxTokens: Int?
    public var temperature: Double?
    public var seed: Int64?

    public init(model: String? = nil, messages: [ChatMessage], tools: [ChatTool] = [], toolChoice: ToolChoice? = nil,
                responseFormat: ResponseFormat? = nil, maxTokens: Int? = nil, temperature: Double? = nil,
                seed: Int64? = nil) {
        self.model = model; self.messages = messages; self.tools = tools; self.toolChoice = toolChoice
        self.responseFormat = responseFormat; self.maxTokens = maxTokens; self.temperature = temperature
        self.seed = seed
    }

    /// Parses the parameters of the kernel's `llm` action:
    /// `{"messages":[…], "tools"?:[…], "tool_choice"?, "schema"?: {…} | "response_format"?: {…},
    ///   "model"?, "max_tokens"?, "temperature"?, "seed"?}`. Anything malformed is INVALID_ARGS.
    public init(json: JSONValue) throws {
        guard json.objectValue != nil else { throw KernelError.invalid("llm parameters must be an object") }
        guard let list = json["messages"]?.arrayValue else { throw KernelError.invalid("messages must be an array") }
        let messages = try list.map(ChatMessage.init(json:))
        let tools = try (json["tools"]?.arrayValue ?? []).map(ChatTool.init(json:))
        var choice: ToolChoice?
        switch json["tool_choice"] {
        case nil, .null?: choice = nil
        case .string("auto")?: choice = .auto
        case .string("none")?: choice = ToolChoice.none
        case .string("required")?: choice = .required
        case let v?:
            guard let name = v["function"]?["name"]?.stringValue else {
                throw KernelError.invalid("tool_choice must be auto, none, required or {\"function\":{\"name\"}}")
            }
            choice = .function(name)
        }
        var format: ResponseFormat?
        if let schema = json["schema"], schema != .null {
            format = .jsonSchema(name: "response", schema: schema, strict: true)
        } else if let rf = json["response_format"], rf != .null {
            switch rf["type"]?.stringValue {
            case "json_object"?: format = .jsonObject
            case "json_schema"?:
                guard let js = rf["json_schema"], let schema = js["schema"] else {
                    throw KernelError.invalid("response_format json_schema needs json_schema.schema")
                }
                format = .jsonSchema(name: js["name"]?.stringValue ?? "response", schema: schema,
                                     strict: js["strict"]?.boolValue ?? true)
            case "text"?: format = nil
            default: throw KernelError.invalid("response_format.type must be json_object, json_schema or text")
            }
        }
        func optionalInt(_ key: String) throws -> Int64? {
            guard let v = json[key], v != .null else { return nil }
            guard let i = v.intValue else { throw KernelError.invalid("\(key) must be an integer") }
            return i
        }
        var temperature: Double?
        if let t = json["temperature"], t != .null {
            guard let d = t.doubleValue else { throw KernelError.invalid("temperature must be a number") }
            temperature = d
        }
        if let m = json["model"], m != .null, m.stringValue == nil { throw KernelError.invalid("model must be a string") }
        let maxTokens = try optionalInt("max_tokens")
        if let maxTokens, maxTokens > Int64(Int32.max) || maxTokens < Int64(Int32.min) {
            throw KernelError.invalid("max_tokens is out of range")
        }
        self.init(model: json["model"]?.stringValue, messages: messages, tools: tools, toolChoice: choice,
                  responseFormat: format, maxTokens: maxTokens.map { Int($0) }, temperature: temperature,
                  seed: try optionalInt("seed"))
    }
}

/// A request with every default resolved: exactly what goes to a provider.
/// Its `canonicalJSON` (sorted keys) identifies it in a cassette.
public struct ProviderRequest: Sendable, Equatable {
    public var model: String
    public var messages: [ChatMessage]
    public var tools: [ChatTool]
    public var toolChoice: ToolChoice?
    public var responseFormat: ResponseFormat?
    public var maxTokens: Int
    public var temperature: Double
    public var seed: Int64?

    public init(model: String, messages: [ChatMessage], tools: [ChatTool] = [], toolChoice: ToolChoice? = nil,
                responseFormat: ResponseFormat? = nil, maxTokens: Int, temperature: Double, seed: Int64? = nil) {
        self.model = model; self.messages = messages; self.tools = tools; self.toolChoice = toolChoice
        self.responseFormat = responseFormat; self.maxTokens = maxTokens; self.temperature = temperature
        self.seed = seed
    }

    /// The chat-completions body before any backend adaptation.
    public var canonicalJSON: JSONValue {
        var o: [String: JSONValue] = [
            "model": .string(model),
            "messages": .array(messages.map(\.json)),
            "max_tokens": .int(Int64(maxTokens)),
            "temperature": .number(temperature),
        ]
        if let seed { o["seed"] = .int(seed) }
        if !tools.isEmpty { o["tools"] = .array(tools.map(\.json)) }
        if let toolChoice { o["tool_choice"] = toolChoice.json }
        if let responseFormat { o["response_format"] = responseFormat.json }
        return .object(o)
    }

    /// The canonical request as bytes: equal requests give equal strings.
    public var canonicalString: String { JSONCodec.string(canonicalJSON) }

    /// A stable 64-bit FNV-1a digest of `canonicalString`, as 16 hex digits.
    public var key: String { StableHash.fnv1a64Hex(canonicalString) }
}

enum StableHash {
    static func fnv1a64Hex(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
