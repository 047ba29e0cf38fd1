import EcologyCore
@testable import EcologyKernel
import EcologySandbox
@testable import EcologySupervisor
#if canImport(Glibc)
import Glibc
#endif
import XCTest

/// The supervisor with real sandboxed agent children running `sandbox/tests/agents/scripted_agent.py`.
final class SupervisionTests: XCTestCase {
    func testCrashingAgentIsRestartedWithBackoffThenParked() throws {
        var c = WorldConfig.test(agents: [.scripted("alpha", [Step.call("noop"), Step.exit(3)]), .scripted("beta")])
        c.supervisor.restartIntensity = 2
        c.supervisor.restartPeriodSeconds = 30
        c.supervisor.restartBackoffSeconds = 0.2
        let w = try SandboxWorld(config: c)
        let s = startSupervisor(w)

        waitUntil("alpha parked", timeout: 15) { w.events("agent_crashed", principal: "alpha").count >= 3 }
        let crashes = w.events("agent_crashed", principal: "alpha")
        XCTAssertEqual(crashes.map { $0.data["parked"]?.boolValue }, [false, false, true],
                       "intensity 2: two restarts, the third crash parks")
        XCTAssertEqual(crashes.map { $0.data["recent_crashes"]?.intValue }, [1, 2, 3])
        XCTAssertTrue(crashes.allSatisfy { $0.data["reason"]?.stringValue == "exit code 3" }, "\(crashes.map(\.data))")

        let starts = w.events("agent_started", principal: "alpha")
        XCTAssertEqual(starts.count, 3)
        // Backoff doubles from restart_backoff_seconds: 0.2 s, then 0.4 s.
        for (i, minimum) in [(1, 0.2), (2, 0.4)] where starts.count > i {
            let waited = Double(starts[i].timeMicros - crashes[i - 1].timeMicros) / 1e6
            XCTAssertGreaterThanOrEqual(waited, minimum * 0.95, "restart \(i) waited \(waited) s")
        }
        let alpha = try XCTUnwrap(try w.kernel.agents().first { $0["id"]?.stringValue == "alpha" })
        XCTAssertEqual(alpha["parked"]?.boolValue, true)
        XCTAssertEqual(alpha["status"]?.stringValue, "parked")

        // Parked means parked: no more starts, while the healthy agent keeps running.
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(w.events("agent_started", principal: "alpha").count, 3)
        XCTAssertEqual(w.events("agent_started", principal: "beta").count, 1)
        XCTAssertTrue(w.events("agent_crashed", principal: "beta").isEmpty)
        XCTAssertEqual(s.supervisor.status().parked, 1)
        s.stop()
        w.assertInvariants()
    }

