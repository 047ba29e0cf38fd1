import EcologyCore

/// The writable fields of an artifact, validated from `write` / `genesis_store.create` arguments.
struct ArtifactSpec {
    var kind: String
    var content: String
    var code: String?
    var interface: JSONValue?
    var contract: String
    var standing: Bool
    var executable: Bool
    var price: Int64
    var metadata: JSONValue

    init(from a: Artifact) {
        kind = a.kind; content = a.content; code = a.code; interface = a.interface; contract = a.accessContractID
        standing = a.hasStanding; executable = a.canExecute; price = a.price; metadata = a.metadata
    }

    /// Validates write arguments. With `base` (an existing artifact being rewritten),
    /// every field not given keeps its current value — leaving out `contract` must never
    /// turn a private artifact public.
    init(args: Args, limits: LimitConfig, base: Artifact? = nil) throws {
        switch args.values["content"] {
        case nil, .null?: content = base?.content ?? ""
        case .string(let text)?: content = text
        case let json?: content = JSONCodec.string(json)  // JSON content is stored as canonical text
        }
        code = try args.optionalString("code") ?? base?.code
        standing = try args.bool("standing", default: base?.hasStanding ?? false)
        executable = try args.bool("executable", default: base?.canExecute ?? (code != nil))
        contract = try args.optionalID("contract") ?? base?.accessContractID ?? GenesisContract.freeware.rawValue
        price = try args.optionalInt("price") ?? base?.price ?? 0
        metadata = args.has("metadata") ? .object(try args.object("metadata")) : (base?.metadata ?? .object([:]))
        interface = base?.interface
        if price < 0 || price > args.maxAmount { throw KernelError.invalid("price must be between 0 and \(args.maxAmount)") }
        if content.utf8.count > limits.maxContentBytes {
            throw KernelError.invalid("content is \(content.utf8.count) bytes; the maximum is \(limits.maxContentBytes)")
        }
        if let code, code.utf8.count > limits.maxCodeBytes {
            throw KernelError.invalid("code is \(code.utf8.count) bytes; the maximum is \(limits.maxCodeBytes)")
        }
        if args.has("interface") {
            guard let i = args.values["interface"], i.objectValue != nil else {
                throw KernelError.invalid("interface must be an object {\"tools\": [...]}")
            }
            interface = i
            try Self.validateInterface(i)
        }
        if JSONCodec.string(metadata).utf8.count > 16_384 { throw KernelError.invalid("metadata must be ≤ 16 KiB") }
        if executable && interface == nil && !standing {
            throw KernelError.invalid("an executable artifact needs an interface {\"tools\":[{\"name\",\"description\",\"inputSchema\"}]}")
        }
        if executable && code == nil && !standing {
            throw KernelError.invalid("an executable tool needs code")
        }
        switch (standing, executable) {
        case (true, true): kind = "agent"
        case (false, true): kind = "tool"
        case (true, false): kind = "account"
        case (false, false): kind = "data"
        }
        if let k = try args.optionalString("kind"), ["memory", "contract", "data"].contains(k), !standing { kind = k }
    }

    /// An MCP-style interface: `{"tools":[{"name","description","inputSchema"}]}`.
    static func validateInterface(_ i: JSONValue) throws {
        guard let tools = i["tools"]?.arrayValue else { throw KernelError.invalid("interface.tools must be an array") }
        var seen = Set<String>()
        for (n, t) in tools.enumerated() {
            guard let name = t["name"]?.stringValue, !name.isEmpty, name.count <= 64,
                  name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw KernelError.invalid("interface.tools[\(n)].name must be 1-64 letters, digits or '_'")
            }
            if !seen.insert(name).inserted { throw KernelError.invalid("interface.tools has '\(name)' twice") }
            if let s = t["inputSchema"] {
                guard s.objectValue != nil else { throw KernelError.invalid("interface.tools[\(n)].inputSchema must be an object") }
                // Refused now, keyword named, rather than validating nothing at every invoke.
                _ = try JSONSchema.compile(s, path: "interface.tools[\(n)].inputSchema")
            }
        }
    }
}

extension Artifact {
    /// The tool entry named `method` in this artifact's interface.
    func tool(_ method: String) -> JSONValue? {
        interface?["tools"]?.arrayValue?.first { $0["name"]?.stringValue == method }
    }
}
