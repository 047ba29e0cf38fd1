import EcologyCore
import EcologyKernel
import EcologySandbox
import EcologyStore
import Foundation
import NIOConcurrencyHelpers

public enum ContractStallBenchmark {
    public static func run(directory: String, runs: Int, transfers: Int, contractSeconds: Double, config: WorldConfig,
                    progress: (String) -> Void) throws -> JSONValue {
        var cfg = config
        cfg.agents = [AgentSpec(id: "reader", scrip: 0), AgentSpec(id: "payer", scrip: 1_000_000), AgentSpec(id: "payee", scrip: 0)]
        cfg.resources.compute = BucketConfig(ratePerSecond: 1_000_000, capacity: 1_000_000_000, initial: 1_000_000_000)
        cfg.limits.contractTimeoutSeconds = contractSeconds + 2
        cfg.limits.invokeTimeoutSeconds = max(cfg.limits.invokeTimeoutSeconds, contractSeconds + 3)
        let executor = try SandboxedExecutor(config: cfg)
        defer { executor.shutdown() }
        let kernel = Kernel(database: try WorldDatabase(path: directory + "/bench-contract-stall.sqlite"), config: cfg, executor: executor)
        try kernel.bootstrap()
        let code = "import time\n\ndef check_permission(artifact_id, action, requester_id, artifact, context):\n    time.sleep(\(contractSeconds))\n    return {\"allowed\": True, \"reason\": \"slow\"}\n"
        for (id, fields) in [
            ("slow_gate", ["kind": "contract", "code": .string(code), "executable": true,
                           "interface": ["tools": [["name": "check_permission", "description": "answers slowly"]]]] as [String: JSONValue]),
            ("guarded", ["content": "behind a slow contract", "contract": "slow_gate"]),
        ] {
            var p = fields
            p["artifact_id"] = .string(id)
            let env = kernel.handle(action: "write", params: .object(p), context: .principal("reader"))
            guard env.isOK else { throw KernelError(.internal, "bench setup failed: \(env.json)") }
        }
        let probe = kernel.handle(action: "read", params: ["artifact_id": "guarded"], context: .principal("reader"))
        guard probe.isOK else { throw KernelError(.internal, "the guarded read fails: \(probe.json)") }

        func transfer() throws -> Double {
            let t = DispatchTime.now().uptimeNanoseconds
            let env = kernel.invoke("genesis_ledger", method: "transfer", args: ["payee", 1], context: .principal("payer"))
            guard env.isOK else { throw KernelError(.internal, "transfer failed: \(env.json)") }
            return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6
        }
        var alone: [Double] = [], contended: [Double] = [], contendedMax: [Double] = []
        var reads = 0
        for run in 1...runs {
            progress("run \(run)/\(runs): \(transfers) transfers alone")
            alone.append(median(try (0..<transfers).map { _ in try transfer() }))
            progress("run \(run)/\(runs): \(transfers) transfers while the guarded artifact is read")
            let stop = ReaderStop()
            let reader = Thread {
                while !stop.isSet {
                    if kernel.handle(action: "read", params: ["artifact_id": "guarded"], context: .principal("reader")).isOK { stop.countRead() }
                }
                stop.finish()
            }
            reader.start()
            // Let the first read reach its contract; then every transfer overlaps some evaluation.
            Thread.sleep(forTimeInterval: min(0.2, contractSeconds / 4))
            var latencies: [Double] = []
            for _ in 0..<transfers { latencies.append(try transfer()) }
            stop.set()
            stop.waitFinished()
            reads += stop.reads
            contended.append(median(latencies))
            contendedMax.append(latencies.max() ?? 0)
        }
        return .object([
            "runs": .int(Int64(runs)), "transfers_per_run": .int(Int64(transfers)), "contract_seconds": .number(contractSeconds),
            "transfer_alone_p50_ms": .number(round3(median(alone))),
            "transfer_during_contract_p50_ms": .number(round3(median(contended))),
            "transfer_during_contract_max_ms": .number(round3(median(contendedMax))),
            "per_run_alone_p50_ms": .array(alone.map { .number(round3($0)) }),
            "per_run_during_contract_p50_ms": .array(contended.map { .number(round3($0)) }),
            "guarded_reads_completed": .int(Int64(reads)),
            "invariants_ok": .bool(try kernel.checkInvariants().ok),
        ])
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}

/// The reader thread's stop flag, read count and end, shared with the benchmark's thread.
private final class ReaderStop: Sendable {
    private let stopped = NIOLockedValueBox(false)
    private let count = NIOLockedValueBox(0)
    private let ended = DispatchSemaphore(value: 0)
    var isSet: Bool { stopped.withLockedValue { $0 } }
    var reads: Int { count.withLockedValue { $0 } }
    func set() { stopped.withLockedValue { $0 = true } }
    func countRead() { count.withLockedValue { $0 += 1 } }
    func finish() { ended.signal() }
    func waitFinished() { ended.wait() }
}
