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
public final class Kernel: @unchecked Sendable {
    public let database: WorldDatabase
    public let config: WorldConfig
    public let clock: any WorldClock
    public let executor: any ArtifactExecutor
    public let scorer: any MintScorer
    let events: EventLog
    /// Decoded event data shared by observe, event_log.read and the supervisor's wake-ups.
    let eventCache = EventDataCache()
    let permissionCache: PermissionCache
    let services: [String: any GenesisService]

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

    /// Performs one action and always answers with an envelope; no error escapes.
    public func handle(action: String, params: JSONValue, context: CallContext) -> Envelope {
        do {
            guard case .object(let p) = params else {
                throw KernelError.invalid("params must be a JSON object, got \(params.typeName)")
            }
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

    static func internalError(_ error: Error) -> KernelError {
        if let e = error as? KernelError { return e }
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
    /// rolls back.
    func transaction<T>(_ context: CallContext, costMs: Int64 = 0, _ body: (Database) throws -> T) throws -> T {
        do {
            return try database.writeTransaction { db in
                try chargeActionCost(db, payer: context.payer, kernelMs: costMs)
                return try body(db)
            }
        } catch let e as KernelError { throw e } catch { throw Self.internalError(error) }
    }

    func readOnly<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.readTransaction(body) } catch let e as KernelError { throw e } catch { throw Self.internalError(error) }
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
        try transaction(context, costMs: config.costs.readMs) { db in
            let a = try liveArtifact(db, id)
            try authorize(db, .read, on: a, requester: context.caller)
            return a.json
        }
    }

    /// Creates an artifact or replaces an existing one's content/code/interface.
    func write(_ args: Args, _ context: CallContext) throws -> JSONValue {
        let id = try args.id("artifact_id")
        _ = try ArtifactSpec(args: args, limits: config.limits)  // reject bad input before touching the database
        return try transaction(context, costMs: config.costs.writeMs) { db in
            if let existing = try Artifact.load(db, id), !existing.isDeleted {
                try authorize(db, .write, on: existing, requester: context.caller)
                let spec = try ArtifactSpec(args: args, limits: config.limits, base: existing)
                return try replace(db, existing, with: spec, by: context).metadataJSON
            }
            return try create(db, id: id, spec: try ArtifactSpec(args: args, limits: config.limits), by: context).metadataJSON
        }
    }

    func edit(_ args: Args, _ context: CallContext) throws -> JSONValue {
        let id = try args.id("artifact_id")
        let old = try args.string("old")
        let new = try args.string("new")
        if old.isEmpty { throw KernelError.invalid("'old' must not be empty") }
        return try transaction(context, costMs: config.costs.writeMs) { db in
            let a = try liveArtifact(db, id)
            try authorize(db, .edit, on: a, requester: context.caller)
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
        }
    }

    /// Leaves a tombstone: content and code dropped, disk freed, the ID kept.
    func delete(_ id: String, _ context: CallContext) throws -> JSONValue {
        try transaction(context, costMs: config.costs.writeMs) { db in
            var a = try liveArtifact(db, id)
            try authorize(db, .delete, on: a, requester: context.caller)
            if a.kind == "genesis" { throw KernelError.denied("genesis artifacts cannot be deleted") }
            if let listing = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM escrow_listings WHERE artifact_id = ? AND status = 'active'"), arguments: [id]) {
                throw KernelError.invalid("\(id) is listed in escrow (listing \(listing)); the seller may cancel the listing")
            }
            let freed = a.sizeBytes
            try adjustDisk(db, owner: a.ownerID, delta: -freed)
            let now = clock.nowMicros()
            a.content = ""; a.code = nil; a.interface = nil; a.sizeBytes = 0
            a.deletedAt = now; a.updatedAt = now; a.version += 1
            try a.update(db)
            try events.append(db, "artifact_deleted", principal: context.caller,
                              ["artifact_id": .string(id), "freed_bytes": .int(freed)])
            return .object(["artifact_id": .string(id), "deleted": .bool(true), "freed_bytes": .int(freed)])
        }
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
        let now = clock.nowMicros()
        let resolvedKind = kind ?? spec.kind
        let a = Artifact(id: id, kind: resolvedKind, content: spec.content, code: spec.code, interface: spec.interface,
                         contract: spec.contract, standing: spec.standing, executable: spec.executable,
                         createdBy: context.caller, owner: owner, now: now, price: spec.price, metadata: spec.metadata)
        if owner != Self.systemID { try adjustDisk(db, owner: owner, delta: a.sizeBytes) }
        try a.insert(db)
        if spec.standing {
            // New principals start with nothing: whoever spawned them funds them.
            let bucket = { (c: BucketConfig) in TokenBucket(ratePerSecond: 0, capacity: c.capacity, balance: 0, nowMicros: now) }
            try Principal(id: id, scrip: 0, llmBudget: 0, diskQuota: 0,
                          compute: bucket(config.resources.compute), llmRate: bucket(config.resources.llmRate)).insert(db)
        }
        try events.append(db, "artifact_written", principal: context.caller,
                          ["artifact_id": .string(id), "kind": .string(resolvedKind), "created": .bool(true),
                           "size_bytes": .int(a.sizeBytes), "version": .int(1)])
        return a
    }

