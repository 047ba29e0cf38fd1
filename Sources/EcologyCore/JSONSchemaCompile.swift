/// A tool's `inputSchema` checked once and turned into nodes that `CompiledSchema.validate`
/// walks. Every keyword outside the documented subset (docs/KERNEL.md, "Tool
/// interfaces") is refused — never ignored — and so is a malformed one, with the keyword
/// named in `details.keyword` and its JSON path in `details.path`. Schemas are written by
/// any agent, so compiling is bounded too (`JSONSchema.Limits`), and a `$ref` cycle that
/// never descends into the instance (`{"$ref": "#"}`) is refused here rather than found
/// by validation running forever. `sandbox/agent/schema.py` refuses the same schemas in
/// the same order (keywords in sorted order, depth first, references last).
public struct CompiledSchema: Sendable {
    let nodes: [SchemaNode]
}

/// One subschema. `nil`/empty fields are keywords the subschema does not use.
struct SchemaNode: Sendable {
    var rejectsEverything = false  // the boolean schema `false`
    var types: [String]?
    var enumValues: [JSONValue]?
    var constValue: JSONValue?
    var minimum: JSONValue?
    var maximum: JSONValue?
    var exclusiveMinimum: JSONValue?
    var exclusiveMaximum: JSONValue?
    var minLength: Int64?
    var maxLength: Int64?
    var pattern: SchemaRegex?
    var minItems: Int64?
    var maxItems: Int64?
    var items: Int?
    var properties: [String: Int] = [:]
    var required: [String] = []
    var additionalProperties: Int?
    var allOf: [Int] = []
    var anyOf: [Int] = []
    var oneOf: [Int] = []
    var ref: Int?
}

extension JSONSchema {
    /// What a hostile schema may cost. The Python side enforces the compile limits too.
    public enum Limits {
        /// Subschemas nested in one another (through properties, items, allOf, …).
        public static let maxDepth = 32
        /// Subschemas in one schema, `$defs` included.
        public static let maxSubschemas = 1_000
        /// Values in one `enum`.
        public static let maxEnumValues = 1_000
        /// Members of one `allOf`, `anyOf` or `oneOf`.
        public static let maxMembers = 64
        /// Steps one validation may take (a subschema applied, a value compared, a state
        /// of a pattern's automaton at one character); beyond them the arguments are
        /// refused. A string costs about its length times the states its pattern keeps
        /// alive: `^[a-z]+$` takes about 9 steps a character, so 4 M steps check some 400 kB.
        public static let validationSteps = 4_000_000
        /// Subschemas applied inside one another at once while validating (a recursive
        /// `$ref` on a deep instance); bounds the validator's stack.
        public static let maxEvaluationDepth = 256
    }

    /// The types `type` may name. "integer" is an exact integer as `JSONValue.intValue`
    /// defines it (10 and 10.0 are; 1.5, 1e300 and 2^63 are not); "number" is any number.
    static let typeNames: Set<String> = ["null", "boolean", "integer", "number", "string", "array", "object"]

    /// Keywords that describe and never constrain: accepted (type-checked) and ignored.
    /// `$id` only at the root, where it cannot change what a `$ref` means.
    static let annotationKeywords: [String: AnnotationKind] = [
        "title": .string, "description": .string, "$comment": .string, "$schema": .string, "$id": .string,
        "default": .any, "examples": .array, "deprecated": .boolean, "readOnly": .boolean, "writeOnly": .boolean,
    ]

    enum AnnotationKind { case string, boolean, array, any }

    /// Checks `schema` against the subset and the limits and compiles it. Throws
    /// INVALID_ARGS naming the first offending keyword (`details.keyword`) and where it
    /// is (`details.path`, starting at `path`).
    public static func compile(_ schema: JSONValue, path: String = "inputSchema") throws -> CompiledSchema {
        var compiler = SchemaCompiler(root: schema)
        _ = try compiler.compile(schema, path: path, depth: 0, via: nil)
        try compiler.resolveReferences()
        try compiler.refuseCyclesWithoutDescent()
        return CompiledSchema(nodes: compiler.nodes)
    }

    static func refusal(_ keyword: String, at path: String, _ message: String) -> KernelError {
        KernelError(.invalidArgs, "\(path) \(message)", details: ["keyword": .string(keyword), "path": .string(path)])
    }
}

struct SchemaCompiler {
    let root: JSONValue
    var nodes: [SchemaNode] = []
    /// `$ref`s seen, resolved once every subschema (and so every `$defs` entry) is known.
    var references: [(node: Int, target: String, path: String)] = []
    /// "#/$defs/name" and "#/definitions/name" → node.
    var definitions: [String: Int] = [:]

