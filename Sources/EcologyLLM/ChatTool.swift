import EcologyCore

/// A function the model may call (OpenAI function-calling schema).
/// `parameters` is a JSON Schema object describing the arguments.
public struct ChatTool: Sendable, Equatable {
    public var name: String
    public var description: String
    public var parameters: JSONValue

    public init(name: String, description: String, parameters: JSONValue = ["type": "object", "properties": [:]]) {
        self.name = name; self.description = description; self.parameters = parameters
    }

    /// `{"type":"function","function":{"name","description","parameters"}}`.
    public var json: JSONValue {
        ["type": "function",
         "function": ["name": .string(name), "description": .string(description), "parameters": parameters]]
    }

    /// Accepts both the wrapped wire form and a bare `{"name","description","parameters"}`.
    public init(json: JSONValue) throws {
        let fn = json["function"] ?? json
        guard let name = fn["name"]?.stringValue else { throw KernelError.invalid("a tool needs a name") }
        let parameters = fn["parameters"] ?? ["type": "object", "properties": [:]]
        self.init(name: name, description: fn["description"]?.stringValue ?? "", parameters: parameters)
    }

    /// Names the OpenAI API accepts: 1–64 of `[A-Za-z0-9_-]`.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.unicodeScalars.allSatisfy {
            ($0.value >= 0x30 && $0.value <= 0x39) || ($0.value >= 0x41 && $0.value <= 0x5A)
                || ($0.value >= 0x61 && $0.value <= 0x7A) || $0 == "_" || $0 == "-"
        }
    }
}

/// Whether and which tool the model must call.
public enum ToolChoice: Sendable, Equatable {
    case auto
    case none
    case required
    case function(String)

    var json: JSONValue {
        switch self {
        case .auto: return "auto"
        case .none: return "none"
        case .required: return "required"
        case .function(let name): return ["type": "function", "function": ["name": .string(name)]]
        }
    }
}

/// The shape the reply must take.
public enum ResponseFormat: Sendable, Equatable {
    /// Any JSON object.
    case jsonObject
    /// JSON matching `schema`; `name` is the schema's label on the wire.
    case jsonSchema(name: String, schema: JSONValue, strict: Bool)

    var json: JSONValue {
        switch self {
        case .jsonObject: return ["type": "json_object"]
        case .jsonSchema(let name, let schema, let strict):
            return ["type": "json_schema",
                    "json_schema": ["name": .string(name), "schema": schema, "strict": .bool(strict)]]
        }
    }
}
