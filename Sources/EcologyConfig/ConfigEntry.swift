import EcologyCore
import Yams

/// One key of the configuration file and everything Ecology does with it: read it
/// from YAML, check its bounds, write it back canonically, and list its key paths.
///
/// The whole file is a tree of entries (`WorldConfigSchema`), so loading, validation,
/// the canonical form behind the fingerprint and the documented key list cannot
/// drift apart: they are four readings of the same table.
struct ConfigEntry<Root>: Sendable {
    let key: String
    /// Reads the YAML value found at `path` into `root`; type errors only.
    let decode: @Sendable (_ node: Node, _ path: String, _ root: inout Root) throws -> Void
    /// Checks the bounds of the value in `root`; `path` is this entry's full key path.
    let check: @Sendable (_ root: Root, _ path: String) throws -> Void
    /// Canonical YAML lines for this entry, each starting with `indent`.
    let emit: @Sendable (_ root: Root, _ indent: String) -> [String]
    /// The full key paths of every leaf under this entry.
    let leafPaths: @Sendable (_ path: String) -> [String]
}

/// `parent.key`, or `key` at the top level.
func joinPath(_ parent: String, _ key: String) -> String {
    parent.isEmpty ? key : parent + "." + key
}

// MARK: - Mappings

enum ConfigMapping {
    /// Reads a mapping node into `root` through `entries`, rejecting unknown keys.
    /// A null node (a section whose keys are all commented out) changes nothing.
    /// Returns the keys that were given.
    @discardableResult
    static func decode<Root>(_ node: Node, path: String, entries: [ConfigEntry<Root>],
                             into root: inout Root) throws -> Set<String> {
        if ConfigScalar.isNull(node) { return [] }
        guard case .mapping(let mapping) = node else {
            throw ConfigError.invalid(path, "must be a mapping of keys, got \(ConfigScalar.describe(node))")
        }
        var given = Set<String>()
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                throw ConfigError.invalid(path, "keys must be plain names, got \(ConfigScalar.describe(keyNode))")
            }
            let keyPath = joinPath(path, keyScalar.string)
            guard let entry = entries.first(where: { $0.key == keyScalar.string }) else {
                throw ConfigError.unknownKey(keyPath)
            }
            try entry.decode(valueNode, keyPath, &root)
            given.insert(entry.key)
        }
        return given
    }

    static func check<Root>(_ root: Root, path: String, entries: [ConfigEntry<Root>]) throws {
        for entry in entries { try entry.check(root, joinPath(path, entry.key)) }
    }

    static func emit<Root>(_ root: Root, indent: String, entries: [ConfigEntry<Root>]) -> [String] {
        entries.flatMap { $0.emit(root, indent) }
    }

    static func leafPaths<Root>(_ path: String, entries: [ConfigEntry<Root>]) -> [String] {
        entries.flatMap { $0.leafPaths(joinPath(path, $0.key)) }
    }
}

// MARK: - Entry kinds

extension ConfigEntry {
    /// A nested mapping stored in `keyPath`.
    static func section<Section>(_ key: String, _ keyPath: WritableKeyPath<Root, Section> & Sendable,
                                 _ entries: [ConfigEntry<Section>]) -> ConfigEntry {
        ConfigEntry(
            key: key,
            decode: { node, path, root in
                try ConfigMapping.decode(node, path: path, entries: entries, into: &root[keyPath: keyPath])
            },
            check: { root, path in try ConfigMapping.check(root[keyPath: keyPath], path: path, entries: entries) },
            emit: { root, indent in
                ["\(indent)\(key):"] + ConfigMapping.emit(root[keyPath: keyPath], indent: indent + "  ", entries: entries)
            },
            leafPaths: { path in ConfigMapping.leafPaths(path, entries: entries) }
        )
    }

