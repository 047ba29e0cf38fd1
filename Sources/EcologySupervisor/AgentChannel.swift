import EcologyCore
import EcologyWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking, framed connection to one agent child over its socket. Used by the
/// agent's session thread only; writes are serialized so wake-ups may also send.
final class AgentChannel: @unchecked Sendable {
    enum ReadResult { case frame(JSONValue), closed, timeout }

    private let fd: Int32
    private var decoder: FrameDecoder
    private let writeLock = NSLock()
    /// Reused for every read (one allocation per channel, not one per frame).
    private var buffer = [UInt8](repeating: 0, count: 16_384)

    init(fd: Int32, maxFrameBytes: Int) {
        self.fd = fd
        self.decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
    }

    /// Reads the next frame, waiting at most `timeout` seconds. Malformed or oversized
    /// frames throw `FrameError` (the session ends the child with PROTOCOL_ERROR).
    func read(timeout: Double) throws -> ReadResult {
        let deadline = Date().timeIntervalSince1970 + timeout
        while true {
            if let frame = try decoder.next() { return .frame(frame) }
            let remaining = deadline - Date().timeIntervalSince1970
            if remaining <= 0 { return .timeout }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(remaining, 1) * 1000) + 1)
            if ready < 0 { if errno == EINTR { continue }; return .closed }
            if ready == 0 { continue }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue }; return .closed }
            if n == 0 { try decoder.finish(); return .closed }
            decoder.append(buffer[0..<n])
        }
    }

    /// Sends one frame; false if the child is gone.
    @discardableResult
    func send(_ message: JSONValue) -> Bool { send(frame: Frame.encode(message)) }

    /// Sends one already encoded frame (length prefix included); false if the child is gone.
    @discardableResult
    func send(frame bytes: [UInt8]) -> Bool {
        writeLock.lock(); defer { writeLock.unlock() }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; return false }
            offset += n
        }
        return true
    }
}
