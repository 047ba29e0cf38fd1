import EcologyCore
import GRDB

extension Kernel {
    /// Creates the world if needed: genesis services, accounts, handbook, and the
    /// configured agents. Idempotent: running it again only adds what is missing
    /// (e.g. agents added to the config), recording their starting scrip.
    /// Returns the IDs of agents it created.
    @discardableResult
    public func bootstrap(agents: [AgentSpec]? = nil) throws -> [String] {
        try database.write { db in
            let now = clock.nowMicros()
            let system = CallContext(caller: Self.systemID, payer: Self.systemID)
            if try String.fetchOne(db, sql: "SELECT value FROM world_meta WHERE key='epoch'") == nil {
                try db.execute(sql: "INSERT INTO world_meta (key, value) VALUES ('epoch', ?), ('initial_scrip', '0'), ('minted_scrip', '0')",
                               arguments: [String(now)])
                try db.execute(sql: "INSERT INTO world_meta (key, value) VALUES ('mint_next_resolution', ?)",
                               arguments: [String(MintAuction.nextResolution(afterMicros: now, epochMicros: now, periodSeconds: config.mint.periodSeconds))])
            }
            for service in services.values.sorted(by: { type(of: $0).id < type(of: $1).id }) {
                let id = type(of: service).id
                if try Artifact.load(db, id) != nil { continue }
                // The mint holds bids and the escrow holds listed artifacts, so both have standing.
                let standing = id == MintService.id || id == EscrowService.id
                var a = Artifact(id: id, kind: "genesis", content: service.summary, code: nil, interface: service.interface,
                                 contract: GenesisContract.freeware.rawValue, standing: standing, executable: true,
                                 createdBy: Self.systemID, owner: Self.systemID, now: now)
                a.sizeBytes = a.computedSize
                try a.insert(db)
                if standing {
                    let bucket = TokenBucket(ratePerSecond: 0, capacity: 0, balance: 0, nowMicros: now)
                    // The mint pays for LLM scoring (mint.scorer: llm) from its own budget.
                    let r = config.resources
                    let scoring = id == MintService.id
                    let llmRate = scoring ? TokenBucket(ratePerSecond: r.llmRate.ratePerSecond, capacity: r.llmRate.capacity,
                                                        balance: r.llmRate.initial, nowMicros: now) : bucket
                    let compute = TokenBucket(ratePerSecond: r.compute.ratePerSecond, capacity: r.compute.capacity,
                                              balance: r.compute.initial, nowMicros: now)
                    // Never charged for storage (`GenesisAccounts`): the quota only keeps the schema's CHECKs simple.
                    try Principal(id: id, scrip: 0, llmBudget: scoring ? r.llmBudgetMicrodollars : 0, diskQuota: Self.genesisDiskQuota,
                                  compute: compute, llmRate: llmRate).insert(db)
                    if scoring {
                        // What the mint may ever hold: scoring only spends it (the invariants check it).
                        try db.execute(sql: "INSERT OR REPLACE INTO world_meta (key, value) VALUES ('genesis_mint_llm_grant', ?)",
                                       arguments: [String(r.llmBudgetMicrodollars)])
                    }
                }
                var written: [String: JSONValue] = ["artifact_id": .string(id), "kind": "genesis", "created": true]
                if standing, let p = try Principal.load(db, id) {
                    // What it was granted, for its statement (`Kernel.statement`).
                    written["compute_ms"] = .int(p.compute.balance(atMicros: now))
                    written["llm_microdollars"] = .int(p.llmBudget)
                    written["disk_quota_bytes"] = .int(p.diskQuota)
                }
                try events.append(db, "artifact_written", principal: Self.systemID, .object(written))
            }
            for page in Handbook.pages(services: services.values.map { $0 }, config: config) where try Artifact.load(db, page.id) == nil {
                let spec = try ArtifactSpec(args: Args(["content": .string(page.text), "kind": "data"]), limits: LimitConfig.unbounded)
                _ = try create(db, id: page.id, spec: spec, by: system, kind: "handbook")
            }
            var created: [String] = []
            for spec in agents ?? config.agents where try Artifact.load(db, spec.id) == nil {
                try createAgent(db, spec, now: now)
                created.append(spec.id)
            }
            return created
        }
    }

    /// A configured agent: its artifact holds its mind config; it owns itself. Agents are
    /// run by the supervisor, not invoked, so they need no interface.
    func createAgent(_ db: Database, _ spec: AgentSpec, now: Int64) throws {
        let id = try ArtifactID.validate(spec.id)
        // The prefix marks the world's own accounts (`GenesisAccounts`), which hold nothing outside their role.
        if GenesisAccounts.isGenesis(id) { throw KernelError.invalid("agent ID \(id) uses the reserved prefix 'genesis'") }
        let content = JSONValue.object(["mind": .string(spec.mind), "prompt": .string(spec.prompt)])
        var a = Artifact(id: id, kind: "agent", content: JSONCodec.string(content), code: nil, interface: nil,
                         contract: GenesisContract.selfOwned.rawValue, standing: true, executable: true,
                         createdBy: Self.systemID, owner: id, now: now)
        a.sizeBytes = a.computedSize
        try a.insert(db)
        let r = config.resources
        var p = Principal(id: id, scrip: spec.scrip, llmBudget: r.llmBudgetMicrodollars, diskQuota: r.diskQuotaBytes,
                          compute: TokenBucket(ratePerSecond: r.compute.ratePerSecond, capacity: r.compute.capacity, balance: r.compute.initial, nowMicros: now),
                          llmRate: TokenBucket(ratePerSecond: r.llmRate.ratePerSecond, capacity: r.llmRate.capacity, balance: r.llmRate.initial, nowMicros: now))
        p.diskUsed = a.sizeBytes
        try p.insert(db)
        try recordEndowment(db, p, initialCompute: r.compute.initial, now: now)
        try db.execute(sql: "UPDATE world_meta SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) WHERE key = 'initial_scrip'",
                       arguments: [spec.scrip])
        try events.append(db, "artifact_written", principal: Self.systemID,
                          ["artifact_id": .string(id), "kind": "agent", "created": true, "scrip": .int(spec.scrip),
                           "compute_ms": .int(r.compute.initial), "llm_microdollars": .int(p.llmBudget),
                           "disk_quota_bytes": .int(p.diskQuota), "disk_bytes": .int(p.diskUsed)])
    }
}

extension Kernel {
    /// The disk quota of `genesis_mint` and `genesis_escrow`, fixed at bootstrap.
    static let genesisDiskQuota = Int64.max / 4
}

extension LimitConfig {
    /// For text the kernel writes itself (handbook pages).
    static var unbounded: LimitConfig {
        var l = LimitConfig(); l.maxContentBytes = .max; l.maxCodeBytes = .max; return l
    }
}