    init(root: JSONValue) { self.root = root }

    /// Compiles one subschema reached through keyword `via` (nil at the root).
    mutating func compile(_ schema: JSONValue, path: String, depth: Int, via keyword: String?) throws -> Int {
        let context = keyword ?? "schema"
        if depth > JSONSchema.Limits.maxDepth {
            throw JSONSchema.refusal(context, at: path, "nests subschemas more than \(JSONSchema.Limits.maxDepth) deep")
        }
        if nodes.count >= JSONSchema.Limits.maxSubschemas {
            throw JSONSchema.refusal(context, at: path, "makes the schema more than \(JSONSchema.Limits.maxSubschemas) subschemas")
        }
        let index = nodes.count
        nodes.append(SchemaNode())
        switch schema {
        case .bool(let accepts):
            nodes[index].rejectsEverything = !accepts
            return index
        case .object(let keywords):
            var node = SchemaNode()
            for key in keywords.keys.sorted() {
                // Force-unwrap free: `key` comes from this dictionary's own keys.
                guard let value = keywords[key] else { continue }
                try apply(key, value, to: &node, index: index, path: path, depth: depth, isRoot: keyword == nil)
            }
            nodes[index] = node
            return index
        default:
            throw JSONSchema.refusal(context, at: path, "must be a schema (an object, or true or false), got \(schema.typeName)")
        }
    }

