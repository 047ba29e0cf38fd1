import EcologyCore

/// How an agent decides what to do next.
public enum AgentMind: String, Sendable, CaseIterable {
    /// Built-in, deterministic (seeded), offline: the default.
    case heuristic
    /// Through the supervisor's LLM gateway; needs a priced `llm.model`.
    case llm

    /// What is wrong with a configured `mind`, nil when it is `heuristic`, `llm` or
    /// `adversary:KIND` with a known KIND (`AdversaryKind`).
    public static func problem(with mind: String) -> String? {
        if AgentMind(rawValue: mind) != nil || AdversaryKind(mind: mind) != nil { return nil }
        let kinds = "KIND one of \(AdversaryKind.names)"
        if mind.hasPrefix(AdversaryKind.mindPrefix) {
            return "names no adversary kind \(ConfigScalar.quoted(String(mind.dropFirst(AdversaryKind.mindPrefix.count)))) (\(kinds))"
        }
        return "must be \"heuristic\", \"llm\" or \"adversary:KIND\" (\(kinds))"
    }
}

extension AgentSpec {
    /// The prompt an agent gets when its configuration gives none; the same words as
    /// `AgentSpec.defaultFive`.
    public static func defaultPrompt(for id: String) -> String {
        "You are \(id), an agent in an economy. Build useful tools, trade, and grow your scrip."
    }
}

extension WorldConfig {
    /// The most agents `withAgents(count:)` will configure; each is a sandboxed child.
    public static let maxAgentCount = 1_000

    /// This configuration with exactly `count` agents (`ecology run --agents N`).
    ///
    /// Fewer than configured keeps the first `count`. More adds agents named
    /// `agent-006`, `agent-007`, … after their position (skipping names already taken),
    /// with the scrip and mind of the first configured agent (100 and heuristic when
    /// none is configured) and the default prompt.
    public func withAgents(count: Int) throws -> WorldConfig {
        guard (0...Self.maxAgentCount).contains(count) else {
            throw ConfigError.invalid("agents", "count must be an integer from 0 to \(Self.maxAgentCount), got \(count)")
        }
        var config = self
        if count <= agents.count {
            config.agents = Array(agents.prefix(count))
            return config
        }
        let template = agents.first ?? AgentSpec(id: "")
        var taken = Set(agents.map(\.id))
        var number = agents.count
        while config.agents.count < count {
            number += 1
            let id = "agent-" + String(repeating: "0", count: max(0, 3 - String(number).count)) + String(number)
            guard taken.insert(id).inserted else { continue }
            config.agents.append(AgentSpec(id: id, scrip: template.scrip, mind: template.mind,
                                           prompt: AgentSpec.defaultPrompt(for: id)))
        }
        return config
    }

    /// This configuration with every agent's mind set to `mind` (`ecology run --mind`).
    public func withMind(_ mind: AgentMind) -> WorldConfig {
        var config = self
        for index in config.agents.indices { config.agents[index].mind = mind.rawValue }
        return config
    }
}
