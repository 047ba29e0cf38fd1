import EcologyCore
@testable import EcologyKernel
import EcologySandbox
@testable import EcologySupervisor
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import EcologyTestSupport
import XCTest

/// Children SIGKILLed by the test, by host pid, at each step of the protocol: an execution
/// child before it gets its `execute` frame, in the middle of a frame, while the kernel
/// serves its call, after it has sent its result; an agent child while the supervisor
/// serves its call and mid-frame; a zygote while its children run. Each time: the
/// documented error, the measured CPU charged, no process left behind, and the next
/// execution (or the restarted agent) works.
final class ChildKillFaultTests: XCTestCase {
    /// Compute does not refill, so every CPU-ms charged shows in the balance.
    static func config(agents: [AgentSpec] = [.scripted("alpha"), .scripted("beta")]) -> WorldConfig {
        var c = WorldConfig.test(agents: agents)
        c.resources.compute = BucketConfig(ratePerSecond: 0, capacity: 100_000, initial: 100_000)
        c.limits.invokeTimeoutSeconds = 10
        c.mint.periodSeconds = 3600
        return c
    }

    /// Tool code: reports its pid through a call the test intercepts, burns ~0.2 s of CPU,
    /// then does `then`.
    static func toolCode(then: String) -> String {
        """
        import json, os, struct, time

        def burn(seconds):
            start = time.process_time()
            while time.process_time() - start < seconds:
                pass

        def run():
            burn(0.2)
            invoke("fault.hook", "ready", {"pid": os.getpid()})
        \(then.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            return "finished"
        """
    }

    // MARK: - Executions

    func testExecutionChildKilledWhileTheKernelServesItsCall() throws {
        let hook = KillHook()
        let w = try SandboxWorld(config: Self.config(), wrap: { HookedExecutor($0, hook) })
        try XCTUnwrapOK(w.writeTool("beta", "beta.victim", code: Self.toolCode(then: "time.sleep(30)")))
        hook.onReady = { pid in hook.killAndWait(pid) }
        let computeBefore = w.compute("alpha")

        let env = w.invoke("alpha", "beta.victim", "run")
        let error = try XCTUnwrap(env.error, "\(env)")
        XCTAssertEqual(error.code, .executionError, "\(error)")
        XCTAssertTrue(error.message.contains("killed by signal 9"), error.message)
        assertMeasuredCPUCharged(w, "alpha", before: computeBefore)
        try assertCleanAndServing(w, hook)
    }

    func testExecutionChildKilledMidFrame() throws {
        let hook = KillHook()
        let w = try SandboxWorld(config: Self.config(), wrap: { HookedExecutor($0, hook) })
        // After the call, a frame's length prefix (256 bytes announced), then nothing.
        try XCTUnwrapOK(w.writeTool("beta", "beta.victim", code: Self.toolCode(then: """
            os.write(3, struct.pack(">I", 256) + b'{"type":')
            time.sleep(30)
            """)))
        hook.onReady = { pid in DispatchQueue.global().async { hook.killWhenAsleep(pid) } }
        let computeBefore = w.compute("alpha")

        let error = try XCTUnwrap(w.invoke("alpha", "beta.victim", "run").error)
        XCTAssertEqual(error.code, .protocolError, "\(error)")
        XCTAssertTrue(error.message.contains("inside a frame"), error.message)
        XCTAssertTrue(hook.killed, "the test killed the child itself")
        assertMeasuredCPUCharged(w, "alpha", before: computeBefore)
        try assertCleanAndServing(w, hook)
    }

