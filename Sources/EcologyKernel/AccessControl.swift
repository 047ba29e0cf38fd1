import EcologyCore
import Foundation
import GRDB
import NIOConcurrencyHelpers

/// Remembers custom-contract decisions. Keys include the versions of both the artifact
/// and the contract, so any change to either invalidates the entry, and the owner the
/// contract was shown: a gift's recipient is asked about as if it owned the artifact
/// (`transferOwnership`), and that answer must never stand for the artifact as it is.
final class PermissionCache: Sendable {
    struct Key: Hashable {
        var contract: String, contractVersion: Int64, artifact: String, artifactVersion: Int64, owner: String
        var action: String, requester: String
    }
    struct Entry { var decision: ContractDecision; var expiresAt: Int64 }

    private let entries = NIOLockedValueBox<[Key: Entry]>([:])
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func get(_ key: Key, now: Int64) -> ContractDecision? {
        entries.withLockedValue { entries in
            guard let e = entries[key] else { return nil }
            if e.expiresAt < now { entries[key] = nil; return nil }
            return e.decision
        }
    }

    func put(_ key: Key, _ entry: Entry) {
        entries.withLockedValue { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = entry
        }
    }

    var count: Int { entries.withLockedValue { $0.count } }
}

extension Kernel {
    /// Asks the artifact's contract whether `call.caller` may perform `action`, in an
    /// action's apply step (inside its transaction). Throws ACCESS_DENIED with the
    /// contract's reason. There is no owner bypass: owners get their rights from the
    /// contract like everyone else. A genesis contract decides here; a custom one never
    /// runs here (no child while a write transaction is open): its answer comes from
    /// `decisions` (asked before, `Kernel.deciding`) or the permission cache, for exactly
    /// this version of artifact and contract, else `ContractDecisionNeeded` is thrown and
    /// the action asks it and applies again.
    func authorize(_ db: Database, _ action: AccessAction, on artifact: Artifact, by call: CallContext,
                   decisions: ContractDecisions) throws {
        if try authorizeNative(artifact.accessContractID, action, artifactID: artifact.id, owner: artifact.ownerID, requester: call.caller) {
            return
        }
        let decision = try customDecision(db, ContractQuestion(action: action, artifact: artifact, call: call), decisions: decisions)
        if !decision.allowed {
            throw KernelError(.accessDenied, "contract \(artifact.accessContractID) denied \(action.rawValue): \(decision.reason)",
                              details: ["contract": .string(artifact.accessContractID), "action": .string(action.rawValue)])
        }
    }

    /// A custom contract's answer to `question` for the contract as it is in `db` now:
    /// decided by rule when the contract is missing, else asked before (`decisions`) or cached.
    func customDecision(_ db: Database, _ question: ContractQuestion, decisions: ContractDecisions) throws -> ContractDecision {
        let contractID = question.artifact.accessContractID
        guard let contract = try Artifact.load(db, contractID), !contract.isDeleted, contract.canExecute, contract.code != nil else {
            return ContractRules.missingContract(contractID, question.action)
        }
        let key = question.key(contractVersion: contract.version)
        if let answer = decisions.answer(key) ?? permissionCache.get(key, now: clock.nowMicros()) { return answer }
        throw ContractDecisionNeeded(question: question)
    }

    /// Decides under a genesis contract from identities alone (no artifact load).
    /// Returns false when the contract is a custom one, which needs `authorize`.
    func authorizeNative(_ contract: String, _ action: AccessAction, artifactID: String, owner: String, requester: String) throws -> Bool {
        guard let native = GenesisContract(rawValue: contract) else { return false }
        let (allowed, reason) = native.decide(action, artifactID: artifactID, owner: owner, requester: requester)
        if !allowed { throw KernelError(.accessDenied, reason, details: ["contract": .string(native.rawValue), "action": .string(action.rawValue)]) }
        return true
    }

