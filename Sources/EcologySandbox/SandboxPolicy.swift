import EcologyCore

/// The whole sandbox of one kind of child as one declarative value (nsjail-style):
/// what `ecology sandbox policy KIND` prints and what the launcher applies.
/// Layers the host does not permit are skipped at run time and reported by `HostProbe`.
public struct SandboxPolicy: Sendable, Equatable, CustomStringConvertible {
    public struct Namespaces: Sendable, Equatable {
        /// Network namespace with no interfaces but a down loopback (shared by the zygote's children).
        public var net = true
        /// PID namespace of the zygote: children never see or signal host processes.
        public var pid = true
        /// Private mount namespace per child: read-only view, private size-capped /tmp.
        public var mount = true
        public var ipc = true
        public var uts = true
    }

    public struct Filesystem: Sendable, Equatable {
        /// Host paths bound read-only into the child's root (the rest of the host is absent).
        public var readOnly: [String] = ["/usr", "/bin -> usr/bin", "/lib -> usr/lib", "/lib64 -> usr/lib64",
                                          "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random",
                                          "/sandbox (a read-only copy of the runner scripts)"]
        /// Size of the private tmpfs at /tmp; 0 means /tmp is read-only and empty.
        public var tmpBytes: Int64
        /// A fresh /proc (hidepid=invisible), only when the pid namespace is active.
        public var proc = true
    }

    public struct CgroupLimits: Sendable, Equatable {
        public var memoryBytes: Int64
        /// Swap is disabled (memsw == memory on v1, memory.swap.max = 0 on v2).
        public var swapBytes: Int64 = 0
        public var pids: Int
        /// CPU bandwidth in percent of one core (cfs quota / cpu.max).
        public var cpuPercent: Int
    }

    public struct RLimits: Sendable, Equatable {
        /// RLIMIT_CPU seconds (soft; hard = soft + 1). nil for long-lived agents.
        public var cpuSeconds: Int?
        public var openFiles: Int
        public var fileSizeBytes: Int64
        public var coreBytes: Int64 = 0
        /// RLIMIT_AS, applied only when no memory cgroup is available (coarse backstop).
        public var addressSpaceFallbackBytes: Int64
    }

    public var kind: ChildKind
    public var namespaces = Namespaces()
    public var filesystem: Filesystem
    public var cgroup: CgroupLimits
    public var rlimits: RLimits
    /// Children switch to uid `uidBase + slot` (one uid per cgroup slot) and this gid,
    /// which drops every capability; the bounding set is cleared first.
    public var uidBase: UInt32 = 200_000
    public var gid: UInt32 = 65_534
    public var noNewPrivileges = true
    public var dropCapabilities = true
    /// The complete environment of a child.
    public var environment: [String: String] = [
        "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", "TMPDIR": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
    ]
    /// Descriptors a child keeps: its socket as fd 3; 0, 1, 2 are /dev/null.
    public var keptDescriptors = "fd 3 (its socketpair end); fds 0-2 are /dev/null"
    /// Kernel calls the child may make over its socket.
    public var kernelCallsAllowed: Bool
    public var wallTimeoutSeconds: Double?
    public var maxOutputBytes: Int
    public var seccomp: SeccompPolicy

    /// The policy of a child kind under a world's configuration.
    public static func `for`(kind: ChildKind, config: WorldConfig) -> SandboxPolicy {
        let limits = config.limits
        let memory = config.resources.memoryLimitBytes
        switch kind {
        case .artifact:
            return SandboxPolicy(
                kind: kind,
                filesystem: Filesystem(tmpBytes: 16 << 20),
                cgroup: CgroupLimits(memoryBytes: memory, pids: limits.executionPids, cpuPercent: 100),
                rlimits: RLimits(cpuSeconds: limits.executionCPUSeconds, openFiles: 64, fileSizeBytes: 16 << 20,
                                 addressSpaceFallbackBytes: memory * 4),
                kernelCallsAllowed: true, wallTimeoutSeconds: limits.invokeTimeoutSeconds,
                maxOutputBytes: limits.maxOutputBytes, seccomp: .for(.artifact))
        case .contract:
            let cpu = max(1, CheckedNumber.clampedInt(limits.contractTimeoutSeconds.rounded(.up)))
            let mem = min(memory, 64 << 20)
            return SandboxPolicy(
                kind: kind,
                filesystem: Filesystem(tmpBytes: 0),
                cgroup: CgroupLimits(memoryBytes: mem, pids: 1, cpuPercent: 100),
                rlimits: RLimits(cpuSeconds: cpu, openFiles: 16, fileSizeBytes: 0,
                                 addressSpaceFallbackBytes: mem * 4),
                kernelCallsAllowed: false, wallTimeoutSeconds: limits.contractTimeoutSeconds,
                maxOutputBytes: min(limits.maxOutputBytes, 4096), seccomp: .for(.contract))
        case .agent:
            return SandboxPolicy(
                kind: kind,
                filesystem: Filesystem(tmpBytes: 16 << 20),
                cgroup: CgroupLimits(memoryBytes: memory, pids: limits.executionPids, cpuPercent: 100),
                rlimits: RLimits(cpuSeconds: nil, openFiles: 64, fileSizeBytes: 16 << 20,
                                 addressSpaceFallbackBytes: memory * 4),
                kernelCallsAllowed: true, wallTimeoutSeconds: nil,
                maxOutputBytes: limits.maxFrameBytes, seccomp: .for(.agent))
        }
    }