    func testAgentInComputeDebtIsFrozenAndThawedWhenRescued() throws {
        try Sandbox.requireCgroups("freezing an agent's processes")
        // Almost no refill: alpha gives most of its compute away, then burns past zero.
        var c = WorldConfig.test(agents: [
            .scripted("alpha", [Step.invoke("genesis_rights_registry", "transfer_quota", ["beta", "compute", 1_850]),
                                Step.burn(0.6, report: "burned")]),
            .scripted("beta"),
        ])
        c.resources.compute = BucketConfig(ratePerSecond: 1, capacity: 2_000, initial: 2_000)
        let w = try SandboxWorld(config: c)
        let s = startSupervisor(w)

        waitUntil("alpha frozen", timeout: 10) { !w.events("agent_frozen", principal: "alpha").isEmpty }
        XCTAssertLessThan(w.compute("alpha"), 0)
        waitUntil("the supervisor counts alpha as frozen", timeout: 3) { s.supervisor.status().frozen == 1 }
        let pid = try XCTUnwrap(w.events("agent_started", principal: "alpha").last?.data["pid"]?.intValue).int32
        let cpu0 = try XCTUnwrap(processCPUMicros(pid), "alpha's child is alive")
        Thread.sleep(forTimeInterval: 0.6)
        let cpu1 = try XCTUnwrap(processCPUMicros(pid))
        XCTAssertLessThan(cpu1 - cpu0, 50_000, "a frozen child does not run")
        XCTAssertTrue(w.reports("burned", by: "alpha").isEmpty, "the burn cannot finish while frozen")

        // A rescue: anyone may give compute to anyone.
        let debt = -w.compute("alpha")
        try XCTUnwrapOK(w.invoke("beta", "genesis_rights_registry", "transfer_quota", ["alpha", "compute", .int(debt + 1_500)]))
        waitUntil("alpha unfrozen", timeout: 5) { !w.events("agent_unfrozen", principal: "alpha").isEmpty }
        waitUntil("alpha's burn finished after the thaw", timeout: 10) { !w.reports("burned", by: "alpha").isEmpty }
        let frozenAt = w.events("agent_frozen", principal: "alpha")[0].seq
        let thawedAt = w.events("agent_unfrozen", principal: "alpha")[0].seq
        XCTAssertLessThan(frozenAt, thawedAt)
        XCTAssertLessThan(thawedAt, w.reports("burned", by: "alpha")[0].seq)
        XCTAssertTrue(w.events("agent_crashed").isEmpty, "freezing is not crashing")
        s.stop()
        w.assertInvariants()
    }

    /// A child that dies while its agent sleeps (OOM killer, an operator's kill) is a crash
    /// like any other: noticed at once, not when the sleep would have ended.
    /// A session still inside a long kernel call when `stopAll`'s deadline passes keeps its
    /// supervisor alive until it ends. (It held the supervisor unowned: with 3,200 agents on
    /// a saturated host the stop outlasted the deadline, the bench released the supervisor,
    /// and the next session to finish crashed the process.)
    func testSessionOutlivingStopAllKeepsItsSupervisor() throws {
        var c = WorldConfig.test(agents: [.scripted("alpha", [Step.invoke("beta.slow", "run", [])]), .scripted("beta")])
        c.limits.invokeTimeoutSeconds = 15
        c.supervisor.shutdownTimeoutSeconds = 0.1
        let w = try SandboxWorld(config: c)
        try XCTUnwrapOK(w.act("beta", "write", ["artifact_id": "beta.slow", "executable": true,
                                               "code": "import time\ndef run():\n    time.sleep(10)\n    return 1\n",
                                               "interface": ["tools": [["name": "run", "description": "sleeps 10 s",
                                                                        "inputSchema": ["type": "object"]]]]]))
        weak var released: Supervisor?
        do {
            var options = Supervisor.Options()
            options.agentEntry = "tests/agents/scripted_agent.py"
            let supervisor = Supervisor(kernel: w.kernel, executor: w.executor, gateway: nil, options: options)
            released = supervisor
            let started = Date()
            // Alpha is inside its 10 s invoke after 2 s; stopAll gives up 0.1 + 6 s later.
            supervisor.run(shouldStop: { Date().timeIntervalSince(started) > 2 })
            XCTAssertGreaterThan(supervisor.sessionCount, 0, "the invoke ended before stopAll gave up: the test proves nothing")
        }
        XCTAssertNotNil(released, "the supervisor was freed while a session still runs on it")
        waitUntil("the last session to end and release the supervisor", timeout: 15) { released == nil }
        w.assertInvariants()
    }

