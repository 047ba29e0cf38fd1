import EcologyCore
import EcologyWire
import Foundation

/// The limits `SandboxedExecutor.execute` enforces on the supervisor's side of the socket,
/// whatever the child does: code in the child can bypass `runner.py` (write its own frames
/// to fd 3, patch the runner), so nothing the runner checks counts as enforcement.
public enum ExecutionLimits {
    /// Kernel calls one execution may make; the next one ends it (EXECUTION_ERROR,
    /// `details.limit = "kernel_calls"`). Each call costs the supervisor CPU, and reads cost
    /// the payer nothing by default (`costs.read_ms` = 0), so a flood must end.
    public static let maxKernelCalls = 10_000

    /// An error report (an error envelope from the child) larger than this is replaced:
    /// the runner's own reports (message, 4,000-character traceback and stdout) stay far below.
    static let maxErrorReportBytes = 64 << 10

    /// The result's own size, measured here as the supervisor encodes it; nil if it is
    /// within `maxOutputBytes`, else the EXECUTION_ERROR that replaces it.
    static func resultError(_ response: Envelope, maxOutputBytes: Int) -> KernelError? {
        switch response {
        case .ok(let value):
            let bytes = JSONCodec.encode(value).count
            guard bytes > maxOutputBytes else { return nil }
            return KernelError(.executionError, "result of \(bytes) bytes exceeds the output limit of \(maxOutputBytes) bytes",
                               details: ["limit": "output", "bytes": .int(Int64(bytes)), "max_output_bytes": .int(Int64(maxOutputBytes))])
        case .failure(let e):
            let bytes = JSONCodec.encode(e.json).count
            guard bytes > maxErrorReportBytes else { return nil }
            return KernelError(.executionError, "the code's error report of \(bytes) bytes exceeds the output limit of \(maxErrorReportBytes) bytes",
                               details: ["limit": "output", "bytes": .int(Int64(bytes)), "max_output_bytes": .int(Int64(maxErrorReportBytes))])
        }
    }

    static func kernelCallsError() -> KernelError {
        KernelError(.executionError, "the code made more than \(maxKernelCalls) kernel calls in one execution",
                    details: ["limit": "kernel_calls", "max_kernel_calls": .int(Int64(maxKernelCalls))])
    }

    /// The encoded reply to a kernel call, or, when it would exceed the frame limit (the
    /// child would take it for a protocol error), an INVALID_ARGS error that says so. The
    /// action has happened either way; only its answer is replaced (as `AgentSession` does).
    static func replyFrame(id: Int64, action: String, _ reply: Envelope, frameLimit: Int) -> [UInt8] {
        let frame = Frame.encode(WireMessage.reply(id: id, response: reply).json)
        guard frame.count - Frame.headerBytes > frameLimit else { return frame }
        let error = KernelError(.invalidArgs, "the answer to \(action.prefix(64)) is \(frame.count - Frame.headerBytes) bytes, over the frame limit of \(frameLimit); ask for less",
                                details: ["bytes": .int(Int64(frame.count - Frame.headerBytes)), "limit": .int(Int64(frameLimit))])
        return Frame.encode(WireMessage.reply(id: id, response: .failure(error)).json)
    }

    // MARK: - the enclosing deadline

    /// The monotonic deadline (`Posix.now()` seconds) of the execution whose kernel call this
    /// thread is serving, if any. Kernel calls are served synchronously on the thread that
    /// runs `execute`, so a nested execution (a tool invoking a tool) sees its parent's
    /// deadline here and cannot outlive it, whatever timeout its request carries: the
    /// supervisor bounds the chain by itself, not only through the kernel's clock.
    static var enclosingDeadline: Double? {
        (Thread.current.threadDictionary[key] as? DeadlineBox)?.deadline
    }

    /// Runs `body` (serving one kernel call) with `deadline` as the enclosing deadline.
    static func serving<T>(until deadline: Double, _ body: () -> T) -> T {
        let dict = Thread.current.threadDictionary
        let previous = dict[key] as? DeadlineBox
        dict[key] = DeadlineBox(min(deadline, previous?.deadline ?? deadline))
        defer { dict[key] = previous }
        return body()
    }

    private static let key = "ecology.sandbox.enclosing-deadline"

    private final class DeadlineBox {
        let deadline: Double
        init(_ deadline: Double) { self.deadline = deadline }
    }
}
