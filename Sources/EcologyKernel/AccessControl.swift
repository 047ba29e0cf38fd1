import EcologyCore
import Foundation
import GRDB

/// The actions a contract is asked about.
public enum AccessAction: String, Sendable, CaseIterable {
    case read, write, edit, invoke, delete, transfer
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

/// Remembers custom-contract decisions. Keys include the versions of both the
/// artifact and the contract, so any change to either invalidates the entry.
final class PermissionCache: @unchecked Sendable {
    struct Key: Hashable {
        var contract: String, contractVersion: Int64, artifact: String, artifactVersion: Int64
        var action: String, requester: String
    }
    struct Entry { var allowed: Bool; var reason: String; var expiresAt: Int64 }

    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func get(_ key: Key, now: Int64) -> Entry? {
        lock.lock(); defer { lock.unlock() }
        guard let e = entries[key] else { return nil }
        if e.expiresAt < now { entries[key] = nil; return nil }
        return e
    }

    func put(_ key: Key, _ entry: Entry) {
        lock.lock(); defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[key] = entry
    }

    var count: Int { lock.lock(); defer { lock.unlock() }; return entries.count }
}

extension Kernel {
    /// Asks the artifact's contract whether `requester` may perform `action`.
    /// Throws ACCESS_DENIED with the contract's reason. There is no owner bypass:
    /// owners get their rights from the contract like everyone else.
    func authorize(_ db: Database, _ action: AccessAction, on artifact: Artifact, requester: String,
                   context: JSONValue = .object([:])) throws {
        if try authorizeNative(artifact.accessContractID, action, artifactID: artifact.id, owner: artifact.ownerID, requester: requester) {
            return
        }
        let (allowed, reason) = try evaluateCustomContract(db, action, on: artifact, requester: requester, context: context)
        if !allowed {
            throw KernelError(.accessDenied, "contract \(artifact.accessContractID) denied \(action.rawValue): \(reason)",
                              details: ["contract": .string(artifact.accessContractID), "action": .string(action.rawValue)])
        }
    }

    /// Decides under a genesis contract from identities alone (no artifact load).
    /// Returns false when the contract is a custom one, which needs `authorize`.
    func authorizeNative(_ contract: String, _ action: AccessAction, artifactID: String, owner: String, requester: String) throws -> Bool {
        guard let native = GenesisContract(rawValue: contract) else { return false }
        let (allowed, reason) = native.decide(action, artifactID: artifactID, owner: owner, requester: requester)
        if !allowed { throw KernelError(.accessDenied, reason, details: ["contract": .string(native.rawValue), "action": .string(action.rawValue)]) }
        return true
    }

    /// Runs a custom contract as a pure function in the sandbox (contract mode: no
    /// kernel calls). A missing or deleted contract fails closed for the actions
    /// that change or move things, and open for read/invoke — and says so.
    func evaluateCustomContract(_ db: Database, _ action: AccessAction, on artifact: Artifact, requester: String,
                                context: JSONValue) throws -> (Bool, String) {
        let contractID = artifact.accessContractID
        guard let contract = try Artifact.load(db, contractID), !contract.isDeleted,
              contract.canExecute, let code = contract.code else {
            let failOpen = action == .read || action == .invoke
            return (failOpen, "access contract \(contractID) is missing or deleted (fails \(failOpen ? "open for reads" : "closed"))")
        }
        let now = clock.nowMicros()
        let key = PermissionCache.Key(contract: contractID, contractVersion: contract.version, artifact: artifact.id,
                                      artifactVersion: artifact.version, action: action.rawValue, requester: requester)
        if let hit = permissionCache.get(key, now: now) { return (hit.allowed, hit.reason) }
        let request = ExecutionRequest(
            kind: .contract, artifactID: contractID, code: code, method: "check_permission",
            args: [.string(artifact.id), .string(action.rawValue), .string(requester), artifact.metadataJSON, context],
            caller: contractID, depth: 0, timeoutSeconds: config.limits.contractTimeoutSeconds,
            memoryLimitBytes: config.resources.memoryLimitBytes, maxOutputBytes: 4096)
        let outcome = executor.execute(request) { _, _ in
            .failure(KernelError(.accessDenied, "contracts are pure: kernel calls are refused"))
        }
        guard case .success(let value) = outcome.result, let allowed = value["allowed"]?.boolValue else {
            let why: String
            if case .failure(let e) = outcome.result { why = e.description } else { why = "returned no boolean 'allowed'" }
            return (false, "contract \(contractID) failed (\(why)); failing closed")
        }
        let reason = value["reason"]?.stringValue ?? (allowed ? "allowed" : "denied")
        // The contract declares how long its answers may be cached: content {"cache_ttl_seconds": N}.
        let ttl = (try? JSONCodec.decode(contract.content))?["cache_ttl_seconds"]?.doubleValue ?? 0
        if ttl > 0 {
            // The contract's author chooses the TTL (any JSON number, 1e300 included): an
            // absurd one means "until the contract or the artifact changes", never a trap.
            let expiresAt = now.saturatingAdd(CheckedNumber.micros(fromSeconds: ttl))
            permissionCache.put(key, .init(allowed: allowed, reason: reason, expiresAt: expiresAt))
        }
        return (allowed, reason)
    }
}
