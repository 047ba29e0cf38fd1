/// Validation of a value against a `CompiledSchema`. The order of checks is fixed and
/// the same as `sandbox/agent/schema.py`'s, so both name the same keyword for the same
/// mismatch (Tests/Fixtures/json-schema-cases.json): `false`, `$ref`, `type`, `enum`,
/// `const`, the numeric bounds, `minLength`, `maxLength`, `pattern`, `minItems`,
/// `maxItems`, `items` (by index), `required` (as listed), `properties` and
/// `additionalProperties` (by property name, sorted), `allOf`, `anyOf`, `oneOf`.
/// The work is counted (`SchemaBudget`), since schema and value are both hostile.
extension CompiledSchema {
    /// Throws INVALID_ARGS naming the path of the first mismatch (`details.keyword`,
    /// `details.path`), or when validation would take more than `steps` steps.
    public func validate(_ value: JSONValue, path: String = "args", steps: Int = JSONSchema.Limits.validationSteps) throws {
        var budget = SchemaBudget(steps: steps)
        if let mismatch = try check(value, 0, path, depth: 0, &budget) {
            throw KernelError(.invalidArgs, mismatch.message,
                              details: ["keyword": .string(mismatch.keyword), "path": .string(mismatch.path)])
        }
    }

    /// Whether `value` fits, and the steps it took (for the attack tests, which count work).
    public func stepsToValidate(_ value: JSONValue, steps: Int = JSONSchema.Limits.validationSteps) throws -> (valid: Bool, steps: Int) {
        var budget = SchemaBudget(steps: steps)
        let mismatch = try check(value, 0, "args", depth: 0, &budget)
        return (mismatch == nil, steps - budget.remaining)
    }

    struct Mismatch: Equatable {
        var keyword: String
        var path: String
        var message: String
    }

    private func check(_ value: JSONValue, _ index: Int, _ path: String, depth: Int,
                       _ budget: inout SchemaBudget) throws -> Mismatch? {
        try budget.spend(1)
        if depth > JSONSchema.Limits.maxEvaluationDepth {
            throw KernelError(.invalidArgs, "\(path): the schema applies subschemas more than \(JSONSchema.Limits.maxEvaluationDepth) deep to these arguments",
                              details: ["limit": "evaluation_depth", "path": .string(path)])
        }
        let node = nodes[index]
        func fail(_ keyword: String, _ message: String, at p: String? = nil) -> Mismatch {
            Mismatch(keyword: keyword, path: p ?? path, message: message)
        }
        if node.rejectsEverything { return fail("false", "\(path) is not allowed here") }
        if let ref = node.ref, let m = try check(value, ref, path, depth: depth + 1, &budget) { return m }
        if let types = node.types, !types.contains(where: { JSONSchema.matches(value, type: $0) }) {
            return fail("type", "\(path) must be \(types.joined(separator: " or ")), got \(value.typeName)")
        }
        if let values = node.enumValues {
            var found = false
            for candidate in values {
                if try JSONSchema.equal(value, candidate, &budget) { found = true; break }
            }
            if !found {
                let shown = values.prefix(20).map { JSONCodec.string($0).prefix(80) }.joined(separator: ",")
                return fail("enum", "\(path) must be one of [\(shown)\(values.count > 20 ? ",…" : "")]")
            }
        }
        if let c = node.constValue, try !JSONSchema.equal(value, c, &budget) {
            return fail("const", "\(path) must be \(JSONCodec.string(c).prefix(200))")
        }
        if value.doubleValue != nil {
            if let min = node.minimum, let o = JSONSchema.compare(value, min), o < 0 { return fail("minimum", "\(path) must be ≥ \(JSONSchema.format(min))") }
            if let max = node.maximum, let o = JSONSchema.compare(value, max), o > 0 { return fail("maximum", "\(path) must be ≤ \(JSONSchema.format(max))") }
            if let min = node.exclusiveMinimum, let o = JSONSchema.compare(value, min), o <= 0 {
                return fail("exclusiveMinimum", "\(path) must be > \(JSONSchema.format(min))")
            }
            if let max = node.exclusiveMaximum, let o = JSONSchema.compare(value, max), o >= 0 {
                return fail("exclusiveMaximum", "\(path) must be < \(JSONSchema.format(max))")
            }
        }
        if case .string(let text) = value {
            if node.minLength != nil || node.maxLength != nil {
                // Unicode scalars (JSON's code points, Python's len), not grapheme clusters.
                let length = Int64(text.unicodeScalars.count)  // Int to Int64: lossless on every supported (64-bit) platform
                try budget.spend(Int(clamping: length / 64))
                if let min = node.minLength, length < min { return fail("minLength", "\(path) must have at least \(min) characters") }
                if let max = node.maxLength, length > max { return fail("maxLength", "\(path) must have at most \(max) characters") }
            }
            if let regex = node.pattern, try !regex.matches(text, budget: &budget) {
                return fail("pattern", "\(path) must match the pattern \(JSONCodec.string(.string(String(regex.pattern.prefix(200)))))")
            }
        }
        if case .array(let items) = value {
            if let min = node.minItems, items.count < min { return fail("minItems", "\(path) must have at least \(min) items") }
            if let max = node.maxItems, items.count > max { return fail("maxItems", "\(path) must have at most \(max) items") }
            if let itemSchema = node.items {
                for (i, item) in items.enumerated() {
                    if let m = try check(item, itemSchema, "\(path)[\(i)]", depth: depth + 1, &budget) { return m }
                }
            }
        }
        if case .object(let object) = value {
            for name in node.required where object[name] == nil {
                return fail("required", "\(path).\(name) is required", at: "\(path).\(name)")
            }
            if !node.properties.isEmpty || node.additionalProperties != nil {
                try budget.spend(object.count)
                for key in object.keys.sorted() {
                    guard let v = object[key] else { continue }
                    if let p = node.properties[key] {
                        if let m = try check(v, p, "\(path).\(key)", depth: depth + 1, &budget) { return m }
                    } else if let extra = node.additionalProperties {
                        if nodes[extra].rejectsEverything {
                            return fail("additionalProperties", "\(path).\(key) is not an accepted argument", at: "\(path).\(key)")
                        }
                        if let m = try check(v, extra, "\(path).\(key)", depth: depth + 1, &budget) { return m }
                    }
                }
            }
        }
        for member in node.allOf {
            if let m = try check(value, member, path, depth: depth + 1, &budget) { return m }
        }
        if !node.anyOf.isEmpty {
            var first: Mismatch?
            var matched = false
            for member in node.anyOf {
                guard let m = try check(value, member, path, depth: depth + 1, &budget) else { matched = true; break }
                if first == nil { first = m }
            }
            if !matched {
                return fail("anyOf", "\(path) must match at least one of the anyOf schemas (the first says: \(first?.message ?? ""))")
            }
        }
        if !node.oneOf.isEmpty {
            var matches = 0
            var first: Mismatch?
            for member in node.oneOf {
                if let m = try check(value, member, path, depth: depth + 1, &budget) {
                    if first == nil { first = m }
                } else {
                    matches += 1
                }
            }
            if matches == 0 {
                return fail("oneOf", "\(path) must match exactly one of the oneOf schemas, matches none (the first says: \(first?.message ?? ""))")
            }
            if matches > 1 { return fail("oneOf", "\(path) must match exactly one of the oneOf schemas, matches \(matches)") }
        }
        return nil
    }
}

