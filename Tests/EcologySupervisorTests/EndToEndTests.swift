import EcologyCore
@testable import EcologyKernel
@testable import EcologySupervisor
import Foundation
import XCTest

/// The default world: five heuristic agents in the real sandbox for a few seconds.
final class EndToEndTests: XCTestCase {
    static let economicEvents = [
        "artifact_written", "invoke", "transfer", "mint_bid", "mint_resolved", "escrow_deposit", "escrow_purchase",
        "debt_issued", "debt_repaid", "quota_transfer", "custom", "agent_sleeping", "agent_woke", "agent_started",
    ]

    func testFiveHeuristicAgentsExerciseTheWholeEconomy() throws {
        var c = WorldConfig.test()
        c.mint.periodSeconds = 3
        c.supervisor.metricsWindowSeconds = 0.25
        let w = try SandboxWorld(config: c)
        let s = startSupervisor(w, entry: "agent_main.py", seed: 1)
        // Usually all kinds appear within ~7 s here; the margin is for slower or busy hosts
        // (the supervisor outranks the children for CPU, so a loaded host slows the agents first).
        let deadline = Date().addingTimeInterval(60)
        var counts: [String: Int64] = [:]
        while Date() < deadline {
            counts = (try? w.kernel.eventCounts()) ?? [:]
            if Self.economicEvents.allSatisfy({ (counts[$0] ?? 0) > 0 }) { break }
            Thread.sleep(forTimeInterval: 0.25)
        }
        s.stop()
        counts = try w.kernel.eventCounts()
        let missing = Self.economicEvents.filter { (counts[$0] ?? 0) == 0 }
        XCTAssertEqual(missing, [], "event kinds that never happened; all counts: \(counts.sorted { $0.key < $1.key })")
        XCTAssertEqual(counts["agent_crashed"] ?? 0, 0, "heuristic minds do not crash")
        XCTAssertEqual(counts["sandbox_violation"] ?? 0, 0, "the built-in tools stay inside the sandbox")
        for id in ["alpha", "beta", "gamma", "delta", "epsilon"] {
            XCTAssertFalse(w.events("agent_started", principal: id).isEmpty, "\(id) was started")
        }
        XCTAssertEqual(s.supervisor.sessionCount, 0, "every child was stopped")
        w.assertInvariants()
    }
}
