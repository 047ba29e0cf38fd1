import EcologyCore

/// Who is acting and who pays. Identity is bound by the supervisor (to the socket a
/// request arrived on), never taken from a request.
public struct CallContext: Sendable, Equatable {
    /// The identity permission checks run as: a principal, or the artifact whose
    /// code is running (tool code acts as the tool, never as its invoker).
    public var caller: String
    /// The principal charged for compute: the nearest principal with standing up the call chain.
    public var payer: String
    /// Nesting depth of invokes (0 for a top-level action).
    public var depth: Int

    public init(caller: String, payer: String, depth: Int = 0) {
        self.caller = caller; self.payer = payer; self.depth = depth
    }

    /// A principal acting for itself at top level.
    public static func principal(_ id: String) -> CallContext { CallContext(caller: id, payer: id, depth: 0) }
}

/// Typed access to an action's named arguments; every mismatch is INVALID_ARGS.
public struct Args: Sendable {
    public let values: [String: JSONValue]
    let maxAmount: Int64

    public init(_ values: [String: JSONValue], maxAmount: Int64 = 1_000_000_000_000) {
        self.values = values; self.maxAmount = maxAmount
    }

    public func has(_ name: String) -> Bool { values[name].map { !$0.isNull } ?? false }

    public func string(_ name: String) throws -> String {
        guard let v = values[name], !v.isNull else { throw KernelError.invalid("missing argument '\(name)'") }
        guard let s = v.stringValue else { throw KernelError.invalid("argument '\(name)' must be a string, got \(v.typeName)") }
        // Named string arguments are matched or stored as raw SQLite text (IDs, kinds,
        // topics, filters, edit text): one that the store would cut at a NUL is refused.
        try StoredText.require(s, field: "argument '\(name)'")
        return s
    }

    public func optionalString(_ name: String) throws -> String? { has(name) ? try string(name) : nil }

    public func id(_ name: String) throws -> String { try ArtifactID.validate(try string(name), field: name) }

    public func optionalID(_ name: String) throws -> String? { has(name) ? try id(name) : nil }

    /// An exact integer within Int64 (`JSONValue.intValue`): 1.5, 1e300 and 9.3e18 are INVALID_ARGS.
    public func int(_ name: String) throws -> Int64 {
        guard let v = values[name], !v.isNull else { throw KernelError.invalid("missing argument '\(name)'") }
        guard v.boolValue == nil, let i = v.intValue else {
            let shown = v.doubleValue.map { " \($0)" } ?? ""
            throw KernelError.invalid("argument '\(name)' must be an exact integer (a literal within 64 bits, or an integral number within ±(2^53−1)), got \(v.typeName)\(shown)")
        }
        return i
    }

    public func optionalInt(_ name: String) throws -> Int64? { has(name) ? try int(name) : nil }

    /// A strictly positive amount no larger than the configured maximum.
    public func amount(_ name: String) throws -> Int64 {
        let i = try int(name)
        if i <= 0 { throw KernelError.invalid("argument '\(name)' must be a positive integer, got \(i)") }
        if i > maxAmount { throw KernelError.invalid("argument '\(name)' is \(i); the maximum is \(maxAmount)") }
        return i
    }

    public func bool(_ name: String, default d: Bool) throws -> Bool {
        guard let v = values[name], !v.isNull else { return d }
        guard let b = v.boolValue else { throw KernelError.invalid("argument '\(name)' must be a boolean, got \(v.typeName)") }
        return b
    }

    public func object(_ name: String) throws -> [String: JSONValue] {
        guard let v = values[name], !v.isNull else { return [:] }
        guard let o = v.objectValue else { throw KernelError.invalid("argument '\(name)' must be an object, got \(v.typeName)") }
        return o
    }
}
