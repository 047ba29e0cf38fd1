import EcologyCore
import EcologyStore
import Foundation
import GRDB

/// The world kernel: every action an agent (or a tool's code, or the CLI) can take.
///
/// All state lives in the `WorldDatabase`; each action is one transaction that also
/// writes its events, so the kernel can be used from several processes on one data
/// directory (SQLite serializes the writers). The kernel never forks: agent-written
/// code runs through the injected `ArtifactExecutor`.
public final class Kernel: Sendable {
    public let database: WorldDatabase
    public let config: WorldConfig
    public let clock: any WorldClock
    public let executor: any ArtifactExecutor
    public let scorer: any MintScorer
    let events: EventLog
    /// Decoded event data shared by observe, event_log.read and the supervisor's wake-ups.
    let eventCache = EventDataCache()
    let permissionCache: PermissionCache
    /// Compute held by running executions (`reserveCompute`).
    let computeReservations = ComputeReservations()
    let services: [String: any GenesisService]
    let observers = KernelObservers()

    public init(database: WorldDatabase, config: WorldConfig, clock: any WorldClock = SystemClock(),
                executor: any ArtifactExecutor = UnavailableExecutor(), scorer: any MintScorer = BuiltinMintScorer()) {
        self.database = database
        self.config = config
        self.clock = clock
        self.executor = executor
        self.scorer = scorer
        self.events = EventLog(clock: clock)
        self.permissionCache = PermissionCache(capacity: config.world.permissionCacheEntries)
        let all: [any GenesisService] = [LedgerService(), StoreService(), RightsRegistryService(), EventLogService(),
                                         EscrowService(), MintService(), DebtService()]
        self.services = Dictionary(uniqueKeysWithValues: all.map { (type(of: $0).id, $0) })
    }

    /// The kernel actions of SPEC section 4 that the kernel itself answers.
    /// (`llm` and `sleep` belong to the supervisor, which answers them before this.)
    public static let actions = ["observe", "read", "write", "edit", "delete", "invoke", "noop"]

    /// Registers an observer told of every action from now on (`KernelObserver`).
    public func addObserver(_ observer: any KernelObserver) { observers.add(observer) }

    /// Performs one action and always answers with an envelope; no error escapes.
    /// Observers hear of it after it is answered.
    public func handle(action: String, params: JSONValue, context: CallContext) -> Envelope {
        let watching = observers.current
        guard !watching.isEmpty else { return perform(action: action, params: params, context: context) }
        let started = DispatchTime.now().uptimeNanoseconds
        let envelope = perform(action: action, params: params, context: context)
        let elapsed = DispatchTime.now().uptimeNanoseconds &- started
        var target: String?
        if case .object(let p) = params, case .string(let id)? = p["artifact_id"] { target = String(id.prefix(128)) }
        let outcome = ActionOutcome(action: String(action.prefix(64)), caller: context.caller, payer: context.payer,
                                    target: target, depth: context.depth, code: envelope.error?.code,
                                    seconds: Double(elapsed) / 1e9)
        for observer in watching { observer.kernelHandled(outcome) }
        return envelope
    }

    private func perform(action: String, params: JSONValue, context: CallContext) -> Envelope {
        // The action starts the chain's clock (if it is the top of a chain): contract
        // evaluations and invokes below it share one deadline.
        let context = context.startingChain(now: clock.nowMicros(), seconds: config.limits.invokeTimeoutSeconds)
        defer { settleDeferredCharges() }
        do {
            guard case .object(let p) = params else {
                throw KernelError.invalid("params must be a JSON object, got \(params.typeName)")
            }
            try Self.requireNotSystem(context)
            let args = Args(p, maxAmount: config.limits.maxAmount)
            switch action {
            case "observe": return .ok(try observe(context))
            case "read": return .ok(try read(try args.id("artifact_id"), context))
            case "write": return .ok(try write(args, context))
            case "edit": return .ok(try edit(args, context))
            case "delete": return .ok(try delete(try args.id("artifact_id"), context))
            case "invoke":
                let callArgs: [JSONValue]
                switch p["args"] {
                case nil, .null?: callArgs = []
                case .array(let a)?: callArgs = a
                case let other?: throw KernelError.invalid("args must be an array, got \(other.typeName)")
                }
                return invoke(try args.id("artifact_id"), method: try args.string("method"), args: callArgs, context: context)
            case "noop": return .ok(try noop(context))
            default:
                throw KernelError.invalid("unknown action '\(action.prefix(64))'; actions are \(Self.actions.joined(separator: ", ")), llm, sleep")
            }
        } catch let e as KernelError {
            return .failure(e)
        } catch {
            return .failure(Self.internalError(error))
        }
    }

