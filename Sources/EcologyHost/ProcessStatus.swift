import CMalloc
import Foundation

/// Readings of a process from /proc (Linux) and of this process's heap from glibc's
/// allocator, shared by the observatory's gauges, the benchmarks and the sandbox's tests.
/// Each reading is `nil` where it cannot be taken (no /proc, the process is gone).
public enum ProcessStatus {
    /// Resident set size (`VmRSS`), bytes.
    public static func residentBytes(pid: String = "self") -> Int64? { statusNumber(pid, "VmRSS:").map { $0 * 1024 } }

    /// The anonymous part of the resident set (`RssAnon`): the heap and stacks, not mapped files.
    public static func anonymousResidentBytes(pid: String = "self") -> Int64? { statusNumber(pid, "RssAnon:").map { $0 * 1024 } }

    /// Proportional set size: resident pages, shared ones (a zygote's preloaded interpreter)
    /// divided among the processes sharing them — what a child really costs.
    public static func proportionalBytes(pid: String) -> Int64? {
        firstNumber(in: "/proc/\(pid)/smaps_rollup", field: "Pss:").map { $0 * 1024 }
    }

    public static func threads(pid: String = "self") -> Int? { statusNumber(pid, "Threads:").map { Int($0) } }

    public static func openDescriptors(pid: String = "self") -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")).map(\.count)
    }

    /// This process's heap as glibc's allocator sees it (`mallinfo2`). `inUseBytes` is what
    /// the program holds; `retainedFreeBytes` is freed memory the allocator keeps in its
    /// arenas. A resident set that grows while `inUseBytes` stays flat is fragmentation or
    /// allocator retention, not a leak.
    public struct Heap: Sendable, Equatable {
        public var inUseBytes: Int64
        public var retainedFreeBytes: Int64
        public var mappedBytes: Int64
        public var arenaBytes: Int64

        public static let empty = Heap(inUseBytes: 0, retainedFreeBytes: 0, mappedBytes: 0, arenaBytes: 0)

        public init(inUseBytes: Int64, retainedFreeBytes: Int64, mappedBytes: Int64, arenaBytes: Int64) {
            self.inUseBytes = inUseBytes; self.retainedFreeBytes = retainedFreeBytes
            self.mappedBytes = mappedBytes; self.arenaBytes = arenaBytes
        }
    }

    public static func heap() -> Heap {
        let m = mallinfo2()
        // mallinfo2's fields are size_t: counts of bytes in this address space, which fit.
        return Heap(inUseBytes: Int64(clamping: m.uordblks + m.hblkhd), retainedFreeBytes: Int64(clamping: m.fordblks),
                    mappedBytes: Int64(clamping: m.hblkhd), arenaBytes: Int64(clamping: m.arena))
    }

    private static func statusNumber(_ pid: String, _ field: String) -> Int64? {
        firstNumber(in: "/proc/\(pid)/status", field: field)
    }

    /// The first number on the line starting with `field` (a "kB" unit after it is ignored).
    private static func firstNumber(in path: String, field: String) -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field) }) else { return nil }
        return line.dropFirst(field.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int64($0) }
    }
}
