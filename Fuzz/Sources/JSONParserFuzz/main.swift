// Fuzzes `JSONParser` through `JSONCodec.decode`, the parser of every frame a child sends.
// Properties: no input traps; whatever parses re-encodes to bytes that parse again, and the
// canonical encoding is a fixed point (encode(decode(encode(v))) == encode(v)).
import EcologyCore
import Foundation
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzJSONParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    guard let value = try? JSONCodec.decode(Data(bytes)) else { return 0 }
    let encoded = JSONCodec.bytes(value)
    let again: JSONValue
    do { again = try JSONCodec.decode(Data(encoded)) } catch {
        propertyViolated("the encoding of a parsed value does not parse: \(error); encoding: \(String(decoding: encoded, as: UTF8.self))")
    }
    let reencoded = JSONCodec.bytes(again)
    if reencoded != encoded {
        propertyViolated("encoding is not a fixed point: \(String(decoding: encoded, as: UTF8.self)) then \(String(decoding: reencoded, as: UTF8.self))")
    }
    _ = value.typeName
    _ = value.intValue
    return 0
}

exit(runFuzzer(fuzzJSONParser))
