import EcologyCore
@testable import EcologyKernel
import GRDB
import XCTest

final class BootstrapTests: XCTestCase {
    let services = ["genesis_debt", "genesis_escrow", "genesis_event_log", "genesis_ledger", "genesis_mint",
                    "genesis_rights_registry", "genesis_store"]

    func testBootstrapCreatesAgentsServicesAndHandbook() throws {
        let w = try TestWorld()
        for a in agents {
            let p = try XCTUnwrap(try w.principal(a))
            XCTAssertEqual(p.scrip, 100)
            XCTAssertEqual(p.compute.balance(atMicros: w.clock.nowMicros()), 10_000)
            XCTAssertEqual(p.llmBudget, 1_000_000)
            let art = try XCTUnwrap(try w.artifact(a))
            XCTAssertEqual(art.kind, "agent")
            XCTAssertEqual(art.ownerID, a)
            XCTAssertTrue(art.hasStanding && art.canExecute)
            XCTAssertEqual(art.accessContractID, "genesis_self_owned")
            XCTAssertEqual(p.diskUsed, art.sizeBytes)
        }
        for s in services {
            let a = try XCTUnwrap(try w.artifact(s), s)
            XCTAssertEqual(a.kind, "genesis")
            XCTAssertEqual(a.ownerID, Kernel.systemID)
            XCTAssertNotNil(a.interface?["tools"]?.arrayValue)
        }
        XCTAssertNotNil(try w.principal("genesis_mint"))
        XCTAssertNotNil(try w.principal("genesis_escrow"))
        XCTAssertNil(try w.principal("genesis_ledger"))
        let overview = try XCTUnwrapOK(w.act("alpha", "read", ["artifact_id": "handbook_overview"]))
        XCTAssertTrue(overview["content"]?.stringValue?.contains("Ecology handbook") ?? false)
        for page in ["handbook_ledger", "handbook_mint", "handbook_escrow", "handbook_debt", "handbook_store",
                     "handbook_rights_registry", "handbook_event_log"] {
            let text = try XCTUnwrapOK(w.act("beta", "read", ["artifact_id": .string(page)]))["content"]?.stringValue ?? ""
            XCTAssertTrue(text.contains("Methods"), page)
        }
        let report = try w.kernel.checkInvariants()
        XCTAssertTrue(report.ok, "\(report.violations)")
        XCTAssertEqual(report.figures["initial_scrip"], 500)
        XCTAssertEqual(report.figures["total_scrip"], 500)
    }

    func testBootstrapIsIdempotent() throws {
        let w = try TestWorld()
        let before = try w.snapshot()
        XCTAssertEqual(try w.kernel.bootstrap(), [])
        w.clock.advance(seconds: 10)
        XCTAssertEqual(try w.kernel.bootstrap(), [])
        XCTAssertEqual(try w.snapshot(), before)
    }

    func testBootstrapAddsNewlyConfiguredAgentsOnly() throws {
        let w = try TestWorld()
        let created = try w.kernel.bootstrap(agents: AgentSpec.defaultFive + [AgentSpec(id: "zeta", scrip: 40)])
        XCTAssertEqual(created, ["zeta"])
        XCTAssertEqual(try w.scrip("zeta"), 40)
        XCTAssertEqual(try w.kernel.checkInvariants().figures["initial_scrip"], 540)
        w.assertInvariants()
    }

    func testBootstrapRejectsInvalidAgentID() throws {
        let w = try TestWorld(bootstrap: false)
        XCTAssertThrowsError(try w.kernel.bootstrap(agents: [AgentSpec(id: "bad id")]))
        XCTAssertEqual(try w.eventCount(), 0, "a failed bootstrap leaves nothing behind")
    }

    func testObserveShowsBalancesAndMintSchedule() throws {
        let w = try TestWorld()
        let o = try XCTUnwrapOK(w.act("alpha", "observe", [:]))
        XCTAssertEqual(o["principal"], "alpha")
        XCTAssertEqual(o["balances"]?["scrip"], 100)
        XCTAssertEqual(o["balances"]?["frozen"], false)
        XCTAssertEqual(o["mint_next_resolution"]?.doubleValue, Double(w.clock.nowMicros() + WorldConfig().mint.periodSeconds * 1_000_000) / 1_000_000)
        XCTAssertEqual(o["owned"]?.arrayValue?.first?["id"], "alpha")
        XCTAssertTrue(w.act("alpha", "noop", [:]).isOK)
        XCTAssertCode(w.act("alpha", "fly", [:]), .invalidArgs)
        XCTAssertCode(w.act("alpha", "observe", [1, 2]), .invalidArgs)
    }

    func testListAgentsAndPrincipals() throws {
        let w = try TestWorld()
        let listed = try XCTUnwrapOK(w.invoke("alpha", "genesis_store", "list_agents")).arrayValue?.compactMap(\.stringValue)
        XCTAssertEqual(listed, agents.sorted(), "genesis accounts are not agents")
        let principals = try XCTUnwrapOK(w.invoke("alpha", "genesis_store", "list_principals")).arrayValue?.compactMap(\.stringValue)
        XCTAssertEqual(Set(principals ?? []), Set(agents + ["genesis_mint", "genesis_escrow"]))
    }
}
