import Foundation

/// The secret that control endpoints (pause, resume, unpark, inject) require.
///
/// 32 bytes from the system CSPRNG (`SystemRandomNumberGenerator`, which is `getrandom(2)`
/// on Linux), hex-encoded, written to `DATA_DIR/observatory.token` with mode 0600 so only
/// the user who runs the supervisor (and root) can read it. A new token is written at every
/// start: a token leaked from an earlier run stops working when the supervisor restarts.
public struct ControlToken: Sendable {
    public static let fileName = "observatory.token"
    public let value: String

    public init(value: String) { self.value = value }

    /// A fresh random token (64 hex characters).
    public static func generate() -> ControlToken {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        return ControlToken(value: bytes.map { String(format: "%02x", $0) }.joined())
    }

    /// Writes the token to `DATA_DIR/observatory.token`, mode 0600, replacing any earlier one.
    /// The file is created 0600 (never briefly readable by others) and renamed into place.
    public func save(dataDir: String) throws -> String {
        let path = (dataDir as NSString).appendingPathComponent(Self.fileName)
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ControlTokenError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let line = value + "\n"
        let written = line.withCString { write(fd, $0, strlen($0)) }
        let synced = fsync(fd)
        close(fd)
        guard written == line.utf8.count, synced == 0 else {
            unlink(temporary)
            throw ControlTokenError("cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ControlTokenError("cannot move the token to \(path): \(String(cString: strerror(errno)))")
        }
        return path
    }

    /// True when `presented` is this token. Compares every byte whatever the first
    /// difference, so the time taken does not tell an attacker how much of a guess was right.
    public func matches(_ presented: String) -> Bool {
        let a = Array(value.utf8), b = Array(presented.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<a.count { difference |= a[i] ^ (i < b.count ? b[i] : 0) }
        return difference == 0
    }
}

public struct ControlTokenError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}
