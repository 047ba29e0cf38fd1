import EcologyCore
@testable import EcologyKernel
import EcologyLLM
import EcologySandbox
import EcologyStore
import EcologyTestSupport
@testable import EcologySupervisor
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

/// The real sandbox, shared by every test of this target (a zygote and a cgroup pool
/// cost ~100 ms to start). Its policies come from the default configuration; kernels pass
/// their own time and memory limits per execution.
enum Sandbox {
    static let shared: Result<SandboxedExecutor, Error> = Result { try SandboxedExecutor(config: WorldConfig()) }

    /// The executor, or a test failure that says why the sandbox cannot start here.
    static func executor(file: StaticString = #filePath, line: UInt = #line) throws -> SandboxedExecutor {
        switch shared {
        case .success(let e): return e
        case .failure(let error):
            XCTFail("the sandbox cannot start on this host: \(error) (these tests need python3, seccomp and namespaces; see `ecology doctor`)",
                    file: file, line: line)
            throw error
        }
    }

    /// Skips (with the reason) when a test needs cgroups and this host has none writable.
    static func requireCgroups(_ what: String) throws {
        let e = try executor()
        if e.layers.cgroup == .none {
            throw XCTSkip("\(what) needs writable cgroups (root with cgroup v1 or v2); this host: \(e.layers.cgroupDetail)")
        }
    }
}

/// Counts executions by kind, so tests can see when a contract was (not) run again.
final class CountingExecutor: ArtifactExecutor, @unchecked Sendable {
    let inner: any ArtifactExecutor
    private let lock = NSLock()
    private var counts: [ChildKind: Int] = [:]

    init(_ inner: any ArtifactExecutor) { self.inner = inner }

    func execute(_ request: ExecutionRequest, kernelCalls: @escaping KernelCallHandler) -> ExecutionOutcome {
        lock.lock(); counts[request.kind, default: 0] += 1; lock.unlock()
        return inner.execute(request, kernelCalls: kernelCalls)
    }

    func count(_ kind: ChildKind) -> Int { lock.lock(); defer { lock.unlock() }; return counts[kind] ?? 0 }
}

extension WorldConfig {
    /// Small and fast: short timeouts, a fast supervision tick, a short mint period.
    static func test(agents: [AgentSpec] = AgentSpec.defaultFive) -> WorldConfig {
        var c = WorldConfig()
        c.agents = agents
        c.limits.invokeTimeoutSeconds = 1.5
        c.resources.memoryLimitBytes = 96 << 20
        c.supervisor.metricsWindowSeconds = 0.1
        c.supervisor.restartBackoffSeconds = 0.2
        c.supervisor.shutdownTimeoutSeconds = 0.5
        c.mint.periodSeconds = 3
        return c
    }
}

extension AgentSpec {
    /// An agent that runs `sandbox/tests/agents/scripted_agent.py` with `program` (see that file).
    static func scripted(_ id: String, scrip: Int64 = 100, _ program: [JSONValue] = []) -> AgentSpec {
        AgentSpec(id: id, scrip: scrip, mind: "scripted", prompt: JSONCodec.string(.array(program)))
    }
}

/// A program step for the scripted agent.
enum Step {
    static func call(_ action: String, _ params: JSONValue = .object([:]), report: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["call": .string(action), "params": params]
        if let report { o["report"] = .string(report) }
        return .object(o)
    }
    static func invoke(_ artifact: String, _ method: String, _ args: [JSONValue], report: String? = nil) -> JSONValue {
        call("invoke", ["artifact_id": .string(artifact), "method": .string(method), "args": .array(args)], report: report)
    }
    static func burn(_ seconds: Double, report: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["burn": .number(seconds)]
        if let report { o["report"] = .string(report) }
        return .object(o)
    }
    static func exit(_ code: Int) -> JSONValue { ["exit": .int(Int64(code))] }
    /// Sends the length prefix of a frame and a few of its bytes, then sleeps for good.
    static func partialFrame() -> JSONValue { ["partial_frame": true] }
    /// Writes `bytes` to the socket as they are, then waits for the socket to close.
    static func raw(_ bytes: [UInt8]) -> JSONValue { ["raw": .string(bytes.map { String(format: "%02x", $0) }.joined())] }
    /// Sends `count` calls of `action` without reading, then reads their replies.
    static func flood(_ count: Int, _ action: String = "noop", report: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["flood": .int(Int64(count)), "action": .string(action)]
        if let report { o["report"] = .string(report) }
        return .object(o)
    }
}