    /// An answer too large for a frame would make the child drop the connection (and be
    /// restarted, or parked): it gets an INVALID_ARGS error that says so instead, and lives on.
    func testOversizedAnswerBecomesAnErrorNotACrash() throws {
        var c = WorldConfig.test(agents: [.scripted("alpha", [Step.call("read", ["artifact_id": "beta.big"], report: "big"),
                                                              Step.call("noop", report: "after")]),
                                          .scripted("beta")])
        c.limits.maxFrameBytes = 8_192
        let w = try SandboxWorld(config: c)
        try XCTUnwrapOK(w.act("beta", "write", ["artifact_id": "beta.big", "content": .string(String(repeating: "x", count: 10_000))]))
        let s = startSupervisor(w)
        waitUntil("alpha's second step", timeout: 15) { !w.reports("after", by: "alpha").isEmpty }
        let reply = w.reports("big", by: "alpha").first?.data["data"]?["reply"]
        XCTAssertEqual(reply?["ok"], false, "\(String(describing: reply))")
        XCTAssertEqual(reply?["error"]?["code"], "INVALID_ARGS")
        XCTAssertTrue(reply?["error"]?["message"]?.stringValue?.contains("frame limit") == true, "\(String(describing: reply))")
        XCTAssertTrue(w.events("agent_crashed", principal: "alpha").isEmpty)
        XCTAssertEqual(w.events("agent_started", principal: "alpha").count, 1)
        s.stop()
        w.assertInvariants()
    }

    func testChildKilledDuringALongSleepIsRestarted() throws {
        let w = try SandboxWorld(config: .test(agents: [.scripted("alpha"), .scripted("beta")]))
        let s = startSupervisor(w)
        waitUntil("alpha asleep for an hour", timeout: 10) { !w.events("agent_sleeping", principal: "alpha").isEmpty }
        let pid = try XCTUnwrap(w.events("agent_started", principal: "alpha").last?.data["pid"]?.intValue).int32
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        waitUntil("the crash to be noticed", timeout: 5) { !w.events("agent_crashed", principal: "alpha").isEmpty }
        XCTAssertEqual(w.events("agent_crashed", principal: "alpha").first?.data["reason"]?.stringValue, "killed by signal 9")
        waitUntil("alpha restarted", timeout: 5) { w.events("agent_started", principal: "alpha").count == 2 }
        XCTAssertTrue(w.events("agent_crashed", principal: "beta").isEmpty)
        s.stop()
        w.assertInvariants()
    }

    /// Sandbox slots are reused (by executions and by agents); an agent must pay for its
    /// own CPU, not for what earlier occupants of its cgroup slot burned.
    func testAgentIsChargedOnlyItsOwnCPU() throws {
        try Sandbox.requireCgroups("per-slot CPU accounting")
        var c = WorldConfig.test(agents: [.scripted("alpha"), .scripted("beta"), .scripted("gamma")])
        c.resources.compute = BucketConfig(ratePerSecond: 0, capacity: 10_000, initial: 10_000)
        c.limits.invokeTimeoutSeconds = 0.8
        let w = try SandboxWorld(config: c)
        // Leave about 0.8 s of CPU in the slot counters the agents are about to reuse.
        try XCTUnwrapOK(w.writeTool("gamma", "gamma.spin", code: "def run():\n    while True:\n        pass\n"))
        XCTAssertEqual(w.invoke("gamma", "gamma.spin", "run").error?.code, .timeout)
        let s = startSupervisor(w)
        waitUntil("the agents asleep", timeout: 10) { w.events("agent_sleeping").count >= 3 }
        Thread.sleep(forTimeInterval: 0.5)  // a few charging windows
        var ownCPU: [String: Int64] = [:]
        for id in ["alpha", "beta"] {
            let pid = try XCTUnwrap(w.events("agent_started", principal: id).last?.data["pid"]?.intValue).int32
            ownCPU[id] = processCPUMicros(pid)
        }
        s.stop()
        for id in ["alpha", "beta"] {
            let charged = 10_000 - w.compute(id)
            let own = (ownCPU[id] ?? 0) / 1000
            // Kernel costs of its few calls and the CPU between our /proc read and its exit: well under 100 ms.
            XCTAssertLessThan(charged, own + 100, "\(id) was charged \(charged) CPU-ms; its child used \(own)")
        }
        w.assertInvariants()
    }

