import ArgumentParser
import EcologyCore

/// A named variation of the configured world (`ecology run --scenario`).
enum Scenario: String, CaseIterable, ExpressibleByArgument {
    /// The world as configured.
    case `default`
    /// The configured agents plus one agent of every adversarial mind (`AdversaryKind`),
    /// each with the starting scrip of the first configured agent, named `adv-KIND`.
    case redteam

    func apply(to config: WorldConfig) -> WorldConfig {
        switch self {
        case .default: return config
        case .redteam:
            var config = config
            let scrip = config.agents.first?.scrip ?? AgentSpec(id: "").scrip
            var taken = Set(config.agents.map(\.id))
            for kind in AdversaryKind.allCases {
                let id = "adv-" + kind.rawValue.replacingOccurrences(of: "_", with: "-")
                guard taken.insert(id).inserted else { continue }
                config.agents.append(AgentSpec(id: id, scrip: scrip, mind: kind.mind, prompt: "adversary \(kind.rawValue)"))
            }
            return config
        }
    }
}