/// A world on disk, on the system clock (or a test's), running user code in the real sandbox.
final class SandboxWorld: KernelWorld, Sendable {
    let directory: URL
    let database: WorldDatabase
    let kernel: Kernel
    let executor: SandboxedExecutor
    let counting: CountingExecutor

    /// A world in `directory` (a fresh temporary directory by default; fault tests pass a
    /// small filesystem of their own). The directory's contents are removed at the end.
    /// `executor`: the shared one (built from the default limits) unless a test needs its own.
    /// `wrap` lets a fault test put its own executor between the kernel and the sandbox.
    /// `clock`: the system clock unless a test drives time itself (`VirtualClock`).
    init(config: WorldConfig = .test(), directory: URL? = nil, executor own: SandboxedExecutor? = nil,
         clock: any WorldClock = SystemClock(), wrap: (any ArtifactExecutor) -> any ArtifactExecutor = { $0 },
         removesDirectory: Bool = true) throws {
        self.removesDirectory = removesDirectory
        executor = try own ?? Sandbox.executor()
        self.directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("ecology-suptests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        database = try WorldDatabase(path: self.directory.appendingPathComponent("world.sqlite").path)
        counting = CountingExecutor(executor)
        kernel = Kernel(database: database, config: config, clock: clock, executor: wrap(counting))
        try kernel.bootstrap()
    }

    /// Whether the world's files are removed when this object goes (a fault test that
    /// reopens the world from its disk keeps them).
    let removesDirectory: Bool

    deinit { if removesDirectory { try? FileManager.default.removeItem(at: directory) } }

    var config: WorldConfig { kernel.config }

    /// Writes a Python tool with one method `method` taking the required arguments `params` (any type), in order.
    @discardableResult
    func writeTool(_ who: String, _ id: String, code: String, method: String = "run", params: [String] = [], price: Int64 = 0,
                   contract: String? = nil, content: String = "a test tool") -> Envelope {
        let schema: JSONValue = ["type": "object", "properties": .object(Dictionary(uniqueKeysWithValues: params.map { ($0, JSONValue.object([:])) })),
                                 "required": .array(params.map(JSONValue.string))]
        var p: [String: JSONValue] = [
            "artifact_id": .string(id), "content": .string(content), "code": .string(code), "executable": true,
            "price": .int(price),
            "interface": ["tools": [["name": .string(method), "description": "test", "inputSchema": schema]]],
        ]
        if let contract { p["contract"] = .string(contract) }
        return act(who, "write", .object(p))
    }

    func events(_ type: String? = nil, principal: String? = nil, after seq: Int64 = 0) -> [WorldEvent] {
        let all = (try? kernel.events(after: seq, limit: 1_000_000)) ?? []
        return all.filter { (type == nil || $0.type == type) && (principal == nil || $0.principal == principal) }
    }

    /// Custom events published on `topic` by `principal`.
    func reports(_ topic: String, by principal: String) -> [WorldEvent] {
        events("custom", principal: principal).filter { $0.data["topic"]?.stringValue == topic }
    }

    var lastSeq: Int64 { (try? kernel.lastEventSeq()) ?? 0 }

    /// A principal's row of `Kernel.balances()`.
    func balance(_ id: String) -> JSONValue {
        ((try? kernel.balances()) ?? []).first { $0["id"]?.stringValue == id } ?? .null
    }

    func scrip(_ id: String) -> Int64 { balance(id)["scrip"]?.intValue ?? -1 }
    func compute(_ id: String) -> Int64 { balance(id)["compute"]?.intValue ?? .min }

    /// Every principal's scrip, compute, llm_budget and disk, keyed by id.
    func ledger() -> [String: [String]] {
        var out: [String: [String]] = [:]
        for b in (try? kernel.balances()) ?? [] {
            guard let id = b["id"]?.stringValue else { continue }
            out[id] = ["scrip", "compute", "llm_budget", "disk_used", "disk_quota"].map { "\($0)=\(b[$0].map(JSONCodec.string) ?? "nil")" }
        }
        return out
    }

    func assertInvariants(_ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        do {
            let report = try kernel.checkInvariants()
            XCTAssertTrue(report.ok, "invariants broken \(message): \(report.violations)", file: file, line: line)
        } catch {
            XCTFail("checkInvariants threw \(error)", file: file, line: line)
        }
    }
}

/// A supervisor running on its own thread until `stop()`.
final class RunningSupervisor: @unchecked Sendable {
    let supervisor: Supervisor
    private let lock = NSLock()
    private var stopRequested = false
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    init(_ world: SandboxWorld, entry: String = "tests/agents/scripted_agent.py", gateway: LLMGateway? = nil, seed: UInt64 = 1) {
        var options = Supervisor.Options()
        options.agentEntry = entry
        options.seed = seed
        supervisor = Supervisor(kernel: world.kernel, executor: world.executor, gateway: gateway, options: options)
        let thread = Thread { [self] in
            self.supervisor.run(shouldStop: { [self] in self.isStopRequested })
            self.finished.signal()
        }
        thread.name = "test-supervisor"
        thread.start()
    }

