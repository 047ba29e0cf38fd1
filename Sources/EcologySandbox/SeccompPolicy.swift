import EcologyCore

/// What the filter does with a syscall.
public enum SeccompAction: Sendable, Equatable, CustomStringConvertible {
    case allow
    /// Fail the call with this errno; the child sees a clean error (used for `clone3`).
    case errno(Int32)
    /// Kill the whole child and report the syscall: `SECCOMP_RET_TRAP` delivers SIGSYS to a
    /// tiny machine-code handler installed before the filter, which stores the syscall number
    /// in a page shared with the zygote and calls `exit_group`. Reported as SANDBOX_VIOLATION.
    case killAndReport
    /// `SECCOMP_RET_KILL_PROCESS`: the kernel kills at once; the syscall cannot be named.
    case killProcess

    public var description: String {
        switch self {
        case .allow: return "allow"
        case .errno(let e): return "errno(\(e))"
        case .killAndReport: return "kill+report"
        case .killProcess: return "kill"
        }
    }
}

/// One comparison on a syscall argument (all of a rule's conditions must hold).
public struct ArgCondition: Sendable, Equatable, CustomStringConvertible {
    public enum Op: Sendable, Equatable { case eq, ne, ge, maskedEq(mask: UInt64) }
    public var arg: UInt32
    public var op: Op
    public var value: UInt64

    public static func eq(_ arg: UInt32, _ value: UInt64) -> ArgCondition { ArgCondition(arg: arg, op: .eq, value: value) }
    public static func ne(_ arg: UInt32, _ value: UInt64) -> ArgCondition { ArgCondition(arg: arg, op: .ne, value: value) }
    /// Unsigned 64-bit `>=`.
    public static func ge(_ arg: UInt32, _ value: UInt64) -> ArgCondition { ArgCondition(arg: arg, op: .ge, value: value) }
    public static func masked(_ arg: UInt32, mask: UInt64, equals value: UInt64) -> ArgCondition {
        ArgCondition(arg: arg, op: .maskedEq(mask: mask), value: value)
    }

    public var description: String {
        switch op {
        case .eq: return "arg\(arg) == \(hex(value))"
        case .ne: return "arg\(arg) != \(hex(value))"
        case .ge: return "arg\(arg) >= \(hex(value))"
        case .maskedEq(let m): return "arg\(arg) & \(hex(m)) == \(hex(value))"
        }
    }
    private func hex(_ v: UInt64) -> String { v < 10 ? String(v) : "0x" + String(v, radix: 16) }
}

/// A syscall with an action, taken when all its conditions hold.
public struct SyscallRule: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var action: SeccompAction
    public var conditions: [ArgCondition]

    public init(_ name: String, _ action: SeccompAction = .allow, _ conditions: [ArgCondition] = []) {
        self.name = name; self.action = action; self.conditions = conditions
    }

    public var description: String {
        conditions.isEmpty ? "\(name): \(action)"
            : "\(name) [\(conditions.map(\.description).joined(separator: ", "))]: \(action)"
    }
}

/// A seccomp allowlist: anything not matched by a rule gets `defaultAction`.
/// Foreign architectures (including x32 numbers on x86_64) are killed by the kernel.
public struct SeccompPolicy: Sendable, Equatable {
    public var defaultAction: SeccompAction
    public var rules: [SyscallRule]

    public init(defaultAction: SeccompAction, rules: [SyscallRule]) {
        self.defaultAction = defaultAction; self.rules = rules
    }

    /// Names of syscalls that have at least one rule allowing them (possibly conditionally).
    public var allowedNames: [String] {
        var seen = Set<String>()
        return rules.filter { $0.action == .allow }.map(\.name).filter { seen.insert($0).inserted }
    }
}

/// Linux constants the rules compare against (x86_64 / generic values).
enum LinuxConst {
    static let cloneThread: UInt64 = 0x0001_0000
    static let cloneNamespaceFlags: UInt64 = 0x0002_0000 /* NEWNS */ | 0x0200_0000 /* NEWCGROUP */
        | 0x0400_0000 /* NEWUTS */ | 0x0800_0000 /* NEWIPC */ | 0x1000_0000 /* NEWUSER */
        | 0x2000_0000 /* NEWPID */ | 0x4000_0000 /* NEWNET */
    static let sigsys: UInt64 = 31
    /// The only ioctl requests a child may make, all on its own descriptors and none
    /// answering about anything but that descriptor: isatty (`TCGETS`), terminal size
    /// (`TIOCGWINSZ`), bytes readable (`FIONREAD`), non-blocking mode (`FIONBIO`, what
    /// `socket.setblocking` uses) and close-on-exec (`FIOCLEX`/`FIONCLEX`, what
    /// `os.set_inheritable` uses). Everything else is denied: socket ioctls such as
    /// `SIOCGIFCONF`/`SIOCGIFHWADDR`/`SIOCGIFADDR` answer about the network namespace the
    /// socket was created in, and `TIOCSTI` injects terminal input. The kernel reads the
    /// request as 32 bits; the filter compares all 64, so a request with high bits set
    /// matches nothing here and is denied too.
    static let allowedIoctls: [(name: String, request: UInt64)] = [
        ("TCGETS", 0x5401), ("TIOCGWINSZ", 0x5413), ("FIONREAD", 0x541B), ("FIONBIO", 0x5421),
        ("FIONCLEX", 0x5450), ("FIOCLEX", 0x5451),
    ]
    /// O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND: any of these makes an open a write.
    static let openWriteFlags: UInt64 = 0x1 | 0x2 | 0x40 | 0x200 | 0x400
    static let enosys: Int32 = 38
}

