import Foundation
import EcologyCore

/// Why a byte stream stopped being a valid sequence of frames. Every case ends the
/// peer with `PROTOCOL_ERROR`; none of them can harm the side that decodes.
public enum FrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The length prefix announces more than `maxFrameBytes`.
    case oversized(length: Int, limit: Int)
    /// The payload is not valid UTF-8.
    case invalidUTF8
    /// The payload is UTF-8 but not JSON.
    case invalidJSON
    /// The payload is JSON but not an object.
    case notAnObject(String)
    /// The stream ended inside a frame (`buffered` bytes of an unfinished frame).
    case truncated(buffered: Int)

    public var description: String {
        switch self {
        case .oversized(let length, let limit): return "frame of \(length) bytes exceeds the limit of \(limit) bytes"
        case .invalidUTF8: return "frame payload is not valid UTF-8"
        case .invalidJSON: return "frame payload is not valid JSON"
        case .notAnObject(let type): return "frame payload is a JSON \(type), not an object"
        case .truncated(let buffered): return "stream closed inside a frame (\(buffered) bytes buffered)"
        }
    }

    /// The error envelope a peer that sent this gets (or is ended with).
    public var kernelError: KernelError { KernelError(.protocolError, description) }
}

/// The frame format of SPEC §6: a 4-byte big-endian payload length, then that many
/// bytes of UTF-8 JSON whose top level is an object.
public enum Frame {
    /// Bytes of the length prefix.
    public static let headerBytes = 4
    /// Default maximum payload size, matching `LimitConfig.maxFrameBytes`.
    public static let defaultMaxFrameBytes = 1_048_576

    /// Encodes one JSON object as a frame (header + payload).
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var out = JSONCodec.bytes(value)
        let n = UInt32(out.count)
        let header = [UInt8(truncatingIfNeeded: n >> 24), UInt8(truncatingIfNeeded: n >> 16),
                      UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)]
        out.insert(contentsOf: header, at: 0)
        return out
    }

    /// Parses one frame payload: UTF-8, JSON, and an object at the top.
    public static func parsePayload<C: Collection>(_ bytes: C) throws -> JSONValue where C.Element == UInt8 {
        let data = Data(bytes)
        guard String(data: data, encoding: .utf8) != nil else { throw FrameError.invalidUTF8 }
        let value: JSONValue
        do { value = try JSONCodec.decode(data) } catch { throw FrameError.invalidJSON }
        guard case .object = value else { throw FrameError.notAnObject(value.typeName) }
        return value
    }
}

/// An incremental, I/O-free frame decoder: feed it bytes as they arrive, take out
/// complete frames. The oversized check happens on the header, before any payload is
/// buffered, so a hostile length cannot make the decoder allocate. After an error the
/// decoder stays failed: the stream is unrecoverable by design.
public struct FrameDecoder: Sendable {
    public let maxFrameBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var failure: FrameError?

    public init(maxFrameBytes: Int = Frame.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes received but not yet returned as a frame.
    public var bufferedBytes: Int { buffer.count - start }

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil if more bytes are needed.
    public mutating func next() throws -> JSONValue? {
        if let failure { throw failure }
        guard let length = try pendingLength() else { return nil }
        let end = start + Frame.headerBytes + length
        guard buffer.count >= end else { return nil }
        let payload = buffer[(start + Frame.headerBytes)..<end]
        start = end
        do {
            return try Frame.parsePayload(payload)
        } catch let e as FrameError {
            failure = e
            throw e
        }
    }

    /// Call when the peer closed the stream: a half-received frame is an error.
    public mutating func finish() throws {
        if let failure { throw failure }
        if bufferedBytes > 0 {
            let e = FrameError.truncated(buffered: bufferedBytes)
            failure = e
            throw e
        }
    }

    /// The announced payload length of the frame at the front, once its header is in.
    private mutating func pendingLength() throws -> Int? {
        guard buffer.count - start >= Frame.headerBytes else { return nil }
        let b = buffer
        let length = Int(b[start]) << 24 | Int(b[start + 1]) << 16 | Int(b[start + 2]) << 8 | Int(b[start + 3])
        if length > maxFrameBytes {
            let e = FrameError.oversized(length: length, limit: maxFrameBytes)
            failure = e
            throw e
        }
        return length
    }
}