    func replace(_ db: Database, _ existing: Artifact, with spec: ArtifactSpec, by context: CallContext) throws -> Artifact {
        if spec.standing != existing.hasStanding {
            throw KernelError.invalid("standing of \(existing.id) cannot change after creation")
        }
        if spec.contract != existing.accessContractID { try requireContractExists(db, spec.contract) }
        var a = existing
        a.content = spec.content; a.code = spec.code; a.interface = spec.interface
        a.canExecute = spec.executable; a.accessContractID = spec.contract; a.price = spec.price
        a.metadata = spec.metadata
        if a.kind != "agent" && a.kind != "genesis" { a.kind = spec.kind }
        a.sizeBytes = a.computedSize
        try adjustDisk(db, owner: a.ownerID, delta: a.sizeBytes - existing.sizeBytes)
        a.updatedAt = clock.nowMicros(); a.version += 1
        try a.update(db)
        try events.append(db, "artifact_written", principal: context.caller,
                          ["artifact_id": .string(a.id), "kind": .string(a.kind), "created": .bool(false),
                           "size_bytes": .int(a.sizeBytes), "version": .int(a.version)])
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

    /// Consumes (positive delta) or frees disk quota of an owner. Owners without a
    /// principal row (the system) are not metered.
    func adjustDisk(_ db: Database, owner: String, delta: Int64) throws {
        guard delta != 0, var p = try Principal.load(db, owner) else { return }
        if delta > 0 && p.diskUsed + delta > p.diskQuota {
            throw KernelError(.quotaExceeded, "\(owner) would use \(p.diskUsed + delta) of \(p.diskQuota) disk bytes",
                              details: ["disk_used": .int(p.diskUsed), "disk_quota": .int(p.diskQuota), "needed": .int(delta)])
        }
        p.diskUsed = max(0, p.diskUsed + delta)
        try p.save(db)
    }

    /// Removes tombstones older than the retention period. Returns how many were purged.
    @discardableResult
    public func purgeTombstones() throws -> Int {
        try database.write { db in
            let cutoff = clock.nowMicros().saturatingSubtract(config.world.tombstoneRetentionSeconds.saturatingMultiply(1_000_000))
            try db.execute(sql: """
                DELETE FROM artifacts WHERE deleted_at IS NOT NULL AND deleted_at < ?
                AND id NOT IN (SELECT id FROM principals) AND id NOT IN (SELECT id FROM debts)
                """, arguments: [cutoff])
            return db.changesCount
        }
    }

    /// The identity that owns genesis artifacts; no agent can act as it.
    public static let systemID = "genesis"
}
