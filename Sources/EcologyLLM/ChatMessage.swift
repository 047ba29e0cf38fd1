import EcologyCore

/// One message of a chat-completions conversation, in the OpenAI wire shape.
///
/// `content` is nil only for an assistant message that carries tool calls alone.
/// A `tool` message answers the tool call named by `toolCallID`.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable, Codable, CaseIterable {
        case system, user, assistant, tool
    }

    public var role: Role
    public var content: String?
    /// Function calls requested by the model (assistant messages only).
    public var toolCalls: [ToolCall]
    /// The call this message answers (tool messages only).
    public var toolCallID: String?

    public init(role: Role, content: String?, toolCalls: [ToolCall] = [], toolCallID: String? = nil) {
        self.role = role; self.content = content; self.toolCalls = toolCalls; self.toolCallID = toolCallID
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: text) }
    public static func assistant(_ text: String?, toolCalls: [ToolCall] = []) -> ChatMessage {
        ChatMessage(role: .assistant, content: text, toolCalls: toolCalls)
    }
    public static func tool(callID: String, _ text: String) -> ChatMessage {
        ChatMessage(role: .tool, content: text, toolCallID: callID)
    }

    /// The OpenAI wire form: `{"role","content","tool_calls"?,"tool_call_id"?}`.
    public var json: JSONValue {
        var o: [String: JSONValue] = ["role": .string(role.rawValue), "content": content.map(JSONValue.string) ?? .null]
        if !toolCalls.isEmpty { o["tool_calls"] = .array(toolCalls.map(\.json)) }
        if let toolCallID { o["tool_call_id"] = .string(toolCallID) }
        return .object(o)
    }

    /// Parses a message an agent sent (or a provider returned). Anything malformed is INVALID_ARGS.
    public init(json: JSONValue) throws {
        guard let o = json.objectValue else { throw KernelError.invalid("a message must be an object") }
        guard let r = o["role"]?.stringValue, let role = Role(rawValue: r) else {
            throw KernelError.invalid("message role must be one of system, user, assistant, tool")
        }
        let content: String?
        switch o["content"] {
        case nil, .null?: content = nil
        case .string(let s)?: content = s
        case .array(let parts)?:
            // Some servers answer with content parts; only text parts carry meaning here.
            content = parts.compactMap { $0["text"]?.stringValue }.joined()
        default: throw KernelError.invalid("message content must be a string or null")
        }
        var calls: [ToolCall] = []
        if let raw = o["tool_calls"], raw != .null {
            guard let list = raw.arrayValue else { throw KernelError.invalid("tool_calls must be an array") }
            calls = try list.enumerated().map { try ToolCall(json: $0.element, index: $0.offset) }
        }
        if let raw = o["tool_call_id"], raw != .null, raw.stringValue == nil {
            throw KernelError.invalid("tool_call_id must be a string")
        }
        self.init(role: role, content: content, toolCalls: calls, toolCallID: o["tool_call_id"]?.stringValue)
    }
}

/// A function call the model asked for. `arguments` is the JSON text the model wrote,
/// kept verbatim: it may be invalid JSON, and the caller decides what to do with it.
public struct ToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id; self.name = name; self.arguments = arguments
    }

    /// The arguments parsed as JSON, or nil when the model wrote something else.
    public var parsedArguments: JSONValue? { try? JSONCodec.decode(arguments) }

    public var json: JSONValue {
        ["id": .string(id), "type": "function",
         "function": ["name": .string(name), "arguments": .string(arguments)]]
    }

    /// `index` names calls that arrive without an id (some local servers omit it).
    public init(json: JSONValue, index: Int = 0) throws {
        guard let fn = json["function"], let name = fn["name"]?.stringValue else {
            throw KernelError.invalid("a tool call needs function.name")
        }
        let arguments: String
        switch fn["arguments"] {
        case .string(let s)?: arguments = s
        case nil, .null?: arguments = "{}"
        case let other?: arguments = JSONCodec.string(other)
        }
        self.init(id: json["id"]?.stringValue ?? "call_\(index)", name: name, arguments: arguments)
    }
}
