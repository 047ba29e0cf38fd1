import EcologyCore
import Foundation

/// The fuzz world's stand-in for the sandbox: an artifact's code is a script the fuzzer
/// wrote, so tool and contract behaviour are as hostile as the frames are. The code is a
/// JSON object:
///
///     {"calls": [{"action": "invoke", "params": {...}}, ...],  // kernel calls the code makes
///      "result": <any JSON>,                                      // what it returns
///      "error": "message",                                        // or: it fails
///      "cpu_micros": 1234}                                        // CPU it "used"
///
/// Code that is not such an object fails as a crashed child would. What the real sandbox
/// guarantees whatever the code does is kept: CPU is bounded by the timeout, output by
/// `maxOutputBytes`, and kernel calls go through the kernel's handler as the tool.
struct ScriptedExecutor: ArtifactExecutor {
    /// Nested kernel calls one execution may make (a real child is bounded by its timeout).
    static let maxCalls = 8

    func execute(_ request: ExecutionRequest, kernelCalls: @escaping KernelCallHandler) -> ExecutionOutcome {
        guard let script = try? JSONCodec.decode(request.code), case .object(let s) = script else {
            return ExecutionOutcome(result: .failure(KernelError(.executionError, "the child exited with status 1")),
                                    cpuMicros: 1_000, wallMicros: 1_000)
        }
        let timeoutMicros = Int64(exactly: (request.timeoutSeconds * 1_000_000).rounded(.down)) ?? 0
        let cpu = min(max(s["cpu_micros"]?.intValue ?? 1_000, 0), max(timeoutMicros, 0))
        var replies: [JSONValue] = []
        for call in (s["calls"]?.arrayValue ?? []).prefix(Self.maxCalls) {
            guard let action = call["action"]?.stringValue else { continue }
            replies.append(kernelCalls(action, call["params"] ?? .object([:])).json)
        }
        if let message = s["error"]?.stringValue {
            return ExecutionOutcome(result: .failure(KernelError(.executionError, message)), cpuMicros: cpu, wallMicros: cpu)
        }
        // `"result": "replies"` returns what the kernel answered, so a tool can pass kernel data back.
        let result = s["result"] == .string("replies") ? .array(replies) : (s["result"] ?? .null)
        if JSONCodec.bytes(result).count > request.maxOutputBytes {
            return ExecutionOutcome(result: .failure(KernelError(.executionError, "output exceeds \(request.maxOutputBytes) bytes")),
                                    cpuMicros: cpu, wallMicros: cpu)
        }
        return ExecutionOutcome(result: .success(result), cpuMicros: cpu, wallMicros: cpu)
    }
}
