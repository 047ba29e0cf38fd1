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

    public var json: JSONValue {
        .object([
            "python": .string(python), "sandbox_dir": sandboxDir.map(JSONValue.string) ?? .null,
            "kernel": .string(kernel), "executes": .bool(executes), "seccomp_enforced": .bool(seccompEnforced),
            "layers": layers?.json ?? .null, "error": error.map(JSONValue.string) ?? .null,
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
            lines.append("  uid drop:      \(l.privilegeDrop ? "active (per-slot uid, no capabilities)" : "NOT ACTIVE")")
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
        } catch {
            report.error = "\(error)"
        }
        return report
    }
}

extension Result where Failure == KernelError {
    var error: KernelError? { if case .failure(let e) = self { return e }; return nil }
}
