// Fuzzes `FrameDecoder`: the input is the byte stream a child writes on its socket.
// Properties: no input traps; the stream decodes to the same frames and the same ending
// whether it arrives at once or in small pieces (1 to 16 bytes, chosen by the input's last
// byte; socket reads split a stream anywhere); every decoded frame re-encodes
// (`Frame.encode`) to a frame that decodes to the same canonical bytes.
import EcologyCore
import EcologyWire
import Foundation
import FuzzSupport

/// What a decoder made of a stream: the frames in order (canonical bytes), then how it ended.
struct Decoded: Equatable {
    var frames: [[UInt8]] = []
    var ending = "clean"
}

func decode(_ bytes: UnsafeBufferPointer<UInt8>, maxFrameBytes: Int, chunk: Int) -> Decoded {
    var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
    var out = Decoded()
    var offset = 0
    do {
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            decoder.append(bytes[offset..<end])
            offset = end
            while let frame = try decoder.next() { out.frames.append(JSONCodec.bytes(frame)) }
        }
        try decoder.finish()
    } catch {
        out.ending = "\(error)"
        // A failed decoder stays failed.
        do { _ = try decoder.next(); propertyViolated("a failed decoder returned to service") } catch {}
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    let whole = decode(bytes, maxFrameBytes: Frame.defaultMaxFrameBytes, chunk: max(1, bytes.count))
    let chunk = 1 + Int((bytes.last ?? 0) & 0x0F)
    let pieces = decode(bytes, maxFrameBytes: Frame.defaultMaxFrameBytes, chunk: chunk)
    if whole != pieces { propertyViolated("whole-stream and \(chunk)-byte-piece decoding differ: \(whole) vs \(pieces)") }
    // A small limit, odd chunks: the oversized path and the buffer compaction.
    _ = decode(bytes, maxFrameBytes: 64, chunk: 7)
    for canonical in whole.frames {
        let value: JSONValue
        do { value = try JSONCodec.decode(Data(canonical)) } catch { propertyViolated("a decoded frame's encoding does not parse") }
        var decoder = FrameDecoder()
        decoder.append(Frame.encode(value))
        do {
            guard let back = try decoder.next() else { propertyViolated("an encoded frame is incomplete") }
            if JSONCodec.bytes(back) != canonical { propertyViolated("a frame does not survive encode and decode") }
            try decoder.finish()
        } catch { propertyViolated("an encoded frame does not decode: \(error)") }
    }
    return 0
}

exit(runFuzzer(fuzzFrameDecoder))