    /// The KernelError for any failure: a KernelError as is; a storage fault
    /// (`StorageFault`), a constraint (`INVALID_ARGS`) or another database error; else INTERNAL.
    public static func internalError(_ error: Error) -> KernelError {
        if let e = error as? KernelError { return e }
        if let storage = StorageFault.kernelError(error) { return storage }
        if let db = error as? DatabaseError {
            if db.resultCode == .SQLITE_CONSTRAINT {
                return KernelError(.invalidArgs, "rejected by a ledger constraint: \(db.message ?? "constraint failed")")
            }
            return KernelError(.internal, "database error: \(db.resultCode)")
        }
        return KernelError(.internal, "\(error)")
    }

    // MARK: - Transactions

    /// Runs `body` in one write transaction after checking that the payer is not frozen
    /// and charging it the kernel's own cost of the action. The charge comes first so that
    /// check and charge share one read; if `body` fails, the transaction (charge included)
    /// rolls back. `body` is an apply step: it runs no child (`runChild` refuses inside
    /// it); custom contracts are asked before it (`deciding`).
    func transaction<T>(_ context: CallContext, costMs: Int64 = 0, _ body: (Database) throws -> T) throws -> T {
        // The custom contracts asked for this action are charged after the transaction, whether it commits or not.
        defer { settleDeferredCharges() }
        do {
            return try database.writeTransaction { db in
                try chargeActionCost(db, payer: context.payer, kernelMs: costMs)
                return try body(db)
            }
        } catch let e as KernelError { throw e } catch let e as ContractDecisionNeeded { throw e } catch { throw Self.internalError(error) }
    }

