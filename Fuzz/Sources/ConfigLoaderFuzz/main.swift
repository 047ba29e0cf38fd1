// Fuzzes `ConfigLoader.load(yaml:)` with the text of a configuration file.
// Properties: no input traps; what loads is valid and round-trips through its canonical
// YAML (`WorldConfig.canonicalYAML` loads back to the same configuration, as documented).
import EcologyConfig
import EcologyCore
import Foundation
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzConfigLoader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    // `ConfigLoader.load(path:)` reads files as UTF-8; anything else never reaches the parser.
    guard let text = String(validating: inputBytes(data, size), as: UTF8.self) else { return 0 }
    guard let config = try? ConfigLoader.load(yaml: text) else { return 0 }
    let canonical = config.canonicalYAML
    do {
        let again = try ConfigLoader.load(yaml: canonical)
        if again != config { propertyViolated("canonical YAML loads to another configuration:\n\(canonical)") }
    } catch {
        propertyViolated("canonical YAML of a loaded configuration does not load: \(error)\n\(canonical)")
    }
    _ = config.fingerprint
    _ = try? config.withAgents(count: config.agents.count + 1)
    return 0
}

exit(runFuzzer(fuzzConfigLoader))
