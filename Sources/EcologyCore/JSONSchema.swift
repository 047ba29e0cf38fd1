/// A small JSON Schema validator for tool `inputSchema`s: the subset that tool
/// interfaces use (type, properties, required, additionalProperties, items, enum,
/// minimum/maximum, minLength/maxLength, minItems/maxItems). Unknown keywords are ignored.
public enum JSONSchema {
    /// Throws INVALID_ARGS naming the path of the first mismatch.
    public static func validate(_ value: JSONValue, against schema: JSONValue, path: String = "args") throws {
        guard case .object(let s) = schema else { return }
        if let t = s["type"] {
            let allowed: [String] = t.stringValue.map { [$0] } ?? (t.arrayValue?.compactMap(\.stringValue) ?? [])
            if !allowed.isEmpty && !allowed.contains(where: { matches(value, type: $0) }) {
                throw KernelError.invalid("\(path) must be \(allowed.joined(separator: " or ")), got \(value.typeName)")
            }
        }
        if let e = s["enum"]?.arrayValue, !e.contains(value) {
            throw KernelError.invalid("\(path) must be one of \(JSONCodec.string(.array(e)))")
        }
        if value.doubleValue != nil {
            // The bounds come from an agent's interface: any JSON number, 1e300 included.
            if let min = s["minimum"], let order = compare(value, min), order < 0 {
                throw KernelError.invalid("\(path) must be ≥ \(fmt(min))")
            }
            if let max = s["maximum"], let order = compare(value, max), order > 0 {
                throw KernelError.invalid("\(path) must be ≤ \(fmt(max))")
            }
        }
        if case .string(let str) = value {
            if let min = s["minLength"]?.intValue, str.count < min { throw KernelError.invalid("\(path) must have at least \(min) characters") }
            if let max = s["maxLength"]?.intValue, str.count > max { throw KernelError.invalid("\(path) must have at most \(max) characters") }
        }
        if case .array(let items) = value {
            if let min = s["minItems"]?.intValue, items.count < min { throw KernelError.invalid("\(path) must have at least \(min) items") }
            if let max = s["maxItems"]?.intValue, items.count > max { throw KernelError.invalid("\(path) must have at most \(max) items") }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() { try validate(item, against: itemSchema, path: "\(path)[\(i)]") }
            }
        }
        if case .object(let obj) = value {
            let props = s["properties"]?.objectValue ?? [:]
            for name in s["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where obj[name] == nil {
                throw KernelError.invalid("\(path).\(name) is required")
            }
            for (k, v) in obj {
                if let ps = props[k] { try validate(v, against: ps, path: "\(path).\(k)") }
                else if s["additionalProperties"] == .bool(false) {
                    throw KernelError.invalid("\(path).\(k) is not an accepted argument")
                }
            }
        }
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

    static func matches(_ v: JSONValue, type: String) -> Bool {
        switch type {
        case "null": return v == .null
        case "boolean": return v.boolValue != nil
        case "integer": return v.intValue != nil && v.boolValue == nil
        case "number": return v.doubleValue != nil
        case "string": return v.stringValue != nil
        case "array": return v.arrayValue != nil
        case "object": return v.objectValue != nil
        default: return true
        }
    }

    /// -1, 0 or 1 for two JSON numbers (nil if either is not one). Two integers compare
    /// exactly (2^53 + 1 > 2^53, which as doubles are equal); otherwise as doubles.
    static func compare(_ a: JSONValue, _ b: JSONValue) -> Int? {
        if case .int(let x) = a, case .int(let y) = b { return x < y ? -1 : (x > y ? 1 : 0) }
        guard let x = a.doubleValue, let y = b.doubleValue else { return nil }
        return x < y ? -1 : (x > y ? 1 : 0)
    }

    /// A bound as the schema wrote it: an integer exactly, any other number as a double.
    private static func fmt(_ bound: JSONValue) -> String {
        if let i = bound.intValue { return String(i) }
        return bound.doubleValue.map { String($0) } ?? JSONCodec.string(bound)
    }
}
