import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One supervisor per data directory: an exclusive flock on `DIR/supervisor.lock` held
/// for the whole run (released by the kernel if the process dies, even by kill -9). The
/// file holds the pid of the last `ecology run`; whether that run is alive is the lock,
/// never the pid (a pid is reused).
struct SupervisorLock {
    let fd: Int32

    static func path(dataDir: String) -> String { (dataDir as NSString).appendingPathComponent("supervisor.lock") }

    init(dataDir: String) throws {
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let path = Self.path(dataDir: dataDir)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIError("cannot open \(path): \(String(cString: strerror(errno)))") }
        // A few tries: `SupervisorLock.holder` (`inspect agents`) takes a shared lock for an
        // instant, which must not make a starting run fail.
        var locked = false
        for attempt in 0..<10 {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { locked = true; break }
            if attempt < 9 { usleep(20_000) }
        }
        guard locked else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(fd)
            throw CLIError("another `ecology run` (pid \(holder)) is supervising \(dataDir); stop it first")
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
    }

    func release() { flock(fd, LOCK_UN); close(fd) }

    /// Who supervises `dataDir` now: the pid written by the running `ecology run`, or nil
    /// when none holds the lock (never started, stopped, or killed).
    static func holder(dataDir: String) -> String? {
        let path = Self.path(dataDir: dataDir)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 { flock(fd, LOCK_UN); return nil }
        let pid = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return pid.flatMap { $0.isEmpty ? nil : $0 } ?? "?"
    }
}