    private var isStopRequested: Bool { lock.lock(); defer { lock.unlock() }; return stopRequested }

    /// Stops the supervisor (which stops every agent) and waits for its run loop to return.
    func stop(file: StaticString = #filePath, line: UInt = #line) {
        lock.lock(); let already = stopped; stopRequested = true; stopped = true; lock.unlock()
        if already { return }
        if finished.wait(timeout: .now() + 30) == .timedOut {
            XCTFail("the supervisor did not stop within 30 s", file: file, line: line)
        }
    }
}

extension XCTestCase {
    /// Starts a supervisor on `world` that is stopped at the end of the test whatever happens.
    func startSupervisor(_ world: SandboxWorld, entry: String = "tests/agents/scripted_agent.py",
                         gateway: LLMGateway? = nil, seed: UInt64 = 1) -> RunningSupervisor {
        let running = RunningSupervisor(world, entry: entry, gateway: gateway, seed: seed)
        addTeardownBlock { running.stop() }
        return running
    }

    /// Polls `condition` until it holds or `timeout` seconds pass; fails with `what` on timeout.
    @discardableResult
    func waitUntil(_ what: String, timeout: Double, file: StaticString = #filePath, line: UInt = #line,
                   _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if condition() { return true }
        XCTFail("timed out after \(timeout) s waiting for \(what)", file: file, line: line)
        return false
    }
}

/// CPU time (user + system, µs) of a host process, from /proc; nil when it is gone.
func processCPUMicros(_ pid: Int32) -> Int64? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let u = Int64(fields[11]), let s = Int64(fields[12]) else { return nil }
    return (u + s) * 1_000_000 / Int64(sysconf(Int32(_SC_CLK_TCK)))
}

/// Unwraps an OK envelope's result or fails the test.
@discardableResult
func XCTUnwrapOK(_ env: Envelope, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
    switch env {
    case .ok(let v): return v
    case .failure(let e):
        XCTFail("expected ok, got \(e)", file: file, line: line)
        throw e
    }
}