    func testExecutionChildKilledAfterSendingItsResult() throws {
        let hook = KillHook()
        let w = try SandboxWorld(config: Self.config(), wrap: { HookedExecutor($0, hook) })
        // The result goes out whole; the child then lingers until it is killed.
        try XCTUnwrapOK(w.writeTool("beta", "beta.victim", code: Self.toolCode(then: """
            body = json.dumps({"type": "result", "id": 0, "response": {"ok": True, "result": "sent before dying"}}).encode()
            os.write(3, struct.pack(">I", len(body)) + body)
            time.sleep(30)
            """)))
        hook.onReady = { pid in DispatchQueue.global().async { hook.killWhenAsleep(pid) } }
        let computeBefore = w.compute("alpha")

        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "beta.victim", "run")), "sent before dying",
                       "a result sent whole stands, whoever kills the child afterwards")
        assertMeasuredCPUCharged(w, "alpha", before: computeBefore)
        try assertCleanAndServing(w, hook)
    }

    func testWarmChildrenKilledBeforeTheirExecuteFrame() throws {
        let hook = KillHook()
        let w = try SandboxWorld(config: Self.config(), wrap: { HookedExecutor($0, hook) })
        try XCTUnwrapOK(w.writeTool("beta", "beta.ok", code: Self.toolCode(then: "pass")))
        // Two executions of one shape: the zygote (the child's parent) then keeps children of it forked ahead.
        for _ in 0..<2 { XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "beta.ok", "run")), "finished") }
        let zygote = try XCTUnwrap(hook.lastParent, "the zygote of the first execution")
        let warm = try XCTUnwrap(waitForChildren(of: zygote), "the zygote keeps children forked ahead of time")

        // Kill every child waiting for work. The zygote is held stopped meanwhile, so the
        // dead children are not reaped and their exits not reported before the next
        // execution picks one of them: their sockets are closed, nothing else says so.
        XCTAssertEqual(kill(zygote, SIGSTOP), 0)
        for pid in warm { kill(pid, SIGKILL) }
        waitUntil("the warm children to die", timeout: 5) { warm.allSatisfy { processState($0) == "Z" || processState($0) == nil } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { kill(zygote, SIGCONT) }

        // The next executions never ran in a dead child: each gets a live one and succeeds.
        for i in 0..<3 {
            XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "beta.ok", "run")), "finished", "execution \(i) after the kill")
        }
        try assertCleanAndServing(w, hook)
    }

    func testArtifactZygoteKilledWhileItsChildRuns() throws {
        let hook = KillHook()
        let w = try SandboxWorld(config: Self.config(), wrap: { HookedExecutor($0, hook) })
        try XCTUnwrapOK(w.writeTool("beta", "beta.victim", code: Self.toolCode(then: "time.sleep(30)")))
        hook.onReady = { pid in
            // The child's parent is its zygote: kill that, not the child.
            guard let zygote = parentPid(pid) else { return }
            hook.killAndWait(zygote)
        }
        let computeBefore = w.compute("alpha")
        let env = w.invoke("alpha", "beta.victim", "run")
        let error = try XCTUnwrap(env.error, "\(env)")
        XCTAssertTrue([.internal, .executionError].contains(error.code), "\(error)")
        XCTAssertTrue(error.message.contains("sandbox") || error.message.contains("killed"), error.message)
        XCTAssertEqual(processState(hook.lastChild ?? 0), nil, "the child died with its zygote")
        assertMeasuredCPUCharged(w, "alpha", before: computeBefore)
        try assertCleanAndServing(w, hook)
    }

    // MARK: - Agents

    func testAgentKilledWhileTheSupervisorServesItsCall() throws {
        let hook = KillHook()
        let c = Self.config(agents: [.scripted("alpha", [Step.invoke("beta.slow", "run", [], report: "served")]), .scripted("beta")])
        let w = try SandboxWorld(config: c, wrap: { HookedExecutor($0, hook) })
        try XCTUnwrapOK(w.writeTool("beta", "beta.slow", code: Self.toolCode(then: "pass")))
        // While the kernel runs alpha's invoke (its tool is in the hook), alpha itself is killed.
        hook.onReady = { _ in
            if let pid = w.events("agent_started", principal: "alpha").last?.data["pid"]?.intValue, let p = Int32(exactly: pid) {
                hook.killAndWait(p)
            }
        }
        let s = startSupervisor(w)
        waitUntil("alpha's crash", timeout: 15) { !w.events("agent_crashed", principal: "alpha").isEmpty }
        XCTAssertEqual(w.events("agent_crashed", principal: "alpha").first?.data["reason"]?.stringValue, "killed by signal 9")
        // The invoke it asked for still ran to the end and was paid for by alpha.
        waitUntil("the invoke event", timeout: 5) { w.events("invoke", principal: "alpha").contains { $0.data["artifact_id"] == "beta.slow" && $0.data["error"] == nil } }
        waitUntil("alpha restarted after its backoff", timeout: 10) { w.events("agent_started", principal: "alpha").count >= 2 }
        XCTAssertTrue(w.events("agent_crashed", principal: "beta").isEmpty)
        s.stop()
        w.assertInvariants()
    }

    func testAgentKilledMidFrameIsRestarted() throws {
        let w = try SandboxWorld(config: Self.config(agents: [.scripted("alpha", [Step.call("noop", report: "ready"), Step.partialFrame()]),
                                                               .scripted("beta")]))
        let s = startSupervisor(w)
        waitUntil("alpha ready", timeout: 15) { !w.reports("ready", by: "alpha").isEmpty }
        let pid = try XCTUnwrap(w.events("agent_started", principal: "alpha").last?.data["pid"]?.intValue).int32
        XCTAssertTrue(KillHook().killWhenAsleep(pid), "alpha was killed asleep after half a frame")
        waitUntil("alpha's crash", timeout: 10) { !w.events("agent_crashed", principal: "alpha").isEmpty }
        let reason = w.events("agent_crashed", principal: "alpha").first?.data["reason"]?.stringValue ?? ""
        XCTAssertTrue(reason.contains("signal 9") || reason.contains("inside a frame"), reason)
        waitUntil("alpha restarted", timeout: 10) { w.events("agent_started", principal: "alpha").count >= 2 }
        waitUntil("the restarted alpha acts", timeout: 10) { w.reports("ready", by: "alpha").count >= 2 }
        XCTAssertEqual(processState(pid), nil, "the killed child is gone")
        s.stop()
        w.assertInvariants()
    }

    func testAgentZygoteKilledWhileAgentsRun() throws {
        let w = try SandboxWorld(config: Self.config(agents: [.scripted("alpha", [Step.call("noop", report: "ready")]),
                                                               .scripted("beta", [Step.call("noop", report: "ready")])]))
        let s = startSupervisor(w)
        waitUntil("both agents ready", timeout: 15) { !w.reports("ready", by: "alpha").isEmpty && !w.reports("ready", by: "beta").isEmpty }
        let pids = try ["alpha", "beta"].map { try XCTUnwrap(w.events("agent_started", principal: $0).last?.data["pid"]?.intValue).int32 }
        let zygote = try XCTUnwrap(parentPid(pids[0]))
        XCTAssertEqual(parentPid(pids[1]), zygote, "one agent zygote forks both")
        KillHook().killAndWait(zygote)

        waitUntil("both agents crash", timeout: 10) { ["alpha", "beta"].allSatisfy { !w.events("agent_crashed", principal: $0).isEmpty } }
        for id in ["alpha", "beta"] {
            let reason = w.events("agent_crashed", principal: id).first?.data["reason"]?.stringValue ?? ""
            XCTAssertTrue(reason.contains("zygote"), "\(id): \(reason)")
        }
        waitUntil("both restarted from a new zygote", timeout: 15) { ["alpha", "beta"].allSatisfy { w.reports("ready", by: $0).count >= 2 } }
        for pid in pids { XCTAssertEqual(processState(pid), nil, "agent child \(pid) died with its zygote") }
        let again = try ["alpha", "beta"].map { try XCTUnwrap(w.events("agent_started", principal: $0).last?.data["pid"]?.intValue).int32 }
        XCTAssertNotEqual(parentPid(again[0]), zygote)
        s.stop()
        w.assertInvariants()
    }

    // MARK: - Checks

    /// The invoke event records the CPU measured before the kill (~0.2 s burnt) and the payer paid it.
    private func assertMeasuredCPUCharged(_ w: SandboxWorld, _ payer: String, before: Int64,
                                          file: StaticString = #filePath, line: UInt = #line) {
        let event = w.events("invoke", principal: payer).last
        let cpuMs = event?.data["cpu_ms"]?.doubleValue ?? 0
        XCTAssertGreaterThanOrEqual(cpuMs, 150, "the CPU burnt before the kill is measured: \(String(describing: event?.data))", file: file, line: line)
        XCTAssertGreaterThanOrEqual(Double(before - w.compute(payer)), cpuMs - 1, "\(payer) paid the measured CPU", file: file, line: line)
    }

    /// No child of this test process other than the zygotes (and their warm children)
    /// remains from the execution, and a plain execution works afterwards.
    private func assertCleanAndServing(_ w: SandboxWorld, _ hook: KillHook, file: StaticString = #filePath, line: UInt = #line) throws {
        if let child = hook.lastChild {
            waitUntil("the killed child to be reaped", timeout: 5, file: file, line: line) { processState(child) == nil }
        }
        hook.onReady = nil
        try XCTUnwrapOK(w.writeTool("beta", "beta.double", code: "def run(x):\n    return x * 2\n", params: ["x"]), file: file, line: line)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "beta.double", "run", [21]), file: file, line: line), 42, file: file, line: line)
        // Every child of a zygote now is an idle one: none is left over from the killed execution.
        for zygote in zygotes() {
            for child in ProcessTree.descendants(of: zygote) where child == hook.lastChild {
                XCTFail("the killed execution's child \(child) is still there", file: file, line: line)
            }
        }
        w.assertInvariants(file: file, line: line)
    }

    private func zygotes() -> [Int32] {
        ProcessTree.descendants(of: getpid()).filter { pid in
            ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").contains("zygote.py")
                && parentPid(pid) == getpid()
        }
    }

    private func waitForChildren(of zygote: Int32) -> Set<Int32>? {
        var found = Set<Int32>()
        waitUntil("warm children of the zygote", timeout: 5) {
            found = ProcessTree.descendants(of: zygote)
            return !found.isEmpty
        }
        return found.isEmpty ? nil : found
    }
}