/// The steps a validation may still take; `spend` throws INVALID_ARGS once they run out.
public struct SchemaBudget: Sendable {
    private(set) var remaining: Int
    let limit: Int

    public init(steps: Int) {
        remaining = steps
        limit = steps
    }

    mutating func spend(_ steps: Int) throws {
        remaining -= Swift.min(steps, remaining)
        if remaining == 0 && steps > 0 {
            throw KernelError(.invalidArgs, "checking these arguments against the tool's inputSchema takes more than \(limit) steps; send less, or simplify the schema",
                              // Int to Int64: lossless on every supported (64-bit) platform.
                              details: ["limit": "validation_steps", "steps": .int(Int64(limit))])
        }
    }
}

extension JSONSchema {
    static func matches(_ v: JSONValue, type: String) -> Bool {
        switch type {
        case "null": return v == .null
        case "boolean": return v.boolValue != nil
        case "integer": return v.intValue != nil
        case "number": return v.doubleValue != nil
        case "string": return v.stringValue != nil
        case "array": return v.arrayValue != nil
        case "object": return v.objectValue != nil
        default: return false
        }
    }

    /// -1, 0 or 1 for two JSON numbers (nil if either is not one), compared exactly:
    /// 2^53 + 1 is above 2^53 (equal as doubles), and an integer against a double by
    /// value, as Python compares int and float.
    static func compare(_ a: JSONValue, _ b: JSONValue) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.int(let x), .number(let y)): return compare(x, y)
        case (.number(let x), .int(let y)): return -compare(y, x)
        case (.number(let x), .number(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        default: return nil
        }
    }

    /// An Int64 against a finite double, exactly (no rounding of either).
    private static func compare(_ i: Int64, _ d: Double) -> Int {
        if d.isNaN { return 0 }
        if d >= CheckedNumber.twoToThe63 { return -1 }
        if d < -CheckedNumber.twoToThe63 { return 1 }
        let whole = d.rounded(.towardZero)
        let w = CheckedNumber.clamped(whole)  // |whole| ≤ 2^63 here, so exact
        if i != w { return i < w ? -1 : 1 }
        return d > whole ? -1 : (d < whole ? 1 : 0)
    }

    /// JSON equality for `enum` and `const`: numbers by value (1 equals 1.0), strings
    /// by their scalars (Swift's `==` would call canonically equivalent strings equal,
    /// Python does not), arrays in order, objects by key set. Each value visited is a step.
    static func equal(_ a: JSONValue, _ b: JSONValue, _ budget: inout SchemaBudget) throws -> Bool {
        try budget.spend(1)
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int, .int), (.int, .number), (.number, .int), (.number, .number): return compare(a, b) == 0
        case (.string(let x), .string(let y)):
            try budget.spend(Swift.min(x.utf8.count, y.utf8.count) / 64)
            return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            for (p, q) in zip(x, y) {
                if try !equal(p, q, &budget) { return false }
            }
            return true
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            // In sorted order, so the steps counted do not depend on the hash seed.
            for k in x.keys.sorted() {
                guard let p = x[k], let q = y[k], try equal(p, q, &budget) else { return false }
            }
            return true
        default: return false
        }
    }

    /// A bound as the schema wrote it: an integer exactly, any other number as a double.
    static func format(_ bound: JSONValue) -> String {
        if case .int(let i) = bound { return String(i) }
        if let i = bound.intValue { return String(i) }
        return bound.doubleValue.map { String($0) } ?? JSONCodec.string(bound)
    }
}
