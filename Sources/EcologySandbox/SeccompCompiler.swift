import Foundation
import CSeccomp
import EcologyCore

/// Compiles a `SeccompPolicy` into classic BPF with libseccomp. The bytes are handed to the
/// zygote once at start; each child installs them with `prctl(PR_SET_SECCOMP)` as its last
/// setup step. Syscall names unknown to this architecture are skipped (and listed).
public struct SeccompProgram: Sendable, Equatable {
    /// Raw `struct sock_filter` array, native byte order.
    public var bpf: [UInt8]
    public var skippedNames: [String]
    public var instructionCount: Int { bpf.count / 8 }
}

public enum SeccompCompiler {
    static let actAllow: UInt32 = 0x7fff_0000
    static let actTrap: UInt32 = 0x0003_0000
    static let actKillProcess: UInt32 = 0x8000_0000
    static func actErrno(_ e: Int32) -> UInt32 { 0x0005_0000 | (UInt32(bitPattern: e) & 0xffff) }

    static func raw(_ a: SeccompAction) -> UInt32 {
        switch a {
        case .allow: return actAllow
        case .errno(let e): return actErrno(e)
        case .killAndReport: return actTrap
        case .killProcess: return actKillProcess
        }
    }

    public static func compile(_ policy: SeccompPolicy) throws -> SeccompProgram {
        guard let ctx = seccomp_init(raw(policy.defaultAction)) else {
            throw KernelError(.internal, "seccomp_init failed")
        }
        defer { seccomp_release(ctx) }
        _ = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, actKillProcess)
        // The child sets no_new_privs itself, before loading.
        _ = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)
        var skipped: [String] = []
        for rule in policy.rules {
            let nr = seccomp_syscall_resolve_name(rule.name)
            if nr < 0 { skipped.append(rule.name); continue }
            var conds = rule.conditions.map { c -> scmp_arg_cmp in
                switch c.op {
                case .eq: return scmp_arg_cmp(arg: c.arg, op: SCMP_CMP_EQ, datum_a: c.value, datum_b: 0)
                case .ne: return scmp_arg_cmp(arg: c.arg, op: SCMP_CMP_NE, datum_a: c.value, datum_b: 0)
                case .ge: return scmp_arg_cmp(arg: c.arg, op: SCMP_CMP_GE, datum_a: c.value, datum_b: 0)
                case .maskedEq(let mask):
                    return scmp_arg_cmp(arg: c.arg, op: SCMP_CMP_MASKED_EQ, datum_a: mask, datum_b: c.value)
                }
            }
            let rc = conds.withUnsafeMutableBufferPointer { buf in
                seccomp_rule_add_array(ctx, raw(rule.action), nr, UInt32(buf.count), buf.baseAddress)
            }
            if rc != 0 {
                throw KernelError(.internal, "seccomp_rule_add(\(rule)) failed: \(String(cString: strerror(-rc)))")
            }
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw KernelError(.internal, "pipe failed") }
        defer { close(fds[0]) }
        let rc = seccomp_export_bpf(ctx, fds[1])
        close(fds[1])
        if rc != 0 { throw KernelError(.internal, "seccomp_export_bpf failed: \(rc)") }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &chunk, chunk.count)
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return SeccompProgram(bpf: out, skippedNames: skipped)
    }

    /// The name of a native syscall number, as libseccomp knows it.
    public static func syscallName(_ number: Int32) -> String {
        guard let p = seccomp_syscall_resolve_num_arch(0 /* SCMP_ARCH_NATIVE */, number) else { return "syscall_\(number)" }
        defer { free(p) }
        return String(cString: p)
    }

    public static func syscallNumber(_ name: String) -> Int32? {
        let n = seccomp_syscall_resolve_name(name)
        return n < 0 ? nil : n
    }
}