    public var json: JSONValue {
        func i(_ v: Int64) -> JSONValue { .int(v) }
        return .object([
            "kind": .string(kind.rawValue),
            "namespaces": .object(["net": .bool(namespaces.net), "pid": .bool(namespaces.pid),
                                   "mount": .bool(namespaces.mount), "ipc": .bool(namespaces.ipc),
                                   "uts": .bool(namespaces.uts)]),
            "filesystem": .object(["read_only": .array(filesystem.readOnly.map(JSONValue.string)),
                                   "tmp_bytes": i(filesystem.tmpBytes), "proc": .bool(filesystem.proc)]),
            "cgroup": .object(["memory_bytes": i(cgroup.memoryBytes), "swap_bytes": i(cgroup.swapBytes),
                               "pids": i(Int64(cgroup.pids)), "cpu_percent": i(Int64(cgroup.cpuPercent))]),
            "rlimits": .object(["cpu_seconds": rlimits.cpuSeconds.map { i(Int64($0)) } ?? .null,
                                "open_files": i(Int64(rlimits.openFiles)), "file_size_bytes": i(rlimits.fileSizeBytes),
                                "core_bytes": i(rlimits.coreBytes),
                                "address_space_fallback_bytes": i(rlimits.addressSpaceFallbackBytes)]),
            "identity": .object(["uid": .string("\(uidBase)+slot"), "gid": i(Int64(gid)),
                                 "no_new_privs": .bool(noNewPrivileges), "capabilities": .string(dropCapabilities ? "none" : "kept")]),
            "environment": .object(environment.mapValues(JSONValue.string)),
            "descriptors": .string(keptDescriptors),
            "kernel_calls": .bool(kernelCallsAllowed),
            "wall_timeout_seconds": wallTimeoutSeconds.map(JSONValue.number) ?? .null,
            "max_output_bytes": i(Int64(maxOutputBytes)),
            "seccomp": .object([
                "default": .string(seccomp.defaultAction.description),
                "foreign_arch": "kill",
                "rules": .array(seccomp.rules.map { .string($0.description) }),
            ]),
        ])
    }

    public var description: String {
        var lines = ["sandbox policy: \(kind.rawValue)"]
        let ns = [("net", namespaces.net), ("pid", namespaces.pid), ("mount", namespaces.mount),
                  ("ipc", namespaces.ipc), ("uts", namespaces.uts)].filter { $0.1 }.map { $0.0 }
        lines.append("  namespaces:   \(ns.joined(separator: " ")) (net has no interfaces)")
        lines.append("  filesystem:   read-only \(filesystem.readOnly.joined(separator: ", "))")
        lines.append("                /tmp " + (filesystem.tmpBytes > 0 ? "private tmpfs of \(filesystem.tmpBytes) bytes" : "read-only, empty")
                     + (filesystem.proc ? "; /proc fresh, hidepid=invisible" : ""))
        lines.append("  cgroup:       memory \(cgroup.memoryBytes) bytes, swap \(cgroup.swapBytes), pids \(cgroup.pids), cpu \(cgroup.cpuPercent)% of a core")
        lines.append("  rlimits:      cpu \(rlimits.cpuSeconds.map { "\($0) s" } ?? "unlimited"), nofile \(rlimits.openFiles), fsize \(rlimits.fileSizeBytes), core 0, as \(rlimits.addressSpaceFallbackBytes) (only without a memory cgroup)")
        lines.append("  identity:     uid \(uidBase)+slot, gid \(gid), no capabilities, no_new_privs")
        lines.append("  environment:  " + environment.keys.sorted().map { "\($0)=\(environment[$0]!)" }.joined(separator: " "))
        lines.append("  descriptors:  \(keptDescriptors)")
        lines.append("  kernel calls: \(kernelCallsAllowed ? "allowed (over the socket)" : "refused")")
        lines.append("  limits:       wall \(wallTimeoutSeconds.map { "\($0) s" } ?? "none"), output \(maxOutputBytes) bytes")
        lines.append("  seccomp:      default \(seccomp.defaultAction), foreign arch/x32: kill")
        for r in seccomp.rules where !r.conditions.isEmpty || r.action != .allow {
            lines.append("                \(r)")
        }
        lines.append("                allow: " + seccomp.rules.filter { $0.conditions.isEmpty && $0.action == .allow }
                        .map(\.name).joined(separator: " "))
        return lines.joined(separator: "\n")
    }
}
