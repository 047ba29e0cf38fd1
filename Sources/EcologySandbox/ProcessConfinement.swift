import Foundation
import EcologyCore

/// How confined a process is, as the kernel reports it in `/proc/PID/status`: its seccomp
/// mode and filter count, `no_new_privs`, and its five capability sets. `ecology doctor`
/// prints it for both zygote processes; the sandbox tests read it for zygotes and children.
public struct ProcessConfinement: Sendable, Equatable {
    /// `Seccomp:` 0 none, 1 strict, 2 filter.
    public var seccompMode: Int
    /// `Seccomp_filters:` (kernels from 5.9), nil when the line is absent.
    public var seccompFilters: Int?
    public var noNewPrivs: Bool
    public var effective: UInt64
    public var permitted: UInt64
    public var inheritable: UInt64
    public var bounding: UInt64
    public var ambient: UInt64

    /// Reads `/proc/<pid>/status`; nil if the process is gone or the file is not readable.
    public static func of(pid: Int32) -> ProcessConfinement? {
        guard let text = Posix.readFile("/proc/\(pid)/status") else { return nil }
        return parse(status: text)
    }

    /// Parses the text of a `/proc/PID/status`; nil if a field is missing.
    public static func parse(status text: String) -> ProcessConfinement? {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        func hex(_ key: String) -> UInt64? { fields[key].flatMap { UInt64($0, radix: 16) } }
        guard let mode = fields["Seccomp"].flatMap({ Int($0) }), let nnp = fields["NoNewPrivs"].flatMap({ Int($0) }),
              let eff = hex("CapEff"), let prm = hex("CapPrm"), let inh = hex("CapInh"), let bnd = hex("CapBnd"),
              let amb = hex("CapAmb") else { return nil }
        return ProcessConfinement(seccompMode: mode, seccompFilters: fields["Seccomp_filters"].flatMap { Int($0) },
                                  noNewPrivs: nnp == 1, effective: eff, permitted: prm, inheritable: inh,
                                  bounding: bnd, ambient: amb)
    }

    /// The capability numbers set in `mask`.
    public static func capabilities(_ mask: UInt64) -> [Int] { (0..<64).filter { mask & (1 << UInt64($0)) != 0 } }

    public var json: JSONValue {
        func hex(_ v: UInt64) -> JSONValue { .string(String(format: "%016llx", v)) }
        return .object([
            "seccomp": .int(Int64(seccompMode)), "seccomp_filters": seccompFilters.map { .int(Int64($0)) } ?? .null,
            "no_new_privs": .bool(noNewPrivs), "cap_eff": hex(effective), "cap_prm": hex(permitted),
            "cap_inh": hex(inheritable), "cap_bnd": hex(bounding), "cap_amb": hex(ambient),
        ])
    }

    public var description: String {
        "seccomp \(seccompMode == 2 ? "filter" : seccompMode == 0 ? "NONE" : "strict")"
            + (seccompFilters.map { " (\($0) filter\($0 == 1 ? "" : "s"))" } ?? "")
            + ", no_new_privs \(noNewPrivs ? "set" : "NOT SET")"
            + ", CapEff \(String(format: "%016llx", effective)), CapBnd \(String(format: "%016llx", bounding))"
    }
}
