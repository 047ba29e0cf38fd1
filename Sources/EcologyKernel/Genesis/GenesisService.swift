import EcologyCore

/// One tool of an MCP-style interface.
public struct ToolSpec: Sendable {
    public var name: String
    public var description: String
    public var inputSchema: JSONValue

    /// `params` lists (name, JSON type, description, required) in positional order.
    init(_ name: String, _ description: String, _ params: [(String, String, String, Bool)] = []) {
        self.name = name
        self.description = description
        var props: [String: JSONValue] = [:]
        for (n, t, d, _) in params { props[n] = .object(["type": .string(t), "description": .string(d)]) }
        let required = params.filter(\.3).map { JSONValue.string($0.0) }
        self.inputSchema = .object(["type": "object", "properties": .object(props), "required": .array(required),
                                    "additionalProperties": false])
        // Optional parameters are positional after the required ones, alphabetically (JSONSchema.parameterOrder).
        precondition(params.filter { !$0.3 }.map(\.0) == params.filter { !$0.3 }.map(\.0).sorted(),
                     "optional params of \(name) must be listed alphabetically")
        precondition(params.prefix(required.count).allSatisfy(\.3), "required params of \(name) come first")
    }

    public var json: JSONValue {
        .object(["name": .string(name), "description": .string(description), "inputSchema": inputSchema])
    }
}

/// A genesis service: an artifact whose methods the kernel answers natively.
protocol GenesisService: Sendable {
    static var id: String { get }
    var summary: String { get }
    var tools: [ToolSpec] { get }
    func call(_ method: String, _ args: Args, _ context: CallContext, _ kernel: Kernel) throws -> JSONValue
}

extension GenesisService {
    var interface: JSONValue { .object(["tools": .array(tools.map(\.json))]) }
    func unknown(_ method: String) -> KernelError { KernelError.invalid("\(Self.id) has no method '\(method)'") }
}
