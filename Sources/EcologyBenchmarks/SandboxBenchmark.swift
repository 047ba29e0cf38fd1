import Foundation
#if canImport(Glibc)
import Glibc
#endif
import EcologyCore
import EcologySandbox
import NIOConcurrencyHelpers

/// Executor-level figures for `ecology bench invoke`: latency of a trivial sandboxed
/// execution, throughput with two concurrent callers, and a cold `python3 -c pass` baseline.
public enum SandboxBenchmark {
    /// Keys: `exec_p50_ms`, `exec_p99_ms`, `exec_mean_ms`, `exec_per_second` (2 concurrent callers),
    /// `cold_python_p50_ms`, `iterations`, `errors`. Times are medians/percentiles of this run.
    public static func run(iterations: Int = 300, config: WorldConfig = WorldConfig(),
                           executor: SandboxedExecutor? = nil) throws -> [String: Double] {
        let ex = try executor ?? SandboxedExecutor(config: config)
        defer { if executor == nil { ex.shutdown() } }
        let req = ExecutionRequest(kind: .artifact, artifactID: "bench", code: "def run(x):\n    return x + 1\n",
                                   method: "run", args: [1], caller: "bench", depth: 0, timeoutSeconds: 5,
                                   memoryLimitBytes: config.resources.memoryLimitBytes, maxOutputBytes: 1024)
        let none: KernelCallHandler = { _, _ in .failure(KernelError(.notFound, "none")) }
        for _ in 0..<20 { _ = ex.execute(req, kernelCalls: none) }  // warm up
        var lat: [Double] = []
        var errors = 0
        for _ in 0..<iterations {
            let t = (Double(monotonicNanos()) / 1e9)
            let o = ex.execute(req, kernelCalls: none)
            lat.append(((Double(monotonicNanos()) / 1e9) - t) * 1000)
            if (try? o.result.get()) != .int(2) { errors += 1 }
        }
        lat.sort()
        // Throughput: two callers (one per core) for the same number of executions.
        let t0 = (Double(monotonicNanos()) / 1e9)
        let errorCount = Counter()
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            for _ in 0..<(iterations / 2) {
                if (try? ex.execute(req, kernelCalls: none).result.get()) != .int(2) { errorCount.add() }
            }
        }
        let throughput = Double((iterations / 2) * 2) / ((Double(monotonicNanos()) / 1e9) - t0)
        var cold: [Double] = []
        for _ in 0..<max(5, min(30, iterations / 10)) {
            let t = (Double(monotonicNanos()) / 1e9)
            if spawnAndWait([config.sandbox.python, "-c", "pass"]) { cold.append(((Double(monotonicNanos()) / 1e9) - t) * 1000) }
        }
        cold.sort()
        return [
            "iterations": Double(iterations),
            "exec_p50_ms": percentile(lat, 0.5), "exec_p99_ms": percentile(lat, 0.99),
            "exec_mean_ms": lat.reduce(0, +) / Double(max(lat.count, 1)),
            "exec_per_second": throughput,
            "cold_python_p50_ms": percentile(cold, 0.5),
            "errors": Double(errors + errorCount.value),
        ]
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
    }

    static func spawnAndWait(_ argv: [String]) -> Bool {
        var pid: pid_t = 0
        var cArgv = argv.map { strdup($0) } + [nil]
        defer { cArgv.forEach { free($0) } }
        var env: [UnsafeMutablePointer<CChar>?] = [nil]
        guard posix_spawn(&pid, argv[0], nil, nil, &cArgv, &env) == 0 else { return false }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return true
    }

    final class Counter: Sendable {
        private let count = NIOLockedValueBox(0)
        var value: Int { count.withLockedValue { $0 } }
        func add() { count.withLockedValue { $0 += 1 } }
    }
}
