import EcologyCore
import EcologyKernel
import EcologyLLM
import Foundation

/// The mint's LLM scorer: asks the model through the supervisor's gateway (charged to
/// `genesis_mint`'s llm_budget). The gateway is bound after the kernel exists, because
/// the gateway's accounting lives on that kernel's ledger.
public final class GatewayMintScorer: MintScorer, @unchecked Sendable {
    private let lock = NSLock()
    private var gateway: LLMGateway?

    public init() {}

    public func bind(_ gateway: LLMGateway) { lock.lock(); self.gateway = gateway; lock.unlock() }

    public func score(_ input: ScoringInput) -> Result<(score: Int, reason: String), KernelError> {
        lock.lock(); let g = gateway; lock.unlock()
        guard let g else { return .failure(KernelError(.internal, "the LLM scorer has no gateway (is an LLM configured?)")) }
        let a = input.artifact
        return LLMMintScorer(gateway: g).score(artifactID: a.id, content: a.content, code: a.code,
                                               interface: a.interface.map(JSONCodec.string))
    }
}
