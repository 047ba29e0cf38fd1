import EcologyCore
@testable import EcologyKernel
@testable import EcologyObservatory
import EcologyStore
import EcologyTestSupport
import Foundation
import XCTest

/// Tool code as the tests' executor runs it: `ok` answers 1 after 2 ms of CPU;
/// `forbidden` dies of a seccomp violation (`ptrace`), as a hostile tool would.
struct ScriptedToolExecutor: ArtifactExecutor {
    func execute(_ request: ExecutionRequest, kernelCalls: @escaping KernelCallHandler) -> ExecutionOutcome {
        if request.code == "forbidden" {
            return ExecutionOutcome(result: .failure(KernelError(.sandboxViolation, "blocked syscall ptrace")), cpuMicros: 500, wallMicros: 700,
                                    violatedSyscall: "ptrace")
        }
        return ExecutionOutcome(result: .success(.int(1)), cpuMicros: 2_000, wallMicros: 3_000)
    }
}

/// A world on the real clock (the page and the event stream are live), bootstrapped with
/// the five default agents, its observatory served on a free loopback port.
final class ObservatoryTestWorld: KernelWorld {
    let directory: URL
    let kernel: Kernel
    let metrics = ObservatoryMetrics()
    let token = ControlToken.generate()
    let server: ObservatoryServer

    init(live: Bool = true, control: Bool = true) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-otests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let database = try WorldDatabase(path: directory.appendingPathComponent("world.sqlite").path)
        kernel = Kernel(database: database, config: WorldConfig(), executor: ScriptedToolExecutor(), scorer: BuiltinMintScorer())
        try kernel.bootstrap()
        kernel.addObserver(metrics)
        let reader = WorldReader(kernel: kernel, metrics: metrics, live: live ? FixedRate(rate: 12.5) : nil, kpis: KernelKPIs(kernel: kernel), statements: KernelStatements(kernel: kernel))
        var options = ObservatoryServer.Options(address: ObservatoryAddress(host: "127.0.0.1", port: 0), token: control ? token : nil)
        options.sampleSeconds = 0.5
        server = try ObservatoryServer(reader: reader, options: options)
        try server.start()
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    var port: Int { server.port }

    /// Writes a priced tool owned by `owner` (code `ok`, or `forbidden`).
    func writeTool(_ owner: String, _ id: String, price: Int64, code: String = "ok") throws {
        let written = act(owner, "write", ["artifact_id": .string(id), "content": "a test tool", "code": .string(code), "price": .int(price),
                                           "interface": ["tools": [["name": "run", "description": "a test tool", "inputSchema": ["type": "object"]]]]])
        guard written.isOK else { throw ObservatoryTestError("write \(id): \(written.json)") }
    }

    /// One round of economic activity: a transfer, a paid call of another's tool, a note written.
    func actOnce(_ i: Int) {
        let agents = ["alpha", "beta", "gamma", "delta", "epsilon"]
        let from = agents[i % agents.count], to = agents[(i + 1) % agents.count]
        invoke(from, "genesis_ledger", "transfer", [.string(to), .int(1)])
        invoke(from, "\(to).tool", "run")
        act(from, "write", ["artifact_id": .string("\(from).note\(i % 3)"), "content": .string("note \(i)")])
    }
}

struct FixedRate: LiveWorldStatus { let rate: Double; func actionsPerSecond() -> Double { rate } }

struct ObservatoryTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
