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
            v += try genesisAccountViolations(db, mintLLMGrant: try String.fetchOne(db, sql: "SELECT value FROM world_meta WHERE key='genesis_mint_llm_grant'").flatMap { Int64($0) })
            let (diskViolations, diskNotes) = try storageChargeViolations(db)
            v += diskViolations; notes += diskNotes
            let tombstoneBytes = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM artifacts WHERE deleted_at IS NOT NULL AND (size_bytes != 0 OR content != '' OR code IS NOT NULL OR interface IS NOT NULL OR metadata != '{}')") ?? 0
            if tombstoneBytes > 0 { v.append("\(tombstoneBytes) tombstones still hold content") }
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

    /// Class 2: each genesis account holds exactly what its role (`GenesisAccounts.roles`) accounts
    /// for, and no genesis account is a party (bidder, seller, creditor, debtor, owner) anywhere else.
    func genesisAccountViolations(_ db: Database, mintLLMGrant: Int64?) throws -> [String] {
        var v: [String] = []
        let genesisPrincipals = try Row.fetchAll(db, sql: """
            SELECT id, scrip, llm_budget, disk_used, disk_quota FROM principals WHERE id GLOB 'genesis*' ORDER BY id
            """)
        for r in genesisPrincipals {
            let id: String = r[0], scrip: Int64 = r[1], llm: Int64 = r[2], quota: Int64 = r[4]
            if GenesisAccounts.roles[id] == nil {
                if scrip != 0 || llm != 0 { v.append("genesis account \(id) has no role but holds \(scrip) scrip and \(llm) llm_budget") }
            }
            if id == EscrowService.id && llm != 0 { v.append("genesis account \(id) holds \(llm) llm_budget; its role holds none") }
            if id == MintService.id, let grant = mintLLMGrant, llm > grant {
                v.append("genesis account \(id) holds \(llm) llm_budget, more than the \(grant) it was granted for scoring (it is never credited)")
            }
            if quota != Kernel.genesisDiskQuota { v.append("genesis account \(id) has disk quota \(quota); quotas of genesis accounts never change") }
        }
        // Artifacts: the escrow owns exactly its active listings, the system its own kinds, nobody else anything.
        let owned = try Row.fetchAll(db, sql: """
            SELECT a.id, a.owner_id, a.kind,
                   EXISTS (SELECT 1 FROM escrow_listings l WHERE l.artifact_id = a.id AND l.status = 'active'),
                   EXISTS (SELECT 1 FROM principals p WHERE p.id = a.owner_id)
            FROM artifacts a WHERE a.deleted_at IS NULL AND (a.owner_id GLOB 'genesis*' OR a.owner_id NOT IN (SELECT id FROM principals))
            ORDER BY a.id
            """)
        for r in owned {
            let id: String = r[0], owner: String = r[1], kind: String = r[2], listed: Bool = r[3], ownerIsPrincipal: Bool = r[4]
            switch owner {
            case EscrowService.id where listed: continue
            case Kernel.systemID where kind == "genesis" || kind == "handbook": continue
            case EscrowService.id: v.append("genesis account \(owner) owns \(id) without an active listing")
            case Kernel.systemID: v.append("the system owns \(id) of kind \(kind); it owns only genesis services and handbook pages")
            default:
                v.append(GenesisAccounts.isGenesis(owner) ? "genesis account \(owner) owns \(id); its role owns no artifacts"
                                                          : "\(id) is owned by \(owner), which is \(ownerIsPrincipal ? "" : "not ")a principal")
            }
        }
        let listings = try Row.fetchAll(db, sql: "SELECT l.id, a.owner_id, l.seller FROM escrow_listings l JOIN artifacts a ON a.id = l.artifact_id WHERE l.status='active'")
        for r in listings {
            if (r[1] as String) != EscrowService.id { v.append("escrow listing \(r[0] as Int64) is active but its artifact is owned by \(r[1] as String)") }
            if GenesisAccounts.isGenesis(r[2]) { v.append("escrow listing \(r[0] as Int64) has genesis account \(r[2] as String) as its seller") }
        }
        let bids = try Row.fetchAll(db, sql: "SELECT id, bidder FROM mint_bids WHERE status = 'active' AND bidder GLOB 'genesis*'")
        for r in bids { v.append("mint bid \(r[0] as Int64) is held for genesis account \(r[1] as String)") }
        let debts = try Row.fetchAll(db, sql: """
            SELECT id, debtor, original_creditor FROM debts
            WHERE status IN ('requested','active') AND (debtor GLOB 'genesis*' OR original_creditor GLOB 'genesis*')
            """)
        for r in debts { v.append("debt \(r[0] as String) names a genesis account as a party: debtor \(r[1] as String), creditor \(r[2] as String)") }
        return v
    }

    /// Class 3: every live byte is on the `disk_used` of the principal the billing rule names
    /// (`billingPrincipal`, restated here in SQL as an independent check), never on a genesis account.
    func storageChargeViolations(_ db: Database) throws -> ([String], [String]) {
        var v: [String] = [], notes: [String] = []
        let disk = try Row.fetchAll(db, sql: """
            SELECT p.id, p.disk_used, COALESCE((SELECT SUM(size_bytes) FROM artifacts a WHERE a.charged_to = p.id AND a.deleted_at IS NULL), 0)
            FROM principals p
            """)
        for r in disk where (r[1] as Int64) != (r[2] as Int64) {
            v.append("disk: \(r[0] as String) is charged \(r[1] as Int64) bytes but the live artifacts charged to it hold \(r[2] as Int64)")
        }
        let misbilled = try Row.fetchAll(db, sql: """
            SELECT id, charged_to, expected FROM (
              SELECT a.id, a.charged_to, CASE WHEN a.owner_id = 'genesis' THEN 'genesis' ELSE COALESCE(
                (SELECT d.debtor FROM debts d WHERE d.id = a.id AND d.status = 'requested' AND a.kind = 'debt'),
                (SELECT l.seller FROM escrow_listings l WHERE l.artifact_id = a.id AND l.status = 'active' AND a.owner_id = 'genesis_escrow'),
                a.owner_id) END AS expected
              FROM artifacts a WHERE a.deleted_at IS NULL)
            WHERE charged_to != expected ORDER BY id
            """)
        for r in misbilled { v.append("disk: \(r[0] as String) is charged to \(r[1] as String) but its bytes belong to \(r[2] as String)") }
        let toGenesis = try Row.fetchAll(db, sql: """
            SELECT id, charged_to FROM artifacts WHERE deleted_at IS NULL AND charged_to GLOB 'genesis*' AND charged_to != 'genesis' ORDER BY id
            """)
        for r in toGenesis { v.append("disk: \(r[0] as String) is charged to genesis account \(r[1] as String), which pays for no storage") }
        let overQuota = try Row.fetchAll(db, sql: """
            SELECT p.id, p.disk_used, p.disk_quota, m.value FROM principals p
            LEFT JOIN world_meta m ON m.key = 'disk_over_quota_at_v4:' || p.id WHERE p.disk_used > p.disk_quota
            """)
        for r in overQuota {
            let used: Int64 = r[1], quota: Int64 = r[2]
            if let atUpgrade = (r[3] as String?).flatMap({ Int64($0) }), used <= atUpgrade {
                notes.append("disk: \(r[0] as String) uses \(used) > quota \(quota), charged so by the v4 upgrade (listed bytes moved back to their seller); it can only shrink")
            } else {
                v.append("disk: \(r[0] as String) uses \(used) > quota \(quota)")
            }
        }
        return (v, notes)
    }
}
