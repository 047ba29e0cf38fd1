import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Small helpers over POSIX calls used by the launcher. Nothing here forks.
enum Posix {
    /// Monotonic seconds.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static var errnoText: String { String(cString: strerror(errno)) }

    /// A connected AF_UNIX pair, both ends close-on-exec.
    static func socketPair(type: Int32) throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw SandboxError("socketpair: \(errnoText)")
        }
        return (fds[0], fds[1])
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// Waits for `events` on `fd` until the monotonic `deadline` (nil: forever).
    /// Returns the revents, or 0 on timeout.
    static func poll(_ fd: Int32, events: Int16, deadline: Double?) -> Int16 {
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let left = deadline - now()
                if left <= 0 { timeout = 0 } else { timeout = Int32(min(left * 1000, 1e9).rounded(.up)) }
            }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let rc = Glibc.poll(&p, 1, timeout)
            if rc < 0 && errno == EINTR { continue }
            if rc <= 0 { return rc == 0 ? 0 : Int16(POLLERR) }
            return p.revents
        }
    }

    /// Writes all bytes to a non-blocking socket before the deadline (never raises SIGPIPE).
    static func sendAll(_ fd: Int32, _ bytes: [UInt8], deadline: Double?) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { p in
                send(fd, p.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { off += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                let r = poll(fd, events: Int16(POLLOUT), deadline: deadline)
                if r == 0 || r & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { return false }
                continue
            }
            return false
        }
        return true
    }

    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    @discardableResult
    static func writeFile(_ path: String, _ text: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return write(fd, bytes, bytes.count) == bytes.count
    }
}

/// A launcher failure (the child could not be started); executions map it to INTERNAL.
public struct SandboxError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
