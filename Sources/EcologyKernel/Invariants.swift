import EcologyCore
import GRDB

/// The ledger's invariants, checked by tests after every scenario step, by
/// `ecology inspect invariants`, and at the end of every run.
public struct InvariantReport: Sendable {
    /// Broken invariants: any entry here is a bug.
    public var violations: [String]
    /// Cases that are legal but worth reporting (e.g. an artifact whose contract was deleted).
    public var notes: [String]
    public var figures: [String: Int64]
    public var ok: Bool { violations.isEmpty }

    public var json: JSONValue {
        .object(["ok": .bool(ok), "violations": .array(violations.map(JSONValue.string)),
                 "notes": .array(notes.map(JSONValue.string)), "figures": .object(figures.mapValues(JSONValue.int))])
    }
}

extension Kernel {
    public func checkInvariants() throws -> InvariantReport {
        try database.read { db in
            var v: [String] = [], notes: [String] = []
            func meta(_ k: String) throws -> Int64 { Int64(try String.fetchOne(db, sql: "SELECT value FROM world_meta WHERE key=?", arguments: [k]) ?? "0") ?? 0 }
            let initial = try meta("initial_scrip"), minted = try meta("minted_scrip")
            let total = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(scrip),0) FROM principals") ?? 0
            let held = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(amount),0) FROM mint_bids WHERE status='active'") ?? 0
            let mintBalance = try Int64.fetchOne(db, sql: "SELECT scrip FROM principals WHERE id=?", arguments: [MintService.id]) ?? 0
            let escrowBalance = try Int64.fetchOne(db, sql: "SELECT scrip FROM principals WHERE id=?", arguments: [EscrowService.id]) ?? 0
            // Conservation: everything ever issued is in some balance; held bids sit in the mint's account.
            if initial + minted != total {
                v.append("scrip conservation: initial \(initial) + minted \(minted) = \(initial + minted), but balances (incl. held bids) sum to \(total)")
            }
            if mintBalance != held { v.append("held bids: the mint holds \(mintBalance) scrip but active bids total \(held)") }
            if escrowBalance != 0 { v.append("escrow holds \(escrowBalance) scrip; it should hold artifacts only") }
            let negatives = try Row.fetchAll(db, sql: "SELECT id, scrip, llm_budget FROM principals WHERE scrip < 0 OR llm_budget < 0")
            for r in negatives { v.append("negative balance: \(r[0] as String) scrip \(r[1] as Int64) llm_budget \(r[2] as Int64)") }
            let disk = try Row.fetchAll(db, sql: """
                SELECT p.id, p.disk_used, COALESCE((SELECT SUM(size_bytes) FROM artifacts a WHERE a.owner_id = p.id AND a.deleted_at IS NULL), 0)
                FROM principals p
                """)
            for r in disk where (r[1] as Int64) != (r[2] as Int64) && (r[0] as String) != MintService.id {
                v.append("disk: \(r[0] as String) is charged \(r[1] as Int64) bytes but owns \(r[2] as Int64) live bytes")
            }
            let overQuota = try Row.fetchAll(db, sql: "SELECT id, disk_used, disk_quota FROM principals WHERE disk_used > disk_quota")
            for r in overQuota { v.append("disk: \(r[0] as String) uses \(r[1] as Int64) > quota \(r[2] as Int64)") }
            let tombstoneBytes = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM artifacts WHERE deleted_at IS NOT NULL AND (size_bytes != 0 OR content != '' OR code IS NOT NULL)") ?? 0
            if tombstoneBytes > 0 { v.append("\(tombstoneBytes) tombstones still hold content") }
            let listed = try Row.fetchAll(db, sql: "SELECT l.id, a.owner_id FROM escrow_listings l JOIN artifacts a ON a.id = l.artifact_id WHERE l.status='active'")
            for r in listed where (r[1] as String) != EscrowService.id { v.append("escrow listing \(r[0] as Int64) is active but its artifact is owned by \(r[1] as String)") }
            let contracts = try Row.fetchAll(db, sql: """
                SELECT a.id, a.access_contract_id FROM artifacts a WHERE a.deleted_at IS NULL AND a.access_contract_id NOT LIKE 'genesis\\_%' ESCAPE '\\'
                AND NOT EXISTS (SELECT 1 FROM artifacts c WHERE c.id = a.access_contract_id AND c.deleted_at IS NULL)
                """)
            for r in contracts { notes.append("artifact \(r[0] as String) names contract \(r[1] as String), which is missing or deleted (writes fail closed)") }
            let roundsMinted = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(json_extract(data,'$.minted')),0) FROM mint_rounds") ?? 0
            if roundsMinted != minted { v.append("mint rounds record \(roundsMinted) minted but the ledger records \(minted)") }
            let principals = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM principals") ?? 0
            return InvariantReport(violations: v, notes: notes, figures: [
                "initial_scrip": initial, "minted_scrip": minted, "total_scrip": total, "held_bids": held, "principals": principals,
            ])
        }
    }
}
