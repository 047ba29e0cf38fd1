import EcologyCore

// The access rules as pure functions over plain values (no database, no process): what
// the kernel decides, apart from how it reads and writes. `Kernel.authorize` and
// `Kernel.evaluateCustomContract` call them; `AccessRulesTests` tests them.

/// The actions a contract is asked about.
public enum AccessAction: String, Sendable, CaseIterable {
    case read, write, edit, invoke, delete, transfer

    /// Whether the action changes or moves what it acts on (a missing contract fails closed for these).
    var changesOrMoves: Bool { self != .read && self != .invoke }
}

/// The four native contracts every world has. Custom contracts are Python artifacts
/// run by the executor in `contract` mode.
public enum GenesisContract: String, Sendable, CaseIterable {
    /// Anyone reads and invokes; only the owner writes, edits, deletes, transfers. The default.
    case freeware = "genesis_freeware"
    /// Only the artifact itself or its owner may do anything.
    case selfOwned = "genesis_self_owned"
    /// Only the owner may do anything.
    case `private` = "genesis_private"
    /// Anyone may do anything.
    case `public` = "genesis_public"

    func decide(_ action: AccessAction, artifact: Artifact, requester: String) -> (Bool, String) {
        decide(action, artifactID: artifact.id, owner: artifact.ownerID, requester: requester)
    }

    /// The rule itself, on identities only (search uses it without loading artifacts).
    func decide(_ action: AccessAction, artifactID: String, owner: String, requester: String) -> (Bool, String) {
        let isOwner = requester == owner
        switch self {
        case .public: return (true, "public")
        case .private: return isOwner ? (true, "owner") : (false, "only the owner (\(owner)) may \(action.rawValue) a private artifact")
        case .selfOwned:
            if isOwner || requester == artifactID { return (true, "self or owner") }
            return (false, "only \(artifactID) itself or its owner may \(action.rawValue) it")
        case .freeware:
            if action == .read || action == .invoke || isOwner { return (true, isOwner ? "owner" : "freeware") }
            return (false, "only the owner (\(owner)) may \(action.rawValue) this artifact")
        }
    }
}

/// A custom contract's answer.
struct ContractDecision: Equatable, Sendable {
    var allowed: Bool
    var reason: String
}

enum ContractRules {
    /// The answer when the contract is missing, deleted, not executable or has no code:
    /// open for reads and invokes, closed for what changes or moves things.
    static func missingContract(_ contractID: String, _ action: AccessAction) -> ContractDecision {
        let failOpen = !action.changesOrMoves
        return ContractDecision(allowed: failOpen,
                                reason: "access contract \(contractID) is missing or deleted (fails \(failOpen ? "open for reads" : "closed"))")
    }

    /// What a contract's run means: `{"allowed": bool, "reason"?: str}`, else a denial
    /// (a failed or malformed run fails closed).
    static func answer(of result: Result<JSONValue, KernelError>, contractID: String) -> ContractDecision {
        guard case .success(let value) = result, let allowed = value["allowed"]?.boolValue else {
            let why: String
            if case .failure(let e) = result { why = e.description } else { why = "returned no boolean 'allowed'" }
            return ContractDecision(allowed: false, reason: "contract \(contractID) failed (\(why)); failing closed")
        }
        return ContractDecision(allowed: allowed, reason: value["reason"]?.stringValue ?? (allowed ? "allowed" : "denied"))
    }

    /// Until when an answer may be cached: the contract's content declares
    /// `{"cache_ttl_seconds": N}`; none, or N ≤ 0, is never (nil). A failed run is never
    /// cached. The contract's author chooses the TTL (any JSON number, 1e300 included):
    /// an absurd one means "until the contract or the artifact changes", never a trap.
    static func cacheExpiry(contractContent: String, ran result: Result<JSONValue, KernelError>, now: Int64) -> Int64? {
        guard case .success(let value) = result, value["allowed"]?.boolValue != nil else { return nil }
        let ttl = (try? JSONCodec.decode(contractContent))?["cache_ttl_seconds"]?.doubleValue ?? 0
        guard ttl > 0 else { return nil }
        return now.saturatingAdd(CheckedNumber.micros(fromSeconds: ttl))
    }
}