    private mutating func apply(_ key: String, _ value: JSONValue, to node: inout SchemaNode, index: Int,
                                path: String, depth: Int, isRoot: Bool) throws {
        let at = "\(path).\(key)"
        func refuse(_ message: String) -> KernelError { JSONSchema.refusal(key, at: at, message) }
        func number() throws -> JSONValue {
            guard value.doubleValue != nil else { throw refuse("must be a number, got \(value.typeName)") }
            return value
        }
        func count() throws -> Int64 {
            guard let n = value.intValue, value.boolValue == nil, n >= 0 else {
                throw refuse("must be a non-negative integer, got \(JSONCodec.string(value).prefix(40))")
            }
            return n
        }
        func subschema(_ v: JSONValue, _ p: String) throws -> Int {
            try compile(v, path: p, depth: depth + 1, via: key)
        }
        func members() throws -> [Int] {
            guard let list = value.arrayValue, !list.isEmpty else { throw refuse("must be a non-empty array of schemas") }
            if list.count > JSONSchema.Limits.maxMembers {
                throw refuse("has \(list.count) members; the maximum is \(JSONSchema.Limits.maxMembers)")
            }
            return try list.enumerated().map { try subschema($0.element, "\(at)[\($0.offset)]") }
        }

        switch key {
        case "type":
            let names: [JSONValue] = value.stringValue != nil ? [value] : (value.arrayValue ?? [])
            guard !names.isEmpty, names.allSatisfy({ $0.stringValue != nil }) else {
                throw refuse("must be a type name or a non-empty array of them")
            }
            var seen: [String] = []
            for case .string(let name) in names {
                guard JSONSchema.typeNames.contains(name) else {
                    throw refuse("names an unknown type '\(name.prefix(40))'; types: \(JSONSchema.typeNames.sorted().joined(separator: ", "))")
                }
                if seen.contains(name) { throw refuse("names '\(name)' twice") }
                seen.append(name)
            }
            node.types = seen
        case "enum":
            guard let list = value.arrayValue else { throw refuse("must be an array") }
            if list.count > JSONSchema.Limits.maxEnumValues {
                throw refuse("has \(list.count) values; the maximum is \(JSONSchema.Limits.maxEnumValues)")
            }
            node.enumValues = list
        case "const": node.constValue = value
        case "minimum": node.minimum = try number()
        case "maximum": node.maximum = try number()
        case "exclusiveMinimum": node.exclusiveMinimum = try number()
        case "exclusiveMaximum": node.exclusiveMaximum = try number()
        case "minLength": node.minLength = try count()
        case "maxLength": node.maxLength = try count()
        case "minItems": node.minItems = try count()
        case "maxItems": node.maxItems = try count()
        case "pattern":
            guard let text = value.stringValue else { throw refuse("must be a string, got \(value.typeName)") }
            do { node.pattern = try SchemaRegex(text) } catch let r as SchemaRegex.Refusal {
                throw refuse("is not in the supported regular-expression subset: it \(r.reason)")
            }
        case "items":
            if value.arrayValue != nil {
                throw refuse("must be one schema for every item (the array form of draft 4–2019 is not supported)")
            }
            node.items = try subschema(value, at)
        case "properties":
            guard let props = value.objectValue else { throw refuse("must be an object of schemas") }
            for name in props.keys.sorted() {
                guard let s = props[name] else { continue }
                node.properties[name] = try subschema(s, "\(at).\(name)")
            }
        case "required":
            guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                throw refuse("must be an array of property names")
            }
            var names: [String] = []
            for case .string(let name) in list {
                if names.contains(name) { throw refuse("names '\(name.prefix(64))' twice") }
                names.append(name)
            }
            node.required = names
        case "additionalProperties": node.additionalProperties = try subschema(value, at)
        case "allOf": node.allOf = try members()
        case "anyOf": node.anyOf = try members()
        case "oneOf": node.oneOf = try members()
        case "$ref":
            guard let target = value.stringValue else { throw refuse("must be a string, got \(value.typeName)") }
            references.append((index, target, at))
        case "$defs", "definitions":
            guard isRoot else { throw refuse("is accepted only at the schema's root (a $ref points into the root)") }
            guard let defs = value.objectValue else { throw refuse("must be an object of schemas") }
            for name in defs.keys.sorted() {
                guard let s = defs[name] else { continue }
                definitions["#/\(key)/\(Self.escapePointer(name))"] = try subschema(s, "\(at).\(name)")
            }
        default:
            guard let kind = JSONSchema.annotationKeywords[key] else {
                throw refuse("uses '\(key.prefix(64))', which is not a supported keyword; supported: type, enum, const, pattern, minLength, maxLength, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minItems, maxItems, items, properties, required, additionalProperties, allOf, anyOf, oneOf, $ref, $defs (annotations: \(JSONSchema.annotationKeywords.keys.sorted().joined(separator: ", ")))")
            }
            if key == "$id" && !isRoot { throw refuse("is accepted only at the schema's root") }
            switch kind {
            case .string where value.stringValue == nil: throw refuse("must be a string, got \(value.typeName)")
            case .boolean where value.boolValue == nil: throw refuse("must be true or false, got \(value.typeName)")
            case .array where value.arrayValue == nil: throw refuse("must be an array, got \(value.typeName)")
            default: break
            }
        }
    }

    /// A `$defs` name as a JSON pointer token (RFC 6901: `~` is `~0`, `/` is `~1`).
    static func escapePointer(_ name: String) -> String {
        name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// Points every `$ref` at its node: `#` (the root), `#/$defs/name` or
    /// `#/definitions/name`. Anything else — another document, an anchor, a pointer
    /// elsewhere, a name not defined — is refused as `$ref`.
    mutating func resolveReferences() throws {
        for r in references {
            let target: Int?
            if r.target == "#" { target = 0 } else { target = definitions[r.target] }
            guard let target else {
                let known = definitions.keys.sorted().prefix(20).joined(separator: ", ")
                throw JSONSchema.refusal("$ref", at: r.path, "'\(r.target.prefix(100))' does not resolve: a $ref must be '#', '#/$defs/<name>' or '#/definitions/<name>' of this schema (defined: \(known.isEmpty ? "none" : known))")
            }
            nodes[r.node].ref = target
        }
    }

    /// Refuses a cycle of `$ref`/`allOf`/`anyOf`/`oneOf` that applies a subschema to the
    /// same value it started from: validating it would never end. A cycle through
    /// `properties`, `additionalProperties` or `items` is a recursive schema and fine:
    /// each turn descends into the instance, whose depth is bounded.
    func refuseCyclesWithoutDescent() throws {
        // Iterative depth-first search; 0 unvisited, 1 on the stack, 2 done.
        var state = Array(repeating: 0, count: nodes.count)
        func sameValueEdges(_ i: Int) -> [Int] {
            let n = nodes[i]
            return (n.ref.map { [$0] } ?? []) + n.allOf + n.anyOf + n.oneOf
        }
        for start in nodes.indices where state[start] == 0 {
            var stack: [(node: Int, next: Int)] = [(start, 0)]
            state[start] = 1
            while let top = stack.last {
                let edges = sameValueEdges(top.node)
                if top.next < edges.count {
                    stack[stack.count - 1].next += 1
                    let to = edges[top.next]
                    if state[to] == 1 {
                        // Any such cycle passes through a `$ref` (the schema itself is a tree): name the first on it.
                        let onCycle = stack.drop { $0.node != to }.map(\.node)
                        let at = onCycle.lazy.compactMap { node in references.first { $0.node == node }?.path }.first ?? "schema"
                        throw JSONSchema.refusal("$ref", at: at, "makes a cycle that applies a schema to the same value again without descending into it (it would never finish)")
                    }
                    if state[to] == 0 { state[to] = 1; stack.append((to, 0)) }
                } else {
                    state[top.node] = 2
                    stack.removeLast()
                }
            }
        }
    }
}