/// Where the test kills: the tool code's `invoke("fault.hook", "ready", {"pid": …})` reaches
/// `onReady` with the child's host pid (the child waits for the reply meanwhile).
final class KillHook: @unchecked Sendable {
    private let lock = NSLock()
    private var _onReady: ((Int32) -> Void)?
    private var _lastChild: Int32?
    private var _lastParent: Int32?
    private var _killed = false

    var onReady: ((Int32) -> Void)? {
        get { lock.lock(); defer { lock.unlock() }; return _onReady }
        set { lock.lock(); _onReady = newValue; lock.unlock() }
    }
    var lastChild: Int32? { lock.lock(); defer { lock.unlock() }; return _lastChild }
    var lastParent: Int32? { lock.lock(); defer { lock.unlock() }; return _lastParent }
    var killed: Bool { lock.lock(); defer { lock.unlock() }; return _killed }

    func ready(namespacePid: Int32) {
        let host = hostPid(ofNamespacePid: namespacePid)
        lock.lock(); _lastChild = host; _lastParent = host.flatMap(parentPid); lock.unlock()
        if let host { onReady?(host) }
    }

    /// SIGKILLs `pid` and waits until it is gone or a zombie.
    func killAndWait(_ pid: Int32) {
        kill(pid, SIGKILL)
        lock.lock(); _killed = true; lock.unlock()
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, let s = processState(pid), s != "Z" { Thread.sleep(forTimeInterval: 0.005) }
    }