    func testSleepWakesOnDurationEventAndBalance() throws {
        let program: [JSONValue] = [
            // Sleeps of a second or more are logged (shorter pacing sleeps are not: see AgentSession.sleep).
            Step.call("sleep", ["seconds": 0.3], report: "woke"),
            Step.call("sleep", ["seconds": 1.1], report: "woke"),
            Step.call("sleep", ["event": ["topic": "ping"], "seconds": 30], report: "woke"),
            Step.call("sleep", ["balance": ["resource": "scrip", "gte": 150], "seconds": 30], report: "woke"),
        ]
        let w = try SandboxWorld(config: .test(agents: [.scripted("alpha", program), .scripted("beta")]))
        let s = startSupervisor(w)
        func woke(_ n: Int) -> [WorldEvent] { w.reports("woke", by: "alpha") }
        func sleeps() -> [WorldEvent] { w.events("agent_sleeping", principal: "alpha") }

        // 1. Duration: a short pacing sleep (not logged), then a logged one of 1.1 s.
        waitUntil("the timed sleeps to end", timeout: 10) { woke(0).count == 2 }
        XCTAssertEqual(woke(0)[0].data["data"]?["reply"]?["result"]?["woke_by"]?.stringValue, "duration")
        XCTAssertEqual(woke(0)[1].data["data"]?["reply"]?["result"]?["woke_by"]?.stringValue, "duration")
        let firstSleep = sleeps()[0], firstWake = w.events("agent_woke", principal: "alpha")[0]
        XCTAssertEqual(firstSleep.data["seconds"]?.doubleValue, 1.1, "the 0.3 s pacing sleep was logged")
        XCTAssertGreaterThanOrEqual(Double(firstWake.timeMicros - firstSleep.timeMicros) / 1e6, 1.09)

        // 2. An event on a topic, published by another principal; other topics do not wake it.
        waitUntil("the second sleep", timeout: 5) { sleeps().count == 2 }
        try XCTUnwrapOK(w.invoke("beta", "genesis_event_log", "publish", ["pong", ["n": 1]]))
        Thread.sleep(forTimeInterval: 0.4)
        XCTAssertEqual(woke(1).count, 2, "a 'pong' event must not wake a sleeper waiting for 'ping'")
        try XCTUnwrapOK(w.invoke("beta", "genesis_event_log", "publish", ["ping", ["n": 2]]))
        waitUntil("the event wake-up", timeout: 5) { woke(1).count == 3 }
        let byEvent = woke(1)[2].data["data"]?["reply"]?["result"]
        XCTAssertEqual(byEvent?["woke_by"]?.stringValue, "event")
        XCTAssertEqual(byEvent?["event"]?["principal"]?.stringValue, "beta")
        XCTAssertEqual(byEvent?["event"]?["data"]?["topic"]?.stringValue, "ping")

        // 3. A balance predicate, satisfied by someone else's transfer.
        waitUntil("the third sleep", timeout: 5) { sleeps().count == 3 }
        try XCTUnwrapOK(w.invoke("beta", "genesis_ledger", "transfer", ["alpha", 30]))
        Thread.sleep(forTimeInterval: 0.4)
        XCTAssertEqual(woke(2).count, 3, "130 scrip does not satisfy gte 150")
        try XCTUnwrapOK(w.invoke("beta", "genesis_ledger", "transfer", ["alpha", 20]))
        waitUntil("the balance wake-up", timeout: 5) { woke(2).count == 4 }
        let byBalance = woke(2)[3].data["data"]?["reply"]?["result"]
        XCTAssertEqual(byBalance?["woke_by"]?.stringValue, "balance")
        XCTAssertEqual(byBalance?["balances"]?["scrip"]?.intValue, 150)
        XCTAssertEqual(w.events("agent_woke", principal: "alpha").prefix(3).map { $0.data["woke_by"]?.stringValue },
                       ["duration", "event", "balance"])
        s.stop()
        w.assertInvariants()
    }

