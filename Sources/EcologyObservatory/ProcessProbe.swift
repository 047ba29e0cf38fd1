import Foundation

/// Readings of this process and of the world's files for the gauges: RSS, threads and
/// open fds from /proc/self (Linux), the database and WAL sizes from the file system.
enum ProcessProbe {
    /// Resident set size in bytes (`VmRSS` of /proc/self/status), nil where there is no /proc.
    static func residentBytes() -> Double? { statusField("VmRSS:").map { $0 * 1024 } }

    static func threads() -> Double? { statusField("Threads:") }

    static func openFileDescriptors() -> Double? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map { Double($0.count) }
    }

    static func fileSize(_ path: String) -> Double {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.doubleValue ?? 0
    }

    private static func statusField(_ name: String) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let number = line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            return number.flatMap { Double($0) }
        }
        return nil
    }
}
