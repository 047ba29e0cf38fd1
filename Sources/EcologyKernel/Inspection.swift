import EcologyCore
import GRDB

/// Read-only views for operators (`ecology inspect …`, `ecology export …`).
extension Kernel {
    /// `[{"id","scrip","compute","llm_budget","disk_used","disk_quota","frozen"}]`, llm_budget in dollars.
    public func balances() throws -> [JSONValue] {
        try balances(sql: "SELECT \(Principal.columns) FROM principals ORDER BY id", arguments: [])
    }

    /// The same rows for some principals only (unknown ids are left out).
    public func balances(of ids: [String]) throws -> [JSONValue] {
        guard !ids.isEmpty else { return [] }
        return try balances(sql: "SELECT \(Principal.columns) FROM principals WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ","))) ORDER BY id",
                            arguments: StatementArguments(ids))
    }

    private func balances(sql: String, arguments: StatementArguments) throws -> [JSONValue] {
        try readOnly { db in
            let now = clock.nowMicros()
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let p = Principal(row: row)
                return .object(["id": .string(p.id), "scrip": .int(p.scrip), "compute": .int(p.compute.balance(atMicros: now)),
                                "llm_budget": .number(Double(p.llmBudget) / 1_000_000), "disk_used": .int(p.diskUsed),
                                "disk_quota": .int(p.diskQuota), "frozen": .bool(p.compute.isInDebt(atMicros: now))])
            }
        }
    }

    public func artifacts(includeDeleted: Bool = false, limit: Int = 1000) throws -> [JSONValue] {
        try readOnly { db in
            try Row.fetchAll(db, sql: "SELECT \(Artifact.columns) FROM artifacts \(includeDeleted ? "" : "WHERE deleted_at IS NULL") ORDER BY id LIMIT ?",
                             arguments: [limit]).map { Artifact(row: $0).metadataJSON }
        }
    }

    /// The most recent `limit` events (oldest first), optionally of one type.
    public func recentEvents(limit: Int, type: String? = nil) throws -> [WorldEvent] {
        try readOnly { db in try WorldEvent.fetch(db, limit: limit, type: type, newestFirst: true).reversed() }
    }

    /// Events per type in the database (archived events are not counted; see `eventArchive`).
    public func eventCounts() throws -> [String: Int64] {
        try readOnly { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db.cachedStatement(sql: "SELECT type, COUNT(*) FROM events GROUP BY type")).map { ($0[0] as String, $0[1] as Int64) })
        }
    }

    /// Live agents with their supervision state and action counts.
    public func agents() throws -> [JSONValue] {
        try readOnly { db in
            let now = clock.nowMicros()
            return try Row.fetchAll(db, sql: """
                SELECT a.id, a.content, a.owner_id, s.status, s.restarts, s.parked, s.paused, s.actions
                FROM artifacts a LEFT JOIN agent_state s ON s.id = a.id
                WHERE a.has_standing = 1 AND a.can_execute = 1 AND a.deleted_at IS NULL AND a.kind = 'agent' ORDER BY a.id
                """).map { r in
                    let cfg = (try? JSONCodec.decode(r[1] as String)) ?? .null
                    let p = try Principal.load(db, r[0])
                    return .object(["id": .string(r[0]), "mind": cfg["mind"] ?? .null, "owner_id": .string(r[2]),
                                    "status": .string((r[3] as String?) ?? "never started"), "restarts": .int((r[4] as Int64?) ?? 0),
                                    "parked": .bool((r[5] as Bool?) ?? false), "paused": .bool((r[6] as Bool?) ?? false),
                                    "actions": .int((r[7] as Int64?) ?? 0), "scrip": .int(p?.scrip ?? 0),
                                    "compute": .int(p?.compute.balance(atMicros: now) ?? 0),
                                    "frozen": .bool(p?.compute.isInDebt(atMicros: now) ?? false)])
                }
        }
    }

    public func escrowListings(activeOnly: Bool) throws -> [JSONValue] {
        try readOnly { db in
            try Row.fetchAll(db, sql: "SELECT id, artifact_id, seller, price, status, buyer, created_at FROM escrow_listings \(activeOnly ? "WHERE status='active'" : "") ORDER BY id")
                .map(EscrowService.json)
        }
    }

    public func mintStatus() throws -> JSONValue {
        try invokeGenesis(services[MintService.id]!, method: "status", args: [], context: .principal(Self.systemID))
    }
}

