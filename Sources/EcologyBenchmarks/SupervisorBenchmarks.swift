import EcologyCore
import EcologyHost
import EcologyKernel
import EcologySandbox
import EcologyStore
import EcologySupervisor
import Foundation
import NIOConcurrencyHelpers

/// `ecology bench invoke` and `ecology bench agents`: figures measured through the
/// whole path (kernel permission check, sandboxed child, charge, event).
public enum SupervisorBenchmarks {
    /// Invokes a trivial Python tool through `Kernel.invoke` `iterations` times (latency),
    /// then with two concurrent callers (throughput), then `memoryIterations` more times
    /// to show the supervisor's RSS stays flat. Adds the executor-level and cold-python figures.
    public static func invoke(directory: String, iterations: Int, memoryIterations: Int, config: WorldConfig = WorldConfig(),
                              progress: (String) -> Void = { _ in }) throws -> JSONValue {
        var cfg = config
        cfg.agents = [AgentSpec(id: "caller", scrip: 1_000_000), AgentSpec(id: "author", scrip: 0)]
        cfg.resources.compute = BucketConfig(ratePerSecond: 1_000_000, capacity: 1_000_000_000, initial: 1_000_000_000)
        let executor = try SandboxedExecutor(config: cfg)
        defer { executor.shutdown() }
        let kernel = Kernel(database: try WorldDatabase(path: directory + "/bench-invoke.sqlite"), config: cfg, executor: executor)
        try kernel.bootstrap()
        let write = kernel.handle(action: "write", params: [
            "artifact_id": "incr", "code": "def incr(x):\n    return x + 1\n", "executable": true,
            "interface": ["tools": [["name": "incr", "description": "adds one", "inputSchema": ["type": "object", "properties": ["x": ["type": "integer"]], "required": ["x"]]]]],
        ], context: .principal("author"))
        guard write.isOK else { throw KernelError(.internal, "bench setup failed: \(write.json)") }
        @Sendable func call() -> Bool { kernel.invoke("incr", method: "incr", args: [41], context: .principal("caller")).value == .int(42) }
        for _ in 0..<20 { _ = call() }
        progress("latency: \(iterations) sequential invokes")
        var latencies: [Double] = []
        var errors = 0
        for _ in 0..<iterations {
            let t = monotonicNanos()
            if !call() { errors += 1 }
            latencies.append(Double(monotonicNanos() - t) / 1e6)
        }
        latencies.sort()
        progress("throughput: \(iterations) invokes from 2 callers")
        let t0 = monotonicNanos()
        let failed = AtomicCount()
        DispatchQueue.concurrentPerform(iterations: 2) { _ in for _ in 0..<(iterations / 2) where !call() { failed.add() } }
        let perSecond = Double(iterations / 2 * 2) / (Double(monotonicNanos() - t0) / 1e9)
        let rssBefore = (ProcessStatus.residentBytes() ?? 0)
        progress("memory: \(memoryIterations) more invokes")
        for i in 0..<memoryIterations {
            if !call() { errors += 1 }
            if i > 0 && i % 10_000 == 0 { progress("memory: \(i) invokes, RSS \((ProcessStatus.residentBytes() ?? 0) / 1_048_576) MiB") }
        }
        let rssAfter = (ProcessStatus.residentBytes() ?? 0)
        let sandbox = try SandboxBenchmark.run(iterations: 100, config: cfg, executor: executor)
        return .object([
            "iterations": .int(Int64(iterations)), "errors": .int(Int64(errors + failed.value)),
            "p50_ms": .number(pct(latencies, 0.5)), "p99_ms": .number(pct(latencies, 0.99)),
            "invocations_per_second": .number(perSecond.rounded()),
            "python_c_pass_p50_ms": .number(round3(sandbox["cold_python_p50_ms"] ?? .nan)),
            "executor_only_p50_ms": .number(round3(sandbox["exec_p50_ms"] ?? .nan)),
            "memory_iterations": .int(Int64(memoryIterations)),
            "supervisor_rss_before_mb": .number(round3(Double(rssBefore) / 1_048_576)),
            "supervisor_rss_after_mb": .number(round3(Double(rssAfter) / 1_048_576)),
            "invariants_ok": .bool(try kernel.checkInvariants().ok),
        ])
    }