extension SeccompPolicy {
    /// Calls every Python child needs: memory, files it may see, time, threads' futexes,
    /// signals to itself, and I/O on already-open fds (the socket, /dev/null, its own files).
    static let pythonBase: [SyscallRule] = [
        "read", "readv", "pread64", "preadv", "write", "writev", "pwrite64", "pwritev", "lseek", "close",
        "fstat", "newfstatat", "statx", "stat", "lstat", "fstatfs", "statfs", "access", "faccessat", "faccessat2",
        "readlink", "readlinkat", "getdents64", "getcwd", "chdir", "fchdir", "fcntl", "dup", "dup2", "dup3",
        "fadvise64", "flock",
        "mmap", "munmap", "mprotect", "mremap", "madvise", "brk",
        "futex", "set_robust_list", "get_robust_list", "set_tid_address", "rseq",
        "exit", "exit_group", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "rt_sigpending",
        "rt_sigtimedwait", "rt_sigsuspend", "pause", "restart_syscall",
        "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid", "getresgid",
        "getpgrp", "getpgid", "getsid",
        "getrandom", "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
        "sched_yield", "sched_getaffinity", "sched_getparam", "sched_getscheduler", "getcpu",
        "getrlimit", "getrusage", "times", "sysinfo", "uname", "umask",
        "alarm", "getitimer", "setitimer",
        "poll", "ppoll", "select", "pselect6",
        "getsockname", "getpeername", "getsockopt", "shutdown",
    ].map { SyscallRule($0) } + [
        // The socket is already connected: sends and receives may not name an address.
        SyscallRule("sendto", .allow, [.eq(4, 0)]),
        SyscallRule("recvfrom", .allow, [.eq(4, 0)]),
        // Reading limits is fine; changing them is not.
        SyscallRule("prlimit64", .allow, [.eq(0, 0), .eq(2, 0)]),
        // Any handler but SIGSYS's may change; SIGSYS's handler may only be queried.
        SyscallRule("rt_sigaction", .allow, [.ne(0, LinuxConst.sigsys)]),
        SyscallRule("rt_sigaction", .allow, [.eq(0, LinuxConst.sigsys), .eq(1, 0)]),
    ] + LinuxConst.allowedIoctls.map { SyscallRule("ioctl", .allow, [.eq(1, $0.request)]) } + [
        // glibc falls back to clone() when clone3 says ENOSYS; clone3's flags live in
        // memory the filter cannot read, so it is never allowed.
        SyscallRule("clone3", .errno(LinuxConst.enosys)),
    ]

    /// Writable private /tmp, threads, event loops.
    static let artifactExtras: [SyscallRule] = [
        "open", "openat", "creat", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2",
        "ftruncate", "truncate", "fsync", "fdatasync", "fchmod", "fchmodat", "utimensat",
        "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "eventfd2", "pipe", "pipe2",
    ].map { SyscallRule($0) } + [
        // Threads only: no new processes, no new namespaces.
        SyscallRule("clone", .allow, [.masked(0, mask: LinuxConst.cloneThread | LinuxConst.cloneNamespaceFlags,
                                              equals: LinuxConst.cloneThread)]),
    ]

    /// The policy for a kind of child. Everything absent is `killAndReport`: among it
    /// socket/connect/bind, execve/execveat, fork (clone without CLONE_THREAD), ptrace,
    /// process_vm_*, kill/tkill/tgkill, io_uring_*, memfd_create, bpf, userfaultfd,
    /// perf_event_open, keyctl/add_key/request_key, mount/umount2/pivot_root/move_mount/
    /// fsopen, unshare/setns, kexec_*, init_module/finit_module/delete_module, personality,
    /// setuid family, prctl, seccomp, SysV IPC, sendmsg/recvmsg (no fd passing).
    public static func `for`(_ kind: ChildKind) -> SeccompPolicy {
        switch kind {
        case .artifact, .agent:
            return SeccompPolicy(defaultAction: .killAndReport, rules: pythonBase + artifactExtras)
        case .contract:
            // Pure functions: single-threaded, files may be opened only for reading.
            return SeccompPolicy(defaultAction: .killAndReport, rules: pythonBase + [
                SyscallRule("openat", .allow, [.masked(2, mask: LinuxConst.openWriteFlags, equals: 0)]),
                SyscallRule("open", .allow, [.masked(1, mask: LinuxConst.openWriteFlags, equals: 0)]),
            ])
        }
    }
}

