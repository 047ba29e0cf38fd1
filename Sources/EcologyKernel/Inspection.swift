import EcologyCore
import GRDB

/// Read-only views for operators (`ecology inspect …`, `ecology export …`).
extension Kernel {
    /// `[{"id","scrip","compute","llm_budget","disk_used","disk_quota","frozen"}]`, llm_budget in dollars.
    public func balances() throws -> [JSONValue] {
        try readOnly { db in
            let now = clock.nowMicros()
            return try Row.fetchAll(db, sql: "SELECT \(Principal.columns) FROM principals ORDER BY id").map { row in
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

    /// Every event in order, in pages, for export.
    public func forEachEvent(pageSize: Int = 5000, _ body: (WorldEvent) throws -> Void) throws {
        var after: Int64 = 0
        while true {
            let page = try readOnly { db in try WorldEvent.fetch(db, afterSeq: after, limit: pageSize) }
            if page.isEmpty { return }
            for e in page { try body(e) }
            after = page.last!.seq
        }
    }

    public func eventCounts() throws -> [String: Int64] {
        try readOnly { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT type, COUNT(*) FROM events GROUP BY type").map { ($0[0] as String, $0[1] as Int64) })
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
