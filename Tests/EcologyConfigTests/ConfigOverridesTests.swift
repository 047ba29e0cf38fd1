import EcologyCore
import EcologyConfig
import XCTest

final class ConfigOverridesTests: XCTestCase {
    func testMoreAgentsAreNamedAfterTheFive() throws {
        let config = try WorldConfig().withAgents(count: 8)
        XCTAssertEqual(config.agents.map(\.id),
                       ["alpha", "beta", "gamma", "delta", "epsilon", "agent-006", "agent-007", "agent-008"])
        XCTAssertEqual(config.agents[5], AgentSpec(id: "agent-006", scrip: 100, mind: "heuristic",
                                                   prompt: AgentSpec.defaultPrompt(for: "agent-006")))
        XCTAssertNoThrow(try config.validate())
    }

    func testFewerAgentsKeepTheFirst() throws {
        XCTAssertEqual(try WorldConfig().withAgents(count: 2).agents.map(\.id), ["alpha", "beta"])
        XCTAssertEqual(try WorldConfig().withAgents(count: 0).agents, [])
        XCTAssertEqual(try WorldConfig().withAgents(count: 5), WorldConfig())
    }

    func testNewAgentsCopyTheFirstAgentsScripAndMindAndSkipTakenNames() throws {
        var config = WorldConfig()
        config.agents = [AgentSpec(id: "agent-002", scrip: 500, mind: "llm", prompt: "custom")]
        let grown = try config.withAgents(count: 3)
        XCTAssertEqual(grown.agents.map(\.id), ["agent-002", "agent-003", "agent-004"])
        XCTAssertEqual(grown.agents.map(\.scrip), [500, 500, 500])
        XCTAssertEqual(grown.agents.map(\.mind), ["llm", "llm", "llm"])
        XCTAssertEqual(grown.agents[1].prompt, AgentSpec.defaultPrompt(for: "agent-003"))
    }

    func testManyAgentsHaveUniqueValidIDs() throws {
        let config = try WorldConfig().withAgents(count: WorldConfig.maxAgentCount)
        XCTAssertEqual(config.agents.count, 1_000)
        XCTAssertEqual(config.agents.last?.id, "agent-1000")
        XCTAssertNoThrow(try config.validate())
    }

    func testAgentCountOutOfBounds() {
        XCTAssertThrowsError(try WorldConfig().withAgents(count: -1)) { error in
            XCTAssertEqual("\(error)", "config error at agents: count must be an integer from 0 to 1000, got -1")
        }
        XCTAssertThrowsError(try WorldConfig().withAgents(count: 1_001))
    }

    func testWithMindSetsEveryAgent() throws {
        let config = try WorldConfig().withAgents(count: 7).withMind(.llm)
        XCTAssertEqual(Set(config.agents.map(\.mind)), ["llm"])
        XCTAssertEqual(Set(config.withMind(.heuristic).agents.map(\.mind)), ["heuristic"])
        XCTAssertEqual(AgentMind(rawValue: "llm"), .llm)
        XCTAssertNil(AgentMind(rawValue: "clever"))
    }
}
