/// Tool `inputSchema`s: the JSON Schema subset docs/KERNEL.md names ("Tool
/// interfaces"), compiled once per use (`compile`, JSONSchemaCompile.swift, which refuses
/// every other keyword), validated with bounded work (JSONSchemaValidation.swift) and
/// `pattern`s matched in linear time (`SchemaRegex`); and the positional order of a
/// tool's arguments.
public enum JSONSchema {
    /// Compiles `schema` and validates `value` against it. Throws INVALID_ARGS naming the
    /// path of the first mismatch, or the keyword of a schema outside the subset.
    public static func validate(_ value: JSONValue, against schema: JSONValue, path: String = "args") throws {
        try compile(schema).validate(value, path: path)
    }

    /// The positional order of a tool's arguments: the `required` names in order,
    /// then the optional properties alphabetically.
    public static func parameterOrder(of schema: JSONValue) -> [String] {
        let required = schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let optional = (schema["properties"]?.objectValue?.keys.map { $0 } ?? [])
            .filter { !required.contains($0) }.sorted()
        return required + optional
    }

    /// Turns positional arguments into the named object the schema describes,
    /// or passes a single object argument through. Throws INVALID_ARGS for surplus arguments.
    public static func namedArguments(_ args: [JSONValue], schema: JSONValue) throws -> [String: JSONValue] {
        let order = parameterOrder(of: schema)
        if args.count == 1, case .object(let o) = args[0],
           !(order.count == 1 && schema["properties"]?[order[0]]?["type"]?.stringValue == "object") {
            return o
        }
        if args.count > order.count {
            throw KernelError.invalid("expected at most \(order.count) arguments (\(order.joined(separator: ", "))), got \(args.count)")
        }
        var named: [String: JSONValue] = [:]
        for (i, a) in args.enumerated() { named[order[i]] = a }
        return named
    }

    /// The arguments in positional order for calling the tool's function. Optional
    /// arguments may be left out only at the end (a function cannot skip a position).
    public static func positionalArguments(_ named: [String: JSONValue], schema: JSONValue) throws -> [JSONValue] {
        let order = parameterOrder(of: schema)
        let given = order.prefix { named[$0] != nil }
        if let skipped = order.dropFirst(given.count).first(where: { named[$0] != nil }) {
            throw KernelError.invalid("argument '\(skipped)' is given but an earlier optional argument is not; give them in order: \(order.joined(separator: ", "))")
        }
        if let unknown = named.keys.sorted().first(where: { !order.contains($0) }) {
            throw KernelError.invalid("'\(unknown)' is not an argument of this tool; arguments: \(order.joined(separator: ", "))")
        }
        return given.map { named[$0]! }
    }
}