    func readOnly<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.readTransaction(body) } catch let e as KernelError { throw e } catch let e as ContractDecisionNeeded { throw e } catch { throw Self.internalError(error) }
    }

    /// Loads an artifact that must exist and not be a tombstone.
    func liveArtifact(_ db: Database, _ id: String) throws -> Artifact {
        guard let a = try Artifact.load(db, id) else { throw KernelError.notFound("artifact \(id)") }
        if a.isDeleted {
            throw KernelError(.deleted, "artifact \(id) was deleted", details: ["deleted_at": .number(seconds(a.deletedAt!))])
        }
        return a
    }

    // MARK: - Actions

    func noop(_ context: CallContext) throws -> JSONValue {
        try readOnly { db in
            if let p = try Principal.load(db, context.payer) { try requireNotFrozen(p, now: clock.nowMicros()) }
        }
        return .object([:])
    }

    /// What an agent sees: time, its balances, what it owns, recent events.
    func observe(_ context: CallContext) throws -> JSONValue {
        try readOnly { db in
            let now = clock.nowMicros()
            let me = try Principal.load(db, context.caller)
            // Through the C API: up to 50 rows on every observe (GRDB's generic path copied
            // each into a row object first; this list was most of observe's cost).
            let ownedRows = try db.fastStatement("""
                SELECT id, kind, can_execute, price FROM artifacts WHERE owner_id = ? AND deleted_at IS NULL ORDER BY id LIMIT 50
                """)
            ownedRows.bind(1, context.caller)
            var owned: [JSONValue] = []
            while try ownedRows.step() {
                owned.append(.object(["id": .string(ownedRows.text(0)), "kind": .string(ownedRows.text(1)),
                                      "can_execute": .bool(ownedRows.bool(2)), "price": .int(ownedRows.int64(3))]))
            }
            let recent = try WorldEvent.fetch(db, limit: 20, newestFirst: true, cache: eventCache).reversed().map(\.json)
            let next = try mintNextResolution(db)
            return .object([
                "time": .number(seconds(now)), "principal": .string(context.caller),
                "balances": me?.json(now: now) ?? .null, "owned": .array(owned), "recent_events": .array(recent),
                "mint_next_resolution": .number(seconds(next)),
            ])
        }
    }

    func read(_ id: String, _ context: CallContext) throws -> JSONValue {
        try deciding { decisions in
            try transaction(context, costMs: config.costs.readMs) { db in
                let a = try liveArtifact(db, id)
                try authorize(db, .read, on: a, by: context, decisions: decisions)
                return a.json
            }
        }
    }

    /// Creates an artifact or replaces an existing one's content/code/interface.
    func write(_ args: Args, _ context: CallContext) throws -> JSONValue {
        let id = try args.id("artifact_id")
        _ = try ArtifactSpec(args: args, limits: config.limits)  // reject bad input before touching the database
        return try deciding { decisions in
            try transaction(context, costMs: config.costs.writeMs) { db in
                if let existing = try Artifact.load(db, id), !existing.isDeleted {
                    try authorize(db, .write, on: existing, by: context, decisions: decisions)
                    let spec = try ArtifactSpec(args: args, limits: config.limits, base: existing)
                    return try replace(db, existing, with: spec, by: context).metadataJSON
                }
                return try create(db, id: id, spec: try ArtifactSpec(args: args, limits: config.limits), by: context).metadataJSON
            }
        }
    }

    func edit(_ args: Args, _ context: CallContext) throws -> JSONValue {
        let id = try args.id("artifact_id")
        let old = try args.string("old")
        let new = try args.string("new")
        if old.isEmpty { throw KernelError.invalid("'old' must not be empty") }
        return try deciding { decisions in try transaction(context, costMs: config.costs.writeMs) { db in
            let a = try liveArtifact(db, id)
            try authorize(db, .edit, on: a, by: context, decisions: decisions)
            guard a.content.contains(old) else { throw KernelError.invalid("'old' text does not occur in \(id)'s content") }
            // Size the result before building it: 256 KiB of "a" with old "a" and a 200 KiB
            // `new` would be a 50 GB string, allocated before the limit below could refuse it.
            let growth = new.utf8.count - old.utf8.count
            if growth > 0 {
                let (extra, o1) = a.content.ranges(of: old).count.multipliedReportingOverflow(by: growth)
                let (size, o2) = a.content.utf8.count.addingReportingOverflow(extra)
                if o1 || o2 || size > config.limits.maxContentBytes {
                    throw KernelError.invalid("content would exceed \(config.limits.maxContentBytes) bytes")
                }
            }
            var spec = ArtifactSpec(from: a)
            spec.content = a.content.replacingOccurrences(of: old, with: new)
            if spec.content.utf8.count > config.limits.maxContentBytes {
                throw KernelError.invalid("content would exceed \(config.limits.maxContentBytes) bytes")
            }
            return try replace(db, a, with: spec, by: context).metadataJSON
        } }
    }

    /// Leaves a tombstone: content and code dropped, disk freed, the ID kept.
    func delete(_ id: String, _ context: CallContext) throws -> JSONValue {
        try deciding { decisions in try transaction(context, costMs: config.costs.writeMs) { db in
            var a = try liveArtifact(db, id)
            try authorize(db, .delete, on: a, by: context, decisions: decisions)
            if a.kind == "genesis" { throw KernelError.denied("genesis artifacts cannot be deleted") }
            try requireNotListed(db, a)
            if a.hasStanding {
                // A deleted principal can no longer act, so whatever it still owns or pays for
                // would be stored for ever with nobody able to free it.
                let held = try Int64.fetchOne(db.cachedStatement(sql: """
                    SELECT COUNT(*) FROM artifacts WHERE (owner_id = ?1 OR charged_to = ?1) AND id != ?1 AND deleted_at IS NULL
                    """), arguments: [id]) ?? 0
                if held > 0 {
                    throw KernelError.invalid("\(id) still owns or pays for \(held) live artifacts; delete or transfer them first")
                }
            }
            let freed = try tombstone(db, &a)
            try a.update(db)
            try events.append(db, "artifact_deleted", principal: context.caller,
                              ["artifact_id": .string(id), "freed_bytes": .int(freed), "charged_to": .string(a.chargedTo)])
            return .object(["artifact_id": .string(id), "deleted": .bool(true), "freed_bytes": .int(freed)])
        } }
    }

    // MARK: - Artifact creation and replacement

    func create(_ db: Database, id: String, spec: ArtifactSpec, by context: CallContext, kind: String? = nil) throws -> Artifact {
        if id.hasPrefix("genesis") && context.caller != Self.systemID {
            throw KernelError.invalid("IDs starting with 'genesis' are reserved for the world's own artifacts")
        }
        if let tomb = try Artifact.load(db, id) {
            // A tombstone keeps its ID until purged so that readers get DELETED, not a stranger's artifact.
            _ = tomb
            throw KernelError(.deleted, "artifact \(id) was deleted; its ID is reserved until the tombstone is purged")
        }
        try requireContractExists(db, spec.contract)
        guard try Principal.load(db, context.payer) != nil || context.caller == Self.systemID else {
            throw KernelError.denied("\(context.caller) has no standing to own artifacts")
        }
        let owner = context.caller == Self.systemID ? Self.systemID : context.payer
        if owner != Self.systemID {
            try GenesisAccounts.require(owner, mayHold: .artifacts, as: "owner of a new artifact")
            _ = try liveArtifact(db, owner)  // a deleted principal cannot act, so it could never free what it owned
        }
        if context.caller != context.payer && !Self.ownerControlledContracts.contains(spec.contract) {
            // Tool code acting for its invoker: the invoker will own and pay for what it makes,
            // so it must be able to delete it and the tool (or its author) must not be able to
            // rewrite it. Under these contracts only the owner (or the artifact itself) acts.
            throw KernelError.denied("tool code \(context.caller) creates \(id) for \(context.payer), who will own and pay for it: its contract must be one of \(Self.ownerControlledContracts.sorted().joined(separator: ", ")), not \(spec.contract)")
        }
        let now = clock.nowMicros()
        let resolvedKind = kind ?? spec.kind
        let a = Artifact(id: id, kind: resolvedKind, content: spec.content, code: spec.code, interface: spec.interface,
                         contract: spec.contract, standing: spec.standing, executable: spec.executable,
                         createdBy: context.caller, owner: owner, now: now, price: spec.price, metadata: spec.metadata)
        try adjustDisk(db, principal: a.chargedTo, delta: a.sizeBytes)
        try a.insert(db)
        if spec.standing {
            // New principals start with nothing: whoever spawned them funds them.
            let bucket = { (c: BucketConfig) in TokenBucket(ratePerSecond: 0, capacity: c.capacity, balance: 0, nowMicros: now) }
            try Principal(id: id, scrip: 0, llmBudget: 0, diskQuota: 0,
                          compute: bucket(config.resources.compute), llmRate: bucket(config.resources.llmRate)).insert(db)
        }
        try events.append(db, "artifact_written", principal: context.caller,
                          ["artifact_id": .string(id), "kind": .string(resolvedKind), "created": .bool(true),
                           "size_bytes": .int(a.sizeBytes), "version": .int(1),
                           "charged_to": .string(a.chargedTo), "disk_delta": .int(a.sizeBytes)])
        return a
    }

    func replace(_ db: Database, _ existing: Artifact, with spec: ArtifactSpec, by context: CallContext) throws -> Artifact {
        if spec.standing != existing.hasStanding {
            throw KernelError.invalid("standing of \(existing.id) cannot change after creation")
        }
        try requireNotListed(db, existing)
        if spec.contract != existing.accessContractID { try requireContractExists(db, spec.contract) }
        var a = existing
        a.content = spec.content; a.code = spec.code; a.interface = spec.interface
        a.canExecute = spec.executable; a.accessContractID = spec.contract; a.price = spec.price
        a.metadata = spec.metadata
        if a.kind != "agent" && a.kind != "genesis" { a.kind = spec.kind }
        a.sizeBytes = a.computedSize
        let growth = a.sizeBytes - existing.sizeBytes
        try requireMayGrow(existing, by: context, growth: growth, contractChange: spec.contract != existing.accessContractID)
        try adjustDisk(db, principal: a.chargedTo, delta: growth)
        a.updatedAt = clock.nowMicros(); a.version += 1
        try a.update(db)
        try events.append(db, "artifact_written", principal: context.caller,
                          ["artifact_id": .string(a.id), "kind": .string(a.kind), "created": .bool(false),
                           "size_bytes": .int(a.sizeBytes), "version": .int(a.version),
                           "charged_to": .string(a.chargedTo), "disk_delta": .int(growth)])
        return a
    }

    func requireContractExists(_ db: Database, _ contract: String) throws {
        if GenesisContract(rawValue: contract) != nil { return }
        guard let c = try Artifact.load(db, contract), !c.isDeleted else {
            throw KernelError.invalid("access contract \(contract) does not exist")
        }
        guard c.canExecute, c.code != nil else {
            throw KernelError.invalid("access contract \(contract) is not executable code with check_permission")
        }
    }

    /// The contracts under which only an artifact's owner (or the artifact itself) may
    /// write, edit, delete or transfer it: what tool code may give what it creates for its invoker.
    static let ownerControlledContracts: Set<String> = [GenesisContract.freeware.rawValue, GenesisContract.private.rawValue,
                                                        GenesisContract.selfOwned.rawValue]

    /// A listed artifact is frozen until the listing ends: deleting it would leave a stale
    /// listing, and rewriting it would change what a buyer pays for (and grow bytes the seller
    /// pays for through whoever the contract lets write).
    func requireNotListed(_ db: Database, _ a: Artifact) throws {
        guard a.ownerID == EscrowService.id,
              let listing = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM escrow_listings WHERE artifact_id = ? AND status = 'active'"), arguments: [a.id])
        else { return }
        throw KernelError.invalid("\(a.id) is listed in escrow (listing \(listing)); the seller may cancel the listing")
    }

    // Tombstones are purged by retention (`purgeTombstones`, Retention.swift).

    /// The identity that owns genesis artifacts; no agent can act as it.
    public static let systemID = "genesis"

    /// The system identity acts only inside the kernel (bootstrap, debt issue), never through
    /// an action or invoke: as it, `write` would create unmetered artifacts with reserved IDs
    /// (the operator's `ecology artifact put … --as genesis` did).
    static func requireNotSystem(_ context: CallContext) throws {
        if context.caller == systemID || context.payer == systemID {
            throw KernelError.denied("the system identity \(systemID) cannot act through kernel actions")
        }
    }
}
