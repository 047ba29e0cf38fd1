import ArgumentParser
import EcologyConfig
import EcologyCore
import EcologyKernel
import EcologyStore
import Foundation

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "World data directory.")
    var dataDir: String = "./.ecology"

    @Option(name: .long, help: "Configuration file (embedded defaults when the default path has no file).")
    var config: String = ConfigLoader.defaultPath

    @Flag(name: .long, help: "Machine-readable output: one JSON document on stdout.")
    var json = false

    func loadConfig() throws -> WorldConfig {
        do { return try ConfigLoader.load(path: config) } catch let e as ConfigError { throw CLIError(e.description) }
    }

    var databasePath: String { (dataDir as NSString).appendingPathComponent("world.sqlite") }

    /// The data directory as an absolute path: what messages name, so that a reader
    /// knows where the world is whatever directory the command ran in.
    var absoluteDataDir: String {
        Self.absolute(dataDir)
    }

    /// `ecology ARGS` as the user would type it again for this data directory.
    func command(_ args: String) -> String {
        dataDir == "./.ecology" ? "ecology \(args)" : "ecology \(args) --data-dir \(dataDir)"
    }

    /// Which configuration is in use: the file (absolute path) or the embedded defaults,
    /// and the fingerprint of what is in effect (`WorldConfig.fingerprint`, after any
    /// command-line overrides, which are named).
    func configInUse(_ effective: WorldConfig, overrides: [String] = []) -> String {
        let source: String
        switch ConfigLoader.source(forPath: config) {
        case .file(let path):
            source = Self.absolute(path)
        case .embeddedDefaults:
            source = "embedded defaults (no \(ConfigLoader.defaultPath) in \(FileManager.default.currentDirectoryPath); --config FILE to use one)"
        }
        let with = overrides.isEmpty ? "" : ", with \(overrides.joined(separator: " "))"
        return "config: \(source) (fingerprint \(effective.fingerprint.prefix(12))\(with))"
    }

    /// `configInUse` for `--json`: `{"source": path or "embedded defaults", "fingerprint"}`.
    func configJSON(_ effective: WorldConfig) -> JSONValue {
        let source: String
        switch ConfigLoader.source(forPath: config) {
        case .file(let path): source = Self.absolute(path)
        case .embeddedDefaults: source = "embedded defaults"
        }
        return .object(["source": .string(source), "fingerprint": .string(effective.fingerprint)])
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
    }

    /// Opens the world (creating the data directory and running migrations).
    func openWorld(config: WorldConfig? = nil, executor: (any ArtifactExecutor)? = nil, scorer: (any MintScorer)? = nil,
                   requireInit: Bool = true) throws -> Kernel {
        let cfg = try config ?? loadConfig()
        if requireInit && !FileManager.default.fileExists(atPath: databasePath) {
            throw CLIError("no world at \(dataDir); run `ecology init --data-dir \(dataDir)` first")
        }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let db: WorldDatabase
        do { db = try WorldDatabase(path: databasePath) } catch { throw CLIError("cannot open \(databasePath): \(error)") }
        return Kernel(database: db, config: cfg, executor: executor ?? WorldServices.makeExecutor(config: cfg),
                      scorer: scorer ?? BuiltinMintScorer())
    }
}

/// A failure of the command itself: one line on stderr, non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

enum Output {
    static func json(_ value: JSONValue) {
        print(JSONCodec.string(value))
    }

    /// Prints rows as an aligned table.
    static func table(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { i in max(header[i].count, rows.map { $0[i].count }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        print(line(header))
        for r in rows { print(line(r)) }
    }

    static func envelope(_ e: Envelope, json: Bool) {
        if json { Self.json(e.json); return }
        print(pretty(e.json))
    }

    static func pretty(_ v: JSONValue) -> String {
        let data = JSONCodec.encode(v)
        if let obj = try? JSONSerialization.jsonObject(with: data),
           let out = try? JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]),
           let s = String(data: out, encoding: .utf8) { return s }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Parses a command-line argument as a JSON value; bare words become strings.
func parseJSONArgument(_ text: String) throws -> JSONValue {
    if let v = try? JSONCodec.decode(text) { return v }
    if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 }) && !text.hasPrefix("{") && !text.hasPrefix("[") && !text.hasPrefix("\"") {
        return .string(text)
    }
    throw CLIError("argument is not valid JSON: \(text.prefix(60))")
}
