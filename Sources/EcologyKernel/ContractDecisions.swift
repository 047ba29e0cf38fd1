import EcologyCore
import EcologyStore
import Foundation
import NIOConcurrencyHelpers

/// What a custom contract is asked: an action on an artifact, as the contract will see
/// it (a gift's recipient is asked about with itself as the owner), by whom, paid by whom.
struct ContractQuestion {
    let action: AccessAction
    let artifact: Artifact
    let call: CallContext

    /// The key of the answer for this question under version `contractVersion` of the
    /// artifact's contract: everything the contract is shown is in it, so an answer
    /// keyed so holds exactly while none of that has changed.
    func key(contractVersion: Int64) -> PermissionCache.Key {
        PermissionCache.Key(contract: artifact.accessContractID, contractVersion: contractVersion, artifact: artifact.id,
                            artifactVersion: artifact.version, owner: artifact.ownerID, action: action.rawValue,
                            requester: call.caller)
    }
}

/// The custom-contract answers one action obtained before its apply step.
///
/// Decide, then apply (docs/KERNEL.md): a contract runs in a sandboxed child, which must
/// never run while a write transaction is open (every writer of the world would wait for
/// it). So an action asks its contracts first, with no transaction open, and its apply
/// step, one short write, finds their answers here by key. A key holds the versions of
/// the artifact and the contract the answer was given for: an answer found is one given
/// about exactly what the apply step sees.
final class ContractDecisions: Sendable {
    // Locked: the apply step may run on another thread than the action's (group commit
    // runs a batch on its leader's).
    private let answers = NIOLockedValueBox<[PermissionCache.Key: ContractDecision]>([:])

    func answer(_ key: PermissionCache.Key) -> ContractDecision? {
        answers.withLockedValue { $0[key] }
    }

    func record(_ key: PermissionCache.Key, _ decision: ContractDecision) {
        answers.withLockedValue { $0[key] = decision }
    }
}

/// Thrown by the apply step when it needs a contract's answer that it has not got (the
/// artifact or the contract changed since it was asked, or the question only arises
/// there): the step rolls back, the contract is asked with no transaction open, and the
/// step runs again (`Kernel.deciding`).
struct ContractDecisionNeeded: Error {
    let question: ContractQuestion
}

extension Kernel {
    /// How many times an action's apply step may find an answer missing or stale and have
    /// its contract asked again before the action is refused. An action asks at most two
    /// questions (a gift: `transfer`, then `delete` as the recipient); more rounds mean
    /// that what it asks about keeps changing while its contract runs.
    static let maxContractRounds = 4

    /// Decide, then apply. `apply` opens its own short transaction, whose `authorize`
    /// calls take custom contracts' answers from `decisions`. When it needs one it has not
    /// got (first, the questions it asks; then, answers made stale because the artifact
    /// or the contract changed while its contract ran), it throws `ContractDecisionNeeded`
    /// and rolls back; the contract is asked with no transaction open (`decide`), and
    /// `apply` runs again, at most `maxContractRounds` times. After that the action is
    /// ACCESS_DENIED (`details.reason = "changed_while_asked"`): no contract said yes about
    /// what is there now. An action under genesis contracts only (nearly all) applies once,
    /// with nothing asked before: its checks cost no extra read.
    func deciding<T>(_ apply: (ContractDecisions) throws -> T) throws -> T {
        let decisions = ContractDecisions()
        var rounds = 0
        while true {
            do {
                return try apply(decisions)
            } catch let needed as ContractDecisionNeeded {
                rounds += 1
                guard rounds <= Self.maxContractRounds else {
                    let q = needed.question
                    throw KernelError(.accessDenied,
                                      "\(q.artifact.id) or its contract \(q.artifact.accessContractID) changed each time the contract was asked about \(q.action.rawValue) (\(Self.maxContractRounds) times); nothing was done, try again",
                                      details: ["contract": .string(q.artifact.accessContractID), "action": .string(q.action.rawValue),
                                                "reason": "changed_while_asked"])
                }
                try decide(needed.question, into: decisions)
            }
        }
    }

    /// Asks `question`'s contract (`evaluateCustomContract`, no transaction open) and records its answer.
    func decide(_ question: ContractQuestion, into decisions: ContractDecisions) throws {
        if let (key, decision) = try evaluateCustomContract(question) { decisions.record(key, decision) }
    }

    /// Runs a sandboxed child, after making sure that no write transaction is open on this
    /// thread: while one is, every writer of the world waits, and a child's nested kernel
    /// call would wait for it for ever. Such a call is a bug in the kernel; it is refused
    /// as INTERNAL, with nothing run, rather than stalling the world.
    func runChild(_ request: ExecutionRequest, kernelCalls: @escaping KernelCallHandler) throws -> ExecutionOutcome {
        if WriterThread.holdsWriter {
            throw KernelError(.internal, "refused to run \(request.artifactID) (\(request.kind.rawValue)) inside a write transaction: the kernel decides before it writes (docs/KERNEL.md, \"Decide, then apply\")")
        }
        return executor.execute(request, kernelCalls: kernelCalls)
    }
}
