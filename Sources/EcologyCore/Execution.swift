/// What the kernel asks of whoever runs agent-written code. The kernel never forks:
/// the supervisor supplies an `ArtifactExecutor` that runs code in a sandboxed child.

/// Which sandbox policy a child runs under.
public enum ChildKind: String, Sendable, Codable, CaseIterable {
    /// A long-lived agent process.
    case agent
    /// One execution of a tool's code.
    case artifact
    /// One pure `check_permission` evaluation of a custom contract.
    case contract
}

public struct ExecutionRequest: Sendable, Equatable {
    public var kind: ChildKind
    public var artifactID: String
    public var code: String
    /// The tool name (or `check_permission` for contracts).
    public var method: String
    public var args: [JSONValue]
    /// The identity the child's nested kernel calls run as.
    public var caller: String
    public var depth: Int
    /// Wall-clock seconds this execution may run: the kernel passes what remains of the
    /// call chain's deadline (`deadlineMicros`), never more than the per-call limit.
    public var timeoutSeconds: Double
    public var memoryLimitBytes: Int64
    public var maxOutputBytes: Int
    /// The absolute deadline of the whole call chain on the kernel's `WorldClock`
    /// (`CallContext.deadlineMicros`), for the record; the executor enforces `timeoutSeconds`
    /// on its own monotonic clock and never lets a nested execution outlive its parent.
    public var deadlineMicros: Int64?
    /// CPU-seconds the payer can pay for (see `Kernel.reserveCompute`); the executor sets the
    /// child's RLIMIT_CPU to at most this. nil: the policy's limit.
    public var cpuLimitSeconds: Int?

    public init(kind: ChildKind, artifactID: String, code: String, method: String, args: [JSONValue],
                caller: String, depth: Int, timeoutSeconds: Double, memoryLimitBytes: Int64, maxOutputBytes: Int,
                deadlineMicros: Int64? = nil, cpuLimitSeconds: Int? = nil) {
        self.kind = kind; self.artifactID = artifactID; self.code = code; self.method = method
        self.args = args; self.caller = caller; self.depth = depth; self.timeoutSeconds = timeoutSeconds
        self.memoryLimitBytes = memoryLimitBytes; self.maxOutputBytes = maxOutputBytes
        self.deadlineMicros = deadlineMicros; self.cpuLimitSeconds = cpuLimitSeconds
    }
}

extension ExecutionRequest {
    /// A duration in whole seconds (RLIMIT_CPU's unit), rounded up, at least 1, clamped to
    /// a day: computed from configured and remaining times, so it must never trap.
    public static func wholeSeconds(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 1 }
        return Int(exactly: min(seconds, 86_400).rounded(.up)) ?? 1
    }
}

public struct ExecutionOutcome: Sendable, Equatable {
    /// The tool's return value, or the error that ended the run.
    public var result: Result<JSONValue, KernelError>
    /// CPU time the child used (user + system), in microseconds. Charged to the payer.
    public var cpuMicros: Int64
    public var wallMicros: Int64
    /// Peak resident memory in bytes, if measured.
    public var peakMemoryBytes: Int64?
    /// The blocked syscall, when the child died of a seccomp violation.
    public var violatedSyscall: String?

    public init(result: Result<JSONValue, KernelError>, cpuMicros: Int64, wallMicros: Int64,
                peakMemoryBytes: Int64? = nil, violatedSyscall: String? = nil) {
        self.result = result; self.cpuMicros = cpuMicros; self.wallMicros = wallMicros
        self.peakMemoryBytes = peakMemoryBytes; self.violatedSyscall = violatedSyscall
    }
}

/// Answers the kernel calls a running child makes (`invoke`, `read`, ...).
/// `action` is a kernel action name; the return value is a full response envelope.
public typealias KernelCallHandler = @Sendable (_ action: String, _ params: JSONValue) -> Envelope

/// Runs code in a fresh sandboxed child. Implementations must always reap the child,
/// enforce `timeoutSeconds`, `cpuLimitSeconds`, memory and `maxOutputBytes` themselves
/// (never trusting code in the child to do it), and measure CPU also for failed runs.
public protocol ArtifactExecutor: Sendable {
    func execute(_ request: ExecutionRequest, kernelCalls: @escaping KernelCallHandler) -> ExecutionOutcome
}

/// An executor for worlds with no sandbox available: every execution is refused clearly.
public struct UnavailableExecutor: ArtifactExecutor {
    public let reason: String
    public init(reason: String = "code execution needs the sandbox, which is not available in this process") {
        self.reason = reason
    }
    public func execute(_ request: ExecutionRequest, kernelCalls: @escaping KernelCallHandler) -> ExecutionOutcome {
        ExecutionOutcome(result: .failure(KernelError(.executionError, reason)), cpuMicros: 0, wallMicros: 0)
    }
}