    /// Runs `agents` heuristic agents for `seconds` and measures sustained kernel
    /// actions/s, the latency of a cheap kernel call (balance) made alongside, the
    /// supervisor's RSS and the agent children's mean RSS.
    public static func agents(directory: String, agents: Int, seconds: Double, config: WorldConfig = WorldConfig(),
                              progress: (String) -> Void = { _ in }) throws -> JSONValue {
        var cfg = config
        cfg.agents = (0..<agents).map { AgentSpec(id: String(format: "agent-%03d", $0 + 1)) }
        let executor = try SandboxedExecutor(config: cfg)
        defer { executor.shutdown() }
        let kernel = Kernel(database: try WorldDatabase(path: directory + "/bench-agents.sqlite"), config: cfg, executor: executor)
        try kernel.bootstrap()
        let supervisor = Supervisor(kernel: kernel, executor: executor, gateway: nil)
        let started = monotonicNanos()
        let elapsed: @Sendable () -> Double = { Double(monotonicNanos() - started) / 1e9 }
        // Probe: a cheap call every 20 ms from a separate thread, after a warm-up of 20% of the run.
        let probe = LatencyProbe()
        let probeThread = Thread {
            while elapsed() < seconds {
                if elapsed() > seconds * 0.2 {
                    let t = monotonicNanos()
                    _ = kernel.invoke("genesis_ledger", method: "balance", args: ["agent-001"], context: .principal("agent-001"))
                    probe.add(Double(monotonicNanos() - t) / 1e6)
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        probeThread.start()
        var actionsAtWarm: Int64 = 0, warmTime = 0.0
        var cpuAtWarm = (0.0, HostCPU.sample())
        var childRSS: [(rss: Int64, pss: Int64)] = []
        var samplingCPU = 0.0
        var threads = 0
        supervisor.run(shouldStop: { elapsed() >= seconds }) { s in
            // The most threads the process held once every agent was up (the probe's included).
            if elapsed() > seconds * 0.2 { threads = max(threads, (ProcessStatus.threads() ?? 0)) }
            progress(String(format: "%.0fs: %d running, %d sleeping, %.0f actions/s", elapsed(), s.running, s.sleeping, s.actionsPerSecond))
            if warmTime == 0 && elapsed() > seconds * 0.2 {
                warmTime = elapsed(); actionsAtWarm = s.actions; cpuAtWarm = (processCPUSeconds(), HostCPU.sample())
            }
            if elapsed() > seconds * 0.7 && childRSS.isEmpty {
                // Reading every child's smaps_rollup is the benchmark's own work (5 % of the
                // supervisor's samples at 1,600 agents): not counted as the supervisor's.
                let t = threadCPUSeconds()
                childRSS = supervisor.childResidentBytes()
                samplingCPU = threadCPUSeconds() - t
            }
        }
        let total = supervisor.status().actions
        let supervisorCPU = processCPUSeconds() - cpuAtWarm.0 - samplingCPU
        let host = HostCPU.sample().since(cpuAtWarm.1)
        let report = try kernel.checkInvariants()
        let sustained = Double(total - actionsAtWarm) / max(0.001, elapsed() - warmTime)
        let lat = probe.sorted()
        return .object([
            "agents": .int(Int64(agents)), "seconds": .number(round3(seconds)),
            "actions": .int(total), "actions_per_second": .number(sustained.rounded()),
            "balance_call_p50_ms": .number(pct(lat, 0.5)), "balance_call_p99_ms": .number(pct(lat, 0.99)),
            "balance_calls": .int(Int64(lat.count)),
            // Where the CPU went in the measured window: the supervisor's own CPU per action,
            // and how busy the whole host was (1.0 = every core saturated).
            "supervisor_cpu_ms_per_action": .number(round3(supervisorCPU * 1000 / Double(max(1, total - actionsAtWarm)))),
            "supervisor_cores": .number(round3(supervisorCPU / max(0.001, elapsed() - warmTime))),
            "rss_sampling_cpu_ms": .number(round3(samplingCPU * 1000)),
            "host_busy_fraction": .number(round3(host)),
            "supervisor_threads": .int(Int64(threads)),
            "supervisor_rss_mb": .number(round3(Double((ProcessStatus.residentBytes() ?? 0)) / 1_048_576)),
            "agent_rss_mean_mb": .number(childRSS.isEmpty ? 0 : round3(Double(childRSS.map(\.rss).reduce(0, +)) / Double(childRSS.count) / 1_048_576)),
            "agent_pss_mean_mb": .number(childRSS.isEmpty ? 0 : round3(Double(childRSS.map(\.pss).reduce(0, +)) / Double(childRSS.count) / 1_048_576)),
            "agent_rss_samples": .int(Int64(childRSS.count)),
            "invariants_ok": .bool(report.ok), "invariant_violations": .array(report.violations.map(JSONValue.string)),
        ])
    }

    final class AtomicCount: Sendable {
        private let count = NIOLockedValueBox(0)
        var value: Int { count.withLockedValue { $0 } }
        func add() { count.withLockedValue { $0 += 1 } }
    }

    final class LatencyProbe: Sendable {
        private let values = NIOLockedValueBox<[Double]>([])
        func add(_ v: Double) { values.withLockedValue { $0.append(v) } }
        func sorted() -> [Double] { values.withLockedValue { $0.sorted() } }
    }

    static func pct(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return round3(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
    }

    static func round3(_ v: Double) -> Double { v.isFinite ? (v * 1000).rounded() / 1000 : 0 }
}

/// User + system CPU seconds of this process (all threads).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// User + system CPU seconds of the calling thread.
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Busy and total jiffies of the whole host, from /proc/stat.
struct HostCPU {
    var busy: Double = 0, total: Double = 0
    static func sample() -> HostCPU {
        guard let s = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return HostCPU() }
        let v = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard v.count >= 5 else { return HostCPU() }
        let idle = v[3] + v[4]  // idle + iowait
        let total = v.prefix(8).reduce(0, +)
        return HostCPU(busy: total - idle, total: total)
    }
    func since(_ earlier: HostCPU) -> Double {
        let t = total - earlier.total
        return t > 0 ? (busy - earlier.busy) / t : 0
    }
}


extension Supervisor {
    /// RSS and PSS of each running agent child (host pid known).
    func childResidentBytes() -> [(rss: Int64, pss: Int64)] {
        agentChildPIDs().compactMap { pid -> (rss: Int64, pss: Int64)? in
            guard let rss = ProcessStatus.residentBytes(pid: String(pid)), rss > 0 else { return nil }
            return (rss, ProcessStatus.proportionalBytes(pid: String(pid)) ?? 0)
        }
    }
}
