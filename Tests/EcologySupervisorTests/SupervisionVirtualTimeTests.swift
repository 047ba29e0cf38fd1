import EcologyCore
@testable import EcologyKernel
import EcologySandbox
@testable import EcologySupervisor
import XCTest

/// Supervision on virtual time: the world's `VirtualClock` moves only when the test says,
/// and the test runs the supervision passes itself (`Supervisor.superviseOnce`), so backoff,
/// parking and sleep deadlines are checked to the step, in milliseconds, with real children.
final class SupervisionVirtualTimeTests: XCTestCase {
    private func supervisor(_ w: SandboxWorld) -> Supervisor {
        var options = Supervisor.Options()
        options.agentEntry = "tests/agents/scripted_agent.py"
        let s = Supervisor(kernel: w.kernel, executor: w.executor, gateway: nil, options: options)
        addTeardownBlock { s.stopAll() }
        return s
    }

    /// Waits (real time, for the child) until `alpha`'s session has ended after its crash.
    private func waitForCrash(_ n: Int, _ w: SandboxWorld, _ s: Supervisor) {
        waitUntil("crash \(n) of alpha", timeout: 10) {
            w.events("agent_crashed", principal: "alpha").count == n && s.sessionCount == 0
        }
    }

    func testRestartBackoffDoublesThenParksOnVirtualTime() throws {
        let clock = VirtualClock()
        var c = WorldConfig.test(agents: [.scripted("alpha", [Step.exit(3)])])
        c.supervisor.restartIntensity = 2
        c.supervisor.restartPeriodSeconds = 30
        c.supervisor.restartBackoffSeconds = 0.2
        c.supervisor.metricsWindowSeconds = 0.1
        let w = try SandboxWorld(config: c, clock: clock)
        let s = supervisor(w)

        s.superviseOnce()
        XCTAssertEqual(s.sessionCount, 1, "the funded agent starts at the first window")
        waitForCrash(1, w, s)

        // First backoff: 0.2 s. A window 0.15 s later does not start it; one at 0.3 s does.
        // (Steps of a window and a half: seconds near 1.8e9 are not exact to a microsecond.)
        clock.advance(seconds: 0.15); s.superviseOnce()
        XCTAssertEqual(s.sessionCount, 0, "restarted before its 0.2 s backoff")
        clock.advance(seconds: 0.15); s.superviseOnce()
        XCTAssertEqual(s.sessionCount, 1, "not restarted once its backoff passed")
        waitForCrash(2, w, s)

        // Second backoff doubles: 0.4 s.
        clock.advance(seconds: 0.35); s.superviseOnce()
        XCTAssertEqual(s.sessionCount, 0, "restarted before its doubled 0.4 s backoff")
        clock.advance(seconds: 0.15); s.superviseOnce()
        XCTAssertEqual(s.sessionCount, 1)
        waitForCrash(3, w, s)

        // The third crash within the period parks it, for good: a minute later it is still parked.
        XCTAssertEqual(w.events("agent_crashed", principal: "alpha").map { $0.data["parked"]?.boolValue }, [false, false, true])
        for _ in 0..<6 { clock.advance(seconds: 10); s.superviseOnce() }
        XCTAssertEqual(s.sessionCount, 0)
        XCTAssertEqual(w.events("agent_started", principal: "alpha").count, 3)
        XCTAssertEqual(s.status().parked, 1)
        w.assertInvariants()
    }

    func testSleepEndsAtItsDeadlineOnVirtualTime() throws {
        let clock = VirtualClock()
        let w = try SandboxWorld(config: .test(agents: [.scripted("alpha", [Step.call("sleep", ["seconds": 600], report: "woke")])]),
                                 clock: clock)
        let s = supervisor(w)
        s.superviseOnce()
        waitUntil("alpha asleep", timeout: 10) { s.status().sleeping == 1 }

        clock.advance(seconds: 599.9); s.superviseOnce()
        XCTAssertEqual(s.status().sleeping, 1, "woke before its 600 s deadline")
        XCTAssertTrue(w.reports("woke", by: "alpha").isEmpty)

        clock.advance(seconds: 0.1); s.superviseOnce()
        waitUntil("alpha's report after the wake", timeout: 10) { !w.reports("woke", by: "alpha").isEmpty }
        let reply = w.reports("woke", by: "alpha").first?.data["data"]?["reply"]
        XCTAssertEqual(reply?["result"]?["woke_by"]?.stringValue, "duration", "\(String(describing: reply))")
        let slept = w.events("agent_woke", principal: "alpha").first.map { $0.timeMicros - (w.events("agent_sleeping", principal: "alpha").first?.timeMicros ?? 0) }
        XCTAssertEqual(slept, 600_000_000, "the sleep lasted exactly its 600 s of world time")
        w.assertInvariants()
    }
}
