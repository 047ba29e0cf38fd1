import EcologyCore
@testable import EcologyKernel
import EcologySandbox
@testable import EcologySupervisor
import EcologyWire
import XCTest

/// Agent sockets served on the event loops (`AgentChannel`): what a child that breaks the
/// frame protocol, or floods it, does to the supervisor (nothing) and to itself.
final class AgentChannelTests: XCTestCase {
    /// A frame whose payload is not JSON ends that agent with PROTOCOL_ERROR (a crash, so
    /// it is restarted); the other agent and the supervisor serve on.
    func testMalformedFrameEndsOnlyThatAgentWithAProtocolError() throws {
        let garbage = Array("not json".utf8)
        let w = try SandboxWorld(config: .test(agents: [
            .scripted("alpha", [Step.raw([0, 0, 0, UInt8(garbage.count)] + garbage)]),
            .scripted("beta", [Step.call("noop", report: "first"), Step.call("sleep", ["seconds": 0.5]), Step.call("noop", report: "second")]),
        ]))
        let s = startSupervisor(w)
        waitUntil("alpha's protocol error", timeout: 10) { !w.events("agent_crashed", principal: "alpha").isEmpty }
        let reason = w.events("agent_crashed", principal: "alpha").first?.data["reason"]?.stringValue ?? ""
        XCTAssertEqual(reason, "PROTOCOL_ERROR: \(FrameError.invalidJSON)")
        waitUntil("beta's second step", timeout: 10) { !w.reports("second", by: "beta").isEmpty }
        XCTAssertTrue(w.events("agent_crashed", principal: "beta").isEmpty)
        s.stop()
        w.assertInvariants()
    }

    /// A length prefix over the frame limit is refused on the header, before any payload is
    /// buffered: the agent ends with PROTOCOL_ERROR naming the limit.
    func testOversizedFrameHeaderEndsTheAgent() throws {
        var c = WorldConfig.test(agents: [.scripted("alpha", [Step.raw([0x7f, 0xff, 0xff, 0xff, 0x7b])]), .scripted("beta")])
        c.limits.maxFrameBytes = 65_536
        let w = try SandboxWorld(config: c)
        let s = startSupervisor(w)
        waitUntil("alpha's protocol error", timeout: 10) { !w.events("agent_crashed", principal: "alpha").isEmpty }
        let reason = w.events("agent_crashed", principal: "alpha").first?.data["reason"]?.stringValue ?? ""
        XCTAssertEqual(reason, "PROTOCOL_ERROR: \(FrameError.oversized(length: 0x7fff_ffff, limit: 65_536))")
        s.stop()
        w.assertInvariants()
    }

    /// Calls sent back to back, without waiting for replies, are served one at a time in
    /// the order they were sent, each answered once; the agent lives on.
    func testFloodedCallsAreServedOneAtATimeInOrder() throws {
        let w = try SandboxWorld(config: .test(agents: [.scripted("alpha", [Step.flood(300, report: "flood"), Step.call("noop", report: "after")]),
                                                        .scripted("beta")]))
        let s = startSupervisor(w)
        waitUntil("alpha's step after the flood", timeout: 20) { !w.reports("after", by: "alpha").isEmpty }
        let ids = w.reports("flood", by: "alpha").first?.data["data"]?["reply"]?["ids"]?.arrayValue?.compactMap(\.intValue)
        XCTAssertEqual(ids, Array(1...300), "every call answered once, in order")
        XCTAssertTrue(w.events("agent_crashed", principal: "alpha").isEmpty)
        s.stop()
        w.assertInvariants()
    }
}
