import Foundation
#if canImport(Glibc)
import Glibc
#endif
import EcologyCore

/// What this host allows, measured by starting a real zygote and running real children
/// (a benign one, and one that must die of seccomp). `ecology doctor` prints it.
public struct HostReport: Sendable {
    public var layers: SandboxLayers?
    public var sandboxDir: String?
    public var python: String
    /// A benign child ran and answered.
    public var executes: Bool
    /// A child calling socket() was killed and the syscall was named.
    public var seccompEnforced: Bool
    public var kernel: String
    public var error: String?
    /// Each zygote process as the kernel reports it (`/proc/PID/status`), read while the
    /// probe's executor ran.
    public var zygotes: [ZygoteConfinement] = []

    public struct ZygoteConfinement: Sendable {
        public var name: String
        public var pid: Int32
        public var confinement: ProcessConfinement?
        /// Filtered, no_new_privs, and holding no capability beyond `Zygote.keptCapabilities`.
        public var confined: Bool {
            guard let c = confinement else { return false }
            let allowed = Zygote.keptCapabilities.reduce(UInt64(0)) { $0 | (1 << UInt64($1.number)) }
            return c.seccompMode == 2 && c.noNewPrivs && c.effective & ~allowed == 0 && c.permitted & ~allowed == 0
                && c.bounding == 0 && c.inheritable == 0 && c.ambient == 0
        }
    }

    public var json: JSONValue {
        .object([
            "python": .string(python), "sandbox_dir": sandboxDir.map(JSONValue.string) ?? .null,
            "kernel": .string(kernel), "executes": .bool(executes), "seccomp_enforced": .bool(seccompEnforced),
            "layers": layers?.json ?? .null, "error": error.map(JSONValue.string) ?? .null,
            "zygotes": .array(zygotes.map { z in
                .object(["name": .string(z.name), "pid": .int(Int64(z.pid)), "confined": .bool(z.confined),
                         "status": z.confinement?.json ?? .null])
            }),
        ])
    }

    public var description: String {
        var lines = ["sandbox host report", "  kernel:        \(kernel)", "  python:        \(python)",
                     "  sandbox dir:   \(sandboxDir ?? "not found")"]
        if let error { lines.append("  error:         \(error)") }
        if let l = layers {
            for ns in ["net", "pid", "mount", "ipc", "uts"] {
                lines.append("  namespace \(ns.padding(toLength: 5, withPad: " ", startingAt: 0)): \(l.namespaces[ns] == true ? "active" : "NOT ACTIVE")")
            }
            lines.append("  read-only root: \(l.namespaces["rootfs"] == true ? "active" : "NOT ACTIVE")")
            lines.append("  cgroup:        \(l.cgroup.rawValue) — \(l.cgroupDetail)")
            lines.append("  seccomp:       \(seccompEnforced ? "enforced" : "NOT ENFORCED")\(l.namespaces["seccomp_report"] == true ? ", violations name the syscall" : ", violations unnamed on this architecture")")
            lines.append("  rlimits:       \(l.rlimits ? "active" : "NOT ACTIVE")")
            lines.append("  cgroup ns:     \(l.namespaces["cgroupns"] == true ? "active (per child)" : "NOT ACTIVE")")
            lines.append("  uid drop:      \(l.privilegeDrop ? "active (per-slot uid, no capabilities)" : "NOT ACTIVE")")
            for z in zygotes {
                lines.append("  \(z.name) pid \(z.pid): \(z.confined ? "confined" : "NOT CONFINED"), "
                             + (z.confinement?.description ?? "status unreadable"))
            }
            for w in l.warnings { lines.append("  WARNING:       \(w)") }
        }
        lines.append("  executes:      \(executes ? "yes" : "NO")")
        return lines.joined(separator: "\n")
    }
}

public enum HostProbe {
    public static func run(config: WorldConfig = WorldConfig(), sandboxDir: String? = nil) -> HostReport {
        var uts = utsname()
        uname(&uts)
        let kernel = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var report = HostReport(layers: nil, sandboxDir: nil, python: config.sandbox.python, executes: false,
                                seccompEnforced: false, kernel: kernel, error: nil)
        do {
            let executor = try SandboxedExecutor(config: config, options: .init(sandboxDir: sandboxDir))
            defer { executor.shutdown() }
            report.sandboxDir = executor.sandboxDir
            report.layers = executor.layers
            func req(_ code: String) -> ExecutionRequest {
                ExecutionRequest(kind: .artifact, artifactID: "doctor", code: code, method: "run", args: [], caller: "doctor",
                                 depth: 0, timeoutSeconds: 5, memoryLimitBytes: 64 << 20, maxOutputBytes: 1024)
            }
            let none: KernelCallHandler = { _, _ in .failure(KernelError(.notFound, "no kernel")) }
            let ok = executor.execute(req("def run():\n    return 42\n"), kernelCalls: none)
            report.executes = (try? ok.result.get()) == .int(42)
            let bad = executor.execute(req("import socket\ndef run():\n    socket.socket()\n    return 1\n"), kernelCalls: none)
            report.seccompEnforced = bad.result.error?.code == .sandboxViolation
            report.zygotes = executor.zygoteProcesses().map {
                HostReport.ZygoteConfinement(name: $0.name, pid: $0.pid, confinement: ProcessConfinement.of(pid: $0.pid))
            }
        } catch {
            report.error = "\(error)"
        }
        return report
    }
}

extension Result where Failure == KernelError {
    var error: KernelError? { if case .failure(let e) = self { return e }; return nil }
}
