// Fuzzes `JSONSchema` with both of its inputs hostile, as a tool's `inputSchema` (written
// by any agent) and an invoker's arguments are. The input is two JSON documents: the
// schema, a newline, then the instance. Each is used the way the kernel uses them: the
// schema compiled as `ArtifactSpec.validateInterface` does on write (refused unless in the
// subset), then positional or named arguments, validation, positional order for the call.
// Properties: no input traps; a compiled schema validates within its step budget (which
// is small here, so that budget exhaustion is exercised too) and answers the same twice.
import EcologyCore
import Foundation
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzJSONSchema(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    let newline = bytes.firstIndex(of: 0x0A) ?? bytes.count
    guard let schema = try? JSONCodec.decode(Data(bytes[..<newline])) else { return 0 }
    let instance: JSONValue
    if newline < bytes.count {
        guard let v = try? JSONCodec.decode(Data(bytes[(newline + 1)...])) else { return 0 }
        instance = v
    } else {
        instance = .null
    }
    guard let compiled = try? JSONSchema.compile(schema) else { return 0 }
    let first = Result { try compiled.stepsToValidate(instance, steps: 20_000) }
    let again = Result { try compiled.stepsToValidate(instance, steps: 20_000) }
    if case .success(let a) = first, case .success(let b) = again, a != b {
        fatalError("validation is not deterministic: \(a) then \(b)")
    }
    _ = JSONSchema.parameterOrder(of: schema)
    let args = instance.arrayValue ?? [instance]
    if let named = try? JSONSchema.namedArguments(args, schema: schema) {
        if (try? compiled.validate(.object(named), steps: 20_000)) != nil {
            _ = try? JSONSchema.positionalArguments(named, schema: schema)
        }
    }
    return 0
}

exit(runFuzzer(fuzzJSONSchema))