    /// An integer within `range`. Floats (`3.0`), quoted numbers (`"3"`) and words are rejected.
    static func integer<Value: FixedWidthInteger & SignedInteger & Sendable>(
        _ key: String, _ keyPath: WritableKeyPath<Root, Value> & Sendable, _ range: ClosedRange<Value>
    ) -> ConfigEntry {
        let requirement = range.upperBound == Value.max
            ? "an integer ≥ \(range.lowerBound)"
            : "an integer from \(range.lowerBound) to \(range.upperBound)"
        return ConfigEntry(
            key: key,
            decode: { node, path, root in
                guard let value: Value = ConfigScalar.integer(node) else {
                    throw ConfigError.invalid(path, "must be \(requirement), got \(ConfigScalar.describe(node))")
                }
                root[keyPath: keyPath] = value
            },
            check: { root, path in
                let value = root[keyPath: keyPath]
                guard range.contains(value) else {
                    throw ConfigError.invalid(path, "must be \(requirement), got \(value)")
                }
            },
            emit: { root, indent in ["\(indent)\(key): \(root[keyPath: keyPath])"] },
            leafPaths: { [$0] }
        )
    }

    /// A finite number (integers are numbers too) within `bound`.
    static func number(_ key: String, _ keyPath: WritableKeyPath<Root, Double> & Sendable, _ bound: NumberBound) -> ConfigEntry {
        ConfigEntry(
            key: key,
            decode: { node, path, root in
                guard let value = ConfigScalar.number(node) else {
                    throw ConfigError.invalid(path, "must be \(bound.requirement), got \(ConfigScalar.describe(node))")
                }
                root[keyPath: keyPath] = value
            },
            check: { root, path in
                let value = root[keyPath: keyPath]
                guard bound.contains(value) else {
                    throw ConfigError.invalid(path, "must be \(bound.requirement), got \(value)")
                }
            },
            emit: { root, indent in ["\(indent)\(key): \(root[keyPath: keyPath])"] },
            leafPaths: { [$0] }
        )
    }

    /// A string for which `problem` returns nil; otherwise `problem` says what is wrong.
    static func text(_ key: String, _ keyPath: WritableKeyPath<Root, String> & Sendable,
                     problem: @escaping @Sendable (String) -> String?) -> ConfigEntry {
        ConfigEntry(
            key: key,
            decode: { node, path, root in
                guard let value = ConfigScalar.text(node) else {
                    throw ConfigError.invalid(path, "must be a string, got \(ConfigScalar.describe(node))")
                }
                root[keyPath: keyPath] = value
            },
            check: { root, path in
                let value = root[keyPath: keyPath]
                if let problem = problem(value) {
                    throw ConfigError.invalid(path, "\(problem), got \(ConfigScalar.quoted(value))")
                }
            },
            emit: { root, indent in ["\(indent)\(key): \(ConfigScalar.quoted(root[keyPath: keyPath]))"] },
            leafPaths: { [$0] }
        )
    }

    /// One of a fixed set of words.
    static func choice(_ key: String, _ keyPath: WritableKeyPath<Root, String> & Sendable, _ choices: [String]) -> ConfigEntry {
        let list = choices.map { "\"\($0)\"" }.joined(separator: ", ")
        return text(key, keyPath) { choices.contains($0) ? nil : "must be one of \(list)" }
    }
}

/// The bounds of a configured number.
enum NumberBound {
    /// Seconds, > 0 and at most `maxDurationSeconds`.
    case duration
    /// Seconds, ≥ 0 and at most `maxDurationSeconds`.
    case durationOrZero
    case range(ClosedRange<Double>)

    /// 100 years (`CheckedNumber.maxDurationSeconds`): every duration the runtime turns into µs, ns or `Int` stays inside Int64.
    static let maxDurationSeconds = CheckedNumber.maxDurationSeconds

    func contains(_ value: Double) -> Bool {
        guard value.isFinite else { return false }
        switch self {
        case .duration: return value > 0 && value <= Double(Self.maxDurationSeconds)
        case .durationOrZero: return value >= 0 && value <= Double(Self.maxDurationSeconds)
        case .range(let range): return range.contains(value)
        }
    }

    var requirement: String {
        switch self {
        case .duration: return "a number of seconds > 0 and ≤ \(Self.maxDurationSeconds)"
        case .durationOrZero: return "a number of seconds ≥ 0 and ≤ \(Self.maxDurationSeconds)"
        case .range(let range): return "a number from \(range.lowerBound) to \(range.upperBound)"
        }
    }
}