    /// Runs a custom contract as a pure function in the sandbox (contract mode: no kernel
    /// calls), with no transaction open, and returns its answer with the key it holds
    /// for; nil when the contract is missing or deleted (the apply step decides that by
    /// rule, `ContractRules.missingContract`).
    ///
    /// The requester's payer pays for the evaluation: it must be able to (`reserveCompute`,
    /// else the error is thrown and nothing runs), the child gets at most the time left
    /// before the call chain's deadline, and its measured CPU is charged when the action
    /// ends (`settleDeferredCharges`), whatever the action's outcome, so a denial does not
    /// make the work free. A cached decision runs nothing and costs nothing.
    func evaluateCustomContract(_ question: ContractQuestion) throws -> (PermissionCache.Key, ContractDecision)? {
        let artifact = question.artifact, call = question.call, action = question.action
        let contractID = artifact.accessContractID
        struct Run { let key: PermissionCache.Key; let code: String; let content: String; let reservation: ComputeReservation; let timeout: Double }
        enum Step { case missing, cached(PermissionCache.Key, ContractDecision), run(Run) }
        // The contract, the cache and the payer's compute, from one snapshot, then no transaction while the child runs.
        let step: Step = try readOnly { db in
            guard let contract = try Artifact.load(db, contractID), !contract.isDeleted, contract.canExecute, let code = contract.code else {
                return .missing
            }
            let now = clock.nowMicros()
            let key = question.key(contractVersion: contract.version)
            if let hit = permissionCache.get(key, now: now) { return .cached(key, hit) }
            let timeout = call.remainingSeconds(now: now, limit: config.limits.contractTimeoutSeconds)
            guard timeout > 0 else {
                throw KernelError(.timeout, "the call chain's deadline has passed; contract \(contractID) was not asked",
                                  details: ["limit": "wall"])
            }
            // The contract policy's CPU limit (`SandboxPolicy`: the contract timeout rounded up).
            let reservation = try reserveCompute(db, payer: call.payer,
                                                 ceilingSeconds: ExecutionRequest.wholeSeconds(config.limits.contractTimeoutSeconds),
                                                 wallSeconds: timeout, what: "contract \(contractID)")
            return .run(Run(key: key, code: code, content: contract.content, reservation: reservation, timeout: timeout))
        }
        let run: Run
        switch step {
        case .missing: return nil
        case .cached(let key, let decision): return (key, decision)
        case .run(let r): run = r
        }
        let request = ExecutionRequest(
            kind: .contract, artifactID: contractID, code: run.code, method: "check_permission",
            args: [.string(artifact.id), .string(action.rawValue), .string(call.caller), artifact.metadataJSON, .object([:])],
            caller: contractID, depth: 0, timeoutSeconds: run.timeout,
            memoryLimitBytes: config.resources.memoryLimitBytes, maxOutputBytes: 4096,
            deadlineMicros: call.deadlineMicros, cpuLimitSeconds: run.reservation.cpuLimitSeconds)
        let outcome: ExecutionOutcome
        do {
            outcome = try runChild(request) { _, _ in
                .failure(KernelError(.accessDenied, "contracts are pure: kernel calls are refused"))
            }
        } catch {
            releaseCompute(run.reservation)
            throw error
        }
        var record: [String: JSONValue] = [
            "contract_id": .string(contractID), "artifact_id": .string(artifact.id), "action": .string(action.rawValue),
            "requester": .string(call.caller), "payer": .string(call.payer),
            "cpu_ms": .number(Double(outcome.cpuMicros) / 1000), "wall_ms": .number(Double(outcome.wallMicros) / 1000),
        ]
        if case .failure(let e) = outcome.result { record["error"] = .string(e.code.rawValue) }
        computeReservations.deferCharge(run.reservation, cpuMicros: outcome.cpuMicros, event: ("contract_evaluated", .object(record)))
        let decision = ContractRules.answer(of: outcome.result, contractID: contractID)
        if let expiresAt = ContractRules.cacheExpiry(contractContent: run.content, ran: outcome.result, now: clock.nowMicros()) {
            permissionCache.put(run.key, .init(decision: decision, expiresAt: expiresAt))
        }
        return (run.key, decision)
    }
}
