import EcologyCore
import Foundation
import Yams

/// Reads `WorldConfig` from YAML.
///
/// Guarantees: a partial file changes only the keys it gives; an unknown key, a value
/// of the wrong type (a float where an integer is required, a quoted number) or a value
/// out of bounds is a `ConfigError` naming its full key path; whatever is returned has
/// passed `WorldConfig.validate()`.
public enum ConfigLoader {
    /// Where `ecology` looks for its configuration unless told otherwise (relative to
    /// the working directory).
    public static let defaultPath = "config/ecology.yaml"

    /// Where a configuration comes from.
    public enum Source: Sendable, Equatable {
        case file(String)
        /// `embeddedDefaultsYAML`: the default path has no file (a fresh machine, an
        /// installed binary run outside the repository).
        case embeddedDefaults
    }

    /// What `load(path:)` reads for `path`: the file if it exists; the embedded defaults
    /// if `path` is the default path and nothing is there. Any other missing path is an
    /// error when loaded, so a mistyped `--config` is never silently replaced by defaults.
    public static func source(forPath path: String) -> Source {
        if path == defaultPath && !FileManager.default.fileExists(atPath: path) { return .embeddedDefaults }
        return .file(path)
    }

    /// Loads and validates the configuration at `path` (see `source(forPath:)`).
    public static func load(path: String) throws -> WorldConfig {
        switch source(forPath: path) {
        case .embeddedDefaults:
            return try load(yaml: embeddedDefaultsYAML)
        case .file(let file):
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ConfigError(kind: .unreadable, path: "", message: "cannot read \(file): \(readProblem(file))", file: file)
            }
            do {
                return try load(yaml: text)
            } catch var error as ConfigError {
                error.file = file
                throw error
            }
        }
    }

    /// Loads and validates configuration text; keys not given keep their defaults.
    public static func load(yaml: String) throws -> WorldConfig {
        var config = WorldConfig()
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error)
        }
        if let root {
            try ConfigMapping.decode(root, path: "", entries: WorldConfigSchema.entries, into: &config)
        }
        try config.validate()
        return config
    }

    /// The configuration of `embeddedDefaultsYAML`, which equals `WorldConfig()`.
    public static func embeddedDefaults() -> WorldConfig {
        do {
            return try load(yaml: embeddedDefaultsYAML)
        } catch {
            preconditionFailure("the embedded default configuration is invalid: \(error)")
        }
    }

    private static func readProblem(_ file: String) -> String {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) { return "no such file" }
        if isDirectory.boolValue { return "it is a directory" }
        return "not readable as UTF-8 text"
    }

    private static func syntaxError(_ error: YamlError) -> ConfigError {
        func located(_ mark: Mark, _ problem: String, _ context: YamlError.Context?) -> ConfigError {
            let problem = context.map { "\($0.text), \(problem)" } ?? problem
            return ConfigError(kind: .syntax(line: mark.line, column: mark.column), path: "", message: "invalid YAML: \(problem)")
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            return located(mark, problem, context)
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            return ConfigError(kind: .syntax(line: context.mark.line, column: context.mark.column), path: "",
                               message: "invalid YAML: duplicate key \(keys) in one mapping")
        case let .reader(problem, offset, _, yaml):
            let (line, column) = offset.map { lineAndColumn(of: $0, in: yaml) } ?? (1, 1)
            return ConfigError(kind: .syntax(line: line, column: column), path: "", message: "invalid YAML: \(problem)")
        default:
            return ConfigError(kind: .syntax(line: 1, column: 1), path: "", message: "invalid YAML: \(error)")
        }
    }

    private static func lineAndColumn(of offset: Int, in text: String) -> (Int, Int) {
        var line = 1, column = 1
        for character in text.unicodeScalars.prefix(offset) {
            if character == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }
}