/// Supervision records: agent state and per-agent traces.
extension Kernel {
    public func recordTrace(agent: String, kind: String, _ data: JSONValue) throws {
        // The kind is raw text (it comes from the agent's frame); the data is JSON, NUL escaped.
        try StoredText.require(agent, field: "trace agent")
        try StoredText.require(kind, field: "trace kind")
        try database.writeTransaction { db in
            let s = try db.fastStatement("INSERT INTO traces (agent, time, kind, data) VALUES (?,?,?,?)")
            s.bind(1, agent); s.bind(2, clock.nowMicros()); s.bind(3, kind); s.bind(4, JSONCodec.string(data))
            try s.run()
        }
    }

    public func traces(agent: String, limit: Int) throws -> [JSONValue] {
        try readOnly { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT seq, time, kind, data FROM traces WHERE agent = ? ORDER BY seq DESC LIMIT ?"),
                             arguments: [agent, limit]).reversed().map {
                .object(["seq": .int($0[0]), "time": .number(seconds($0[1])), "kind": .string($0[2]),
                         "data": (try? JSONCodec.decode($0[3] as String)) ?? .null])
            }
        }
    }

    /// Upserts an agent's supervision state; `actionsDelta` adds to its action count.
    public func updateAgentState(_ id: String, status: String, restarts: Int? = nil, parked: Bool? = nil, actionsDelta: Int64 = 0) throws {
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO agent_state (id, status, restarts, parked, actions, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET status = excluded.status,
                    restarts = COALESCE(?, restarts), parked = COALESCE(?, parked),
                    actions = actions + ?, updated_at = excluded.updated_at
                """, arguments: [id, status, restarts ?? 0, parked ?? false, actionsDelta, clock.nowMicros(),
                                 restarts, parked, actionsDelta])
        }
    }

    /// Live agents to supervise: id, config (the artifact's content), version, and whether funded.
    public func supervisedAgents() throws -> [(id: String, config: JSONValue, version: Int64, funded: Bool, paused: Bool, parked: Bool)] {
        try readOnly { db in
            let now = clock.nowMicros()
            return try Row.fetchAll(db, sql: """
                SELECT a.id, a.content, a.version, COALESCE(s.paused, 0), COALESCE(s.parked, 0) FROM artifacts a JOIN principals p ON p.id = a.id
                LEFT JOIN agent_state s ON s.id = a.id WHERE a.kind = 'agent' AND a.has_standing = 1 AND a.can_execute = 1 AND a.deleted_at IS NULL ORDER BY a.id
                """).map { r in
                    let p = try Principal.load(db, r[0])
                    let funded = p.map { $0.compute.ratePerSecond > 0 || $0.compute.balance(atMicros: now) > 0 } ?? false
                    return (r[0], (try? JSONCodec.decode(r[1] as String)) ?? .object([:]), r[2], funded, r[3], r[4])
                }
        }
    }

    /// Events after `seq`, for the supervisor's wake-up watcher.
    public func events(after seq: Int64, limit: Int) throws -> [WorldEvent] {
        try readOnly { db in try WorldEvent.fetch(db, afterSeq: seq, limit: limit, cache: eventCache) }
    }

    public func lastEventSeq() throws -> Int64 {
        try readOnly { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM events")) ?? 0 }
    }

    public func totalScrip() throws -> Int64 {
        try readOnly { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(SUM(scrip), 0) FROM principals")) ?? 0 }
    }
}

extension Kernel {
    public func artifactCount(owner: String) throws -> Int64 {
        try readOnly { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM artifacts WHERE owner_id = ? AND deleted_at IS NULL"), arguments: [owner]) ?? 0 }
    }
}

extension Kernel {
    /// Operator controls: pause (the supervisor stops the agent's child and does not
    /// start it), resume, and unpark (clear a parked agent so it may start again).
    public func setAgentControl(_ id: String, pause: Bool? = nil, unpark: Bool = false) throws {
        try database.write { db in
            guard let a = try Artifact.load(db, id), a.kind == "agent", !a.isDeleted else { throw KernelError.notFound("agent \(id)") }
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO agent_state (id, status, updated_at) VALUES (?, 'stopped', ?)").execute(arguments: [id, clock.nowMicros()])
            if let pause {
                try db.cachedStatement(sql: "UPDATE agent_state SET paused = ? WHERE id = ?").execute(arguments: [pause, id])
                try events.append(db, pause ? "agent_paused" : "agent_resumed", principal: id, ["by": "operator"])
            }
            if unpark {
                try db.cachedStatement(sql: "UPDATE agent_state SET parked = 0, restarts = 0 WHERE id = ?").execute(arguments: [id])
                try events.append(db, "agent_unparked", principal: id, ["by": "operator"])
            }
        }
    }
}