    /// Waits until `pid` sleeps in a sleep or wait syscall (so what it wrote before is
    /// out), then SIGKILLs it. False if it never got there.
    @discardableResult
    func killWhenAsleep(_ pid: Int32) -> Bool {
        // x86_64: poll, select, nanosleep, pselect6, ppoll, clock_nanosleep.
        let sleeping: Set<Int> = [7, 23, 35, 270, 271, 230]
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/syscall", encoding: .utf8) else { return false }
            if let nr = Int(text.split(separator: " ").first ?? ""), sleeping.contains(nr) {
                killAndWait(pid)
                return true
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return false
    }
}

/// Passes every execution to the sandbox, answering the hook's calls itself.
final class HookedExecutor: ArtifactExecutor, @unchecked Sendable {
    let inner: any ArtifactExecutor
    let hook: KillHook
    init(_ inner: any ArtifactExecutor, _ hook: KillHook) { self.inner = inner; self.hook = hook }

    func execute(_ request: ExecutionRequest, kernelCalls: @escaping KernelCallHandler) -> ExecutionOutcome {
        let hook = self.hook
        return inner.execute(request) { action, params in
            if action == "invoke", params["artifact_id"]?.stringValue == "fault.hook" {
                let pid = params["args"]?.arrayValue?.first?["pid"]?.intValue ?? params["args"]?["pid"]?.intValue
                if let pid, let ns = Int32(exactly: pid) { hook.ready(namespacePid: ns) }
                return .ok("hooked")
            }
            return kernelCalls(action, params)
        }
    }
}

/// The parent of a host process, from /proc.
func parentPid(_ pid: Int32) -> Int32? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 1 ? Int32(fields[1]) : nil
}

/// The host pid of this process's descendant whose pid in its own (innermost) namespace is
/// `namespacePid` (`NSpid` in /proc/PID/status).
func hostPid(ofNamespacePid namespacePid: Int32) -> Int32? {
    let candidates = ProcessTree.descendants(of: getpid()).filter { pid in
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }) else { return false }
        let pids = line.dropFirst("NSpid:".count).split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
        return pids.count >= 2 && pids.last == namespacePid
    }
    // Of several (two zygotes' namespaces), the one waiting in a read on its socket.
    return candidates.count == 1 ? candidates.first : candidates.first { processState($0) == "S" }
}
