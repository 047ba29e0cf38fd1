import EcologyCore
import EcologyKernel
import EcologyLLM
import Foundation
import NIOConcurrencyHelpers

/// The mint's LLM scorer: asks the model through the supervisor's gateway (charged to
/// `genesis_mint`'s llm_budget). The gateway is bound after the kernel exists, because
/// the gateway's accounting lives on that kernel's ledger.
public final class GatewayMintScorer: MintScorer, Sendable {
    private let gateway = NIOLockedValueBox<LLMGateway?>(nil)

    public init() {}

    public func bind(_ gateway: LLMGateway) { self.gateway.withLockedValue { $0 = gateway } }

    public func score(_ input: ScoringInput) -> Result<(score: Int, reason: String), KernelError> {
        let g = gateway.withLockedValue { $0 }
        guard let g else { return .failure(KernelError(.internal, "the LLM scorer has no gateway (is an LLM configured?)")) }
        let a = input.artifact
        return LLMMintScorer(gateway: g).score(artifactID: a.id, content: a.content, code: a.code,
                                               interface: a.interface.map(JSONCodec.string))
    }
}
