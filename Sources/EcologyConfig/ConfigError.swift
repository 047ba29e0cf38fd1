/// A configuration that cannot be used, named by where it went wrong.
///
/// Every error carries the full key path of the offending value (`mint.slots`,
/// `agents[2].id`, `llm.prices.llama3.2.input_per_million_microdollars`), so the one
/// line the CLI prints is enough to find and fix it. YAML syntax errors carry the
/// line and column instead.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The text is not well-formed YAML.
        case syntax(line: Int, column: Int)
        /// A key Ecology does not know (often a typo); nothing is silently ignored.
        case unknownKey
        /// A value of the wrong type, or out of its bounds.
        case invalidValue
        /// The file could not be read.
        case unreadable
    }

    public var kind: Kind
    /// Full key path of the offending value; empty for syntax and file errors.
    public var path: String
    /// What is wrong, e.g. `must be an integer ≥ 1, got "three"`.
    public var message: String
    /// The file the configuration came from, when it came from one.
    public var file: String?

    public init(kind: Kind, path: String, message: String, file: String? = nil) {
        self.kind = kind
        self.path = path
        self.message = message
        self.file = file
    }

    static func unknownKey(_ path: String) -> ConfigError {
        ConfigError(kind: .unknownKey, path: path, message: "unknown key")
    }

    static func invalid(_ path: String, _ message: String) -> ConfigError {
        ConfigError(kind: .invalidValue, path: path, message: message)
    }

    public var description: String {
        let prefix = file.map { "\($0): " } ?? ""
        switch kind {
        case let .syntax(line, column):
            return "\(prefix)config error at line \(line), column \(column): \(message)"
        case .unreadable:
            return "\(prefix)config error: \(message)"
        case .unknownKey, .invalidValue:
            return "\(prefix)config error at \(path.isEmpty ? "top level" : path): \(message)"
        }
    }
}