/// The zygote's own filters (docs/SANDBOX.md, "Least privilege"). The zygote server installs
/// `zygote(uidBase:gid:)` as the last step of its start-up and every child it forks inherits
/// it, then stacks its kind's stricter filter on top; the kernel applies both, and the most
/// restrictive answer wins. So this allowlist is a superset of every child policy plus what
/// the fork server itself does (fork, wait, pass descriptors) and what a child does between
/// fork and its own filter (private mount namespace, /tmp, uid drop, no_new_privs, seccomp).
/// Its default is `killAndReport`, like the children's: a child's denied syscall must still
/// reach the child's reporter (the zygote's `SECCOMP_RET_KILL_PROCESS` would outrank the
/// child's `TRAP` and leave the violation unnamed).
extension SeccompPolicy {
    /// Linux constants of the zygote's rules.
    enum ZygoteConst {
        static let afUnix: UInt64 = 1
        static let sigkill: UInt64 = 9
        static let cloneNewNS: UInt64 = 0x0002_0000
        static let cloneNewCgroup: UInt64 = 0x0200_0000
        /// The only mount a child makes: its private tmpfs at /tmp, MS_NOSUID | MS_NODEV | MS_NOEXEC.
        static let tmpMountFlags: UInt64 = 0x2 | 0x4 | 0x8
        static let prSetPdeathsig: UInt64 = 1
        static let prSetSeccomp: UInt64 = 22
        static let prSetNoNewPrivs: UInt64 = 38
    }

    public static func zygote(uidBase: UInt32, gid: UInt32) -> SeccompPolicy {
        let uid = UInt64(uidBase), g = UInt64(gid)
        // What every child may do (its own filter narrows it further); prlimit64 and clone
        // are widened below, for the child's setrlimit and the zygote's fork.
        let inherited = (pythonBase + artifactExtras).filter { $0.name != "prlimit64" && $0.name != "clone" }
        let server: [SyscallRule] = ["wait4", "waitid", "setsid", "close_range", "sendmsg", "recvmsg"].map { SyscallRule($0) } + [
            // fork (and nothing that creates a namespace).
            SyscallRule("clone", .allow, [.masked(0, mask: LinuxConst.cloneNamespaceFlags, equals: 0)]),
            // Each child's socket is made here, in the children's network namespace.
            SyscallRule("socketpair", .allow, [.eq(0, ZygoteConst.afUnix)]),
            // `kill` records and shutdown: SIGKILL to its own children.
            SyscallRule("kill", .allow, [.eq(1, ZygoteConst.sigkill)]),
            // A child's setrlimit (glibc calls prlimit64 on itself).
            SyscallRule("prlimit64", .allow, [.eq(0, 0)]),
            // A child's identity drop: no groups, the policy's gid, a per-slot uid (never a
            // uid below the sandbox range, such as a host user's).
            SyscallRule("setgroups", .allow, [.eq(0, 0)]),
            SyscallRule("setresgid", .allow, [.eq(0, g), .eq(1, g), .eq(2, g)]),
            SyscallRule("setresuid", .allow, [.ge(0, uid), .ge(1, uid), .ge(2, uid)]),
            // A child's private mount (and cgroup) namespace and its /tmp: no other mount, no
            // bind, remount, move or umount, no other namespace.
            SyscallRule("unshare", .allow, [.eq(0, ZygoteConst.cloneNewNS)]),
            SyscallRule("unshare", .allow, [.eq(0, ZygoteConst.cloneNewNS | ZygoteConst.cloneNewCgroup)]),
            SyscallRule("mount", .allow, [.eq(3, ZygoteConst.tmpMountFlags)]),
            SyscallRule("prctl", .allow, [.eq(0, ZygoteConst.prSetPdeathsig)]),
            SyscallRule("prctl", .allow, [.eq(0, ZygoteConst.prSetNoNewPrivs)]),
            SyscallRule("prctl", .allow, [.eq(0, ZygoteConst.prSetSeccomp)]),
        ]
        return SeccompPolicy(defaultAction: .killAndReport, rules: inherited + server)
    }

    /// The outer zygote process, which only waits for the zygote server (pid 1 of the
    /// sandbox pid namespace) and kills it on SIGTERM.
    public static let zygoteWaiter = SeccompPolicy(defaultAction: .killProcess, rules: [
        "read", "write", "close", "wait4", "rt_sigaction", "rt_sigreturn", "rt_sigprocmask", "sigaltstack",
        "restart_syscall", "exit", "exit_group", "mmap", "munmap", "mremap", "brk", "madvise", "mprotect", "futex",
        "getpid", "gettid", "getppid", "clock_gettime",
    ].map { SyscallRule($0) } + [
        SyscallRule("kill", .allow, [.eq(1, ZygoteConst.sigkill)]),
    ])
}
