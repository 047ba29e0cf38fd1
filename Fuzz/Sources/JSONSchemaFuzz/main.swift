// Fuzzes `JSONSchema` with both of its inputs hostile, as a tool's `inputSchema` (written
// by any agent) and an invoker's arguments are. The input is two JSON documents: the
// schema, a newline, then the instance. Each is used the way `Kernel.invoke` uses them:
// positional or named arguments, validation, positional order for the call.
// Property: no input traps.
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
    _ = try? JSONSchema.validate(instance, against: schema)
    _ = JSONSchema.parameterOrder(of: schema)
    let args = instance.arrayValue ?? [instance]
    if let named = try? JSONSchema.namedArguments(args, schema: schema) {
        if (try? JSONSchema.validate(.object(named), against: schema)) != nil {
            _ = try? JSONSchema.positionalArguments(named, schema: schema)
        }
    }
    return 0
}

exit(runFuzzer(fuzzJSONSchema))
