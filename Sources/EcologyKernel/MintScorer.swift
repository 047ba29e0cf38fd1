import EcologyCore

/// What the mint knows about a winning artifact when it scores it.
public struct ScoringInput: Sendable {
    public var artifact: Artifact
    /// Successful invokes of the artifact by principals other than its owner.
    public var invokesByOthers: Int64
}

/// Scores a winning artifact 0–100. The LLM scorer (through the supervisor's gateway)
/// and the built-in scorer both conform.
public protocol MintScorer: Sendable {
    func score(_ input: ScoringInput) -> Result<(score: Int, reason: String), KernelError>
}

/// The offline, deterministic scorer: rewards a working interface, code, documentation,
/// and real use by others. Same input, same score.
public struct BuiltinMintScorer: MintScorer {
    public init() {}

    public func score(_ input: ScoringInput) -> Result<(score: Int, reason: String), KernelError> {
        let a = input.artifact
        var score = 0
        var reasons: [String] = []
        let tools = a.interface?["tools"]?.arrayValue ?? []
        if !tools.isEmpty {
            score += 20; reasons.append("has an interface")
            let described = tools.filter { ($0["description"]?.stringValue?.count ?? 0) >= 10 && $0["inputSchema"] != nil }
            if described.count == tools.count { score += 10; reasons.append("documented tools") }
        }
        if let code = a.code, !code.isEmpty { score += 15; reasons.append("has code") }
        let words = a.content.split(whereSeparator: \.isWhitespace).count
        let docPoints = min(15, words / 4)
        if docPoints > 0 { score += docPoints; reasons.append("\(words) words of content") }
        let usePoints = Int(min(40, input.invokesByOthers * 4))
        if usePoints > 0 { score += usePoints; reasons.append("used \(input.invokesByOthers)× by others") }
        return .success((min(100, score), reasons.isEmpty ? "empty artifact" : reasons.joined(separator: ", ")))
    }
}