    func testRewritingAnAgentsArtifactRestartsItWithTheNewConfig() throws {
        let w = try SandboxWorld(config: .test(agents: [.scripted("alpha", [Step.call("noop", report: "v1")]), .scripted("beta")]))
        let s = startSupervisor(w)
        waitUntil("alpha's first program", timeout: 10) { w.reports("v1", by: "alpha").count == 1 }
        let version1 = try XCTUnwrap(w.events("agent_started", principal: "alpha").first?.data["version"]?.intValue)

        // Rights trading: alpha sells control of itself to beta, who rewrites its mind.
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer_ownership", ["alpha", "beta"]))
        let agent = try XCTUnwrap(w.kernel.artifacts().first { $0["id"]?.stringValue == "alpha" })
        let newConfig = JSONValue.object(["mind": "scripted", "prompt": .string(JSONCodec.string([Step.call("noop", report: "v2")]))])
        try XCTUnwrapOK(w.act("beta", "write", ["artifact_id": "alpha", "content": .string(JSONCodec.string(newConfig)),
                                                 "standing": true, "executable": true, "interface": agent["interface"] ?? .null,
                                                 "contract": "genesis_self_owned"]))

        waitUntil("alpha restarted with the new program", timeout: 10) { w.reports("v2", by: "alpha").count == 1 }
        let restarting = w.events("agent_restarting", principal: "alpha")
        XCTAssertEqual(restarting.count, 1)
        XCTAssertEqual(restarting.first?.data["reason"]?.stringValue, "artifact rewritten")
        let starts = w.events("agent_started", principal: "alpha")
        XCTAssertEqual(starts.count, 2)
        XCTAssertGreaterThan(starts.last?.data["version"]?.intValue ?? 0, version1)
        XCTAssertLessThan(restarting[0].seq, starts[1].seq)
        XCTAssertNotEqual(starts[0].data["pid"], starts[1].data["pid"], "a new child")
        XCTAssertEqual(w.reports("v1", by: "alpha").count, 1, "the old program did not run again")
        XCTAssertTrue(w.events("agent_crashed").isEmpty, "a restart for a rewrite is not a crash")
        s.stop()
        w.assertInvariants()
    }

    func testSpawnedAgentStartsOnceFunded() throws {
        let w = try SandboxWorld(config: .test(agents: [.scripted("alpha"), .scripted("beta")]))
        let s = startSupervisor(w)
        waitUntil("the configured agents", timeout: 10) { w.events("agent_started").count == 2 }

        let childConfig = JSONValue.object(["mind": "scripted", "prompt": .string(JSONCodec.string([Step.call("noop", report: "hello")]))])
        try XCTUnwrapOK(w.invoke("alpha", "genesis_store", "create", [[
            "id": "alpha-jr", "standing": true, "executable": true, "contract": "genesis_self_owned",
            "content": .string(JSONCodec.string(childConfig)),
            "interface": ["tools": [["name": "message", "description": "m", "inputSchema": ["type": "object"]]]],
        ]]))
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertTrue(w.events("agent_started", principal: "alpha-jr").isEmpty, "a new principal starts with nothing: not started unfunded")

        try XCTUnwrapOK(w.invoke("alpha", "genesis_rights_registry", "transfer_quota", ["alpha-jr", "compute", 1_000]))
        waitUntil("the spawned agent to start and run", timeout: 10) { !w.reports("hello", by: "alpha-jr").isEmpty }
        XCTAssertEqual(w.events("agent_started", principal: "alpha-jr").count, 1)
        let listed = try w.kernel.agents().first { $0["id"]?.stringValue == "alpha-jr" }
        XCTAssertEqual(listed?["owner_id"]?.stringValue, "alpha")
        s.stop()
        XCTAssertEqual(w.events("agent_stopped", principal: "alpha-jr").count, 1, "stopped with the others")
        w.assertInvariants()
    }
}

extension Int64 {
    var int32: Int32 { Int32(truncatingIfNeeded: self) }
}
