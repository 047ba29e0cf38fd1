import EcologyCore
import GRDB

/// What one adversary gained, per resource, against the baseline of an idle agent with
/// the same starting endowment (docs/MINDS.md, "Net gain"). Positive is a finding.
public struct NetGain: Sendable, Equatable {
    public var scrip: Int64 = 0
    public var computeMs: Int64 = 0
    public var diskBytes: Int64 = 0
    public var llmMicrodollars: Int64 = 0

    public var isPositive: Bool { scrip > 0 || computeMs > 0 || diskBytes > 0 || llmMicrodollars > 0 }

    public var json: JSONValue {
        .object(["scrip": .int(scrip), "compute_ms": .int(computeMs), "disk_bytes": .int(diskBytes),
                 "llm_microdollars": .int(llmMicrodollars)])
    }
}

/// One adversary's record: the kernel actions it (and what it controls) attempted, their
/// result codes as the kernel answered them, and its net gain.
public struct AdversaryThreat: Sendable, Equatable {
    /// The configured agent with an `adversary:KIND` mind.
    public let adversary: String
    public let kind: String
    /// Kernel actions attributed to it (`Kernel.attributedPrincipal`), successes included.
    public let attempts: Int64
    /// Error code → how many of its actions the kernel refused with it.
    public let codes: [String: Int64]
    public let netGain: NetGain
    /// The adversary and the principals it spawned or owns (recursively): its holdings.
    public let controlled: [String]

    /// The object `ecology inspect threats --json` lists: exactly these five keys.
    public var json: JSONValue {
        .object(["adversary": .string(adversary), "kind": .string(kind), "attempts": .int(attempts),
                 "codes": .object(codes.mapValues(JSONValue.int)), "net_gain": netGain.json])
    }

    /// A sentence for the run summary when the adversary gained something.
    public var finding: String? {
        guard netGain.isPositive else { return nil }
        let parts = [("scrip", netGain.scrip), ("compute_ms", netGain.computeMs), ("disk_bytes", netGain.diskBytes),
                     ("llm_microdollars", netGain.llmMicrodollars)].filter { $0.1 > 0 }.map { "\($0.0) +\($0.1)" }
        return "FINDING: \(adversary) (\(kind)) gained \(parts.joined(separator: ", ")) over an idle agent's baseline"
    }
}

/// An agent's starting resources, recorded when it is created (`principal_endowments`).
struct Endowment {
    var scrip: Int64
    var compute: TokenBucket
    var diskQuota: Int64
    var diskUsed: Int64
    var llmBudget: Int64
    var createdAt: Int64
}

extension Kernel {
    /// Records a configured agent's starting resources: the baseline of its net gain.
    func recordEndowment(_ db: Database, _ p: Principal, initialCompute: Int64, now: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO principal_endowments
                (id, scrip, compute_initial, compute_rate, compute_capacity, disk_quota, disk_used, llm_budget, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [p.id, p.scrip, initialCompute, p.compute.ratePerSecond, p.compute.capacity,
                                     p.diskQuota, p.diskUsed, p.llmBudget, now])
    }

    /// Every configured adversary (an agent whose mind is `adversary:KIND`, created by the
    /// world rather than spawned) with its attempts, codes and net gain, ordered by ID.
    ///
    /// Attempts and codes are the kernel's own counts (`ActionOutcomeTally`); an action of
    /// tool or contract code (caller = the artifact) is attributed to the artifact's author
    /// (`attributedPrincipal`). Counts still pending in a running tally are not included.
    public func threats() throws -> [AdversaryThreat] {
        try readOnly { db in
            let now = clock.nowMicros()
            let agents = try Row.fetchAll(db, sql: """
                SELECT id, content FROM artifacts WHERE kind = 'agent' AND created_by = ? AND deleted_at IS NULL ORDER BY id
                """, arguments: [Self.systemID])
            var adversaries: [(String, AdversaryKind)] = []
            for r in agents {
                let mind = ((try? JSONCodec.decode(r[1] as String)) ?? .null)["mind"]?.stringValue ?? ""
                if let kind = AdversaryKind(mind: mind) { adversaries.append((r[0], kind)) }
            }
            guard !adversaries.isEmpty else { return [] }
            let authors = try ArtifactAuthors(db)
            var tallies: [String: (attempts: Int64, codes: [String: Int64])] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT caller, code, SUM(count) FROM action_tallies GROUP BY caller, code") {
                let who = authors.attributedPrincipal(r[0])
                var t = tallies[who] ?? (0, [:])
                let n: Int64 = r[2]
                t.attempts += n
                let code: String = r[1]
                if !code.isEmpty { t.codes[code, default: 0] += n }
                tallies[who] = t
            }
            return try adversaries.map { id, kind in
                let controlled = authors.controlledSet(of: id)
                var attempts: Int64 = 0
                var codes: [String: Int64] = [:]
                for p in controlled.sorted() {
                    guard let t = tallies[p] else { continue }
                    attempts += t.attempts
                    for (c, n) in t.codes { codes[c, default: 0] += n }
                }
                let gain = try netGain(db, of: id, controlled: controlled, authors: authors, now: now)
                return AdversaryThreat(adversary: id, kind: kind.rawValue, attempts: attempts, codes: codes,
                                       netGain: gain, controlled: controlled.sorted())
            }
        }
    }

    /// Net gain of `controlled` (an adversary and what it controls) = its holdings now −
    /// what an idle agent with the adversary's starting endowment would hold now + the
    /// losses it caused others beyond what they paid for value received. Per resource:
    /// - scrip: balances + its active mint bids + active debts it holds − active debts it
    ///   owes (a debt past due counts for neither side: an unpaid default is the debtor's
    ///   gain), against the starting scrip plus the UBI an idle agent got in every mint
    ///   round since (the larger share when a round's pool did not divide evenly).
    /// - compute_ms: balances now against the idle bucket (start, refilled at its rate up
    ///   to its capacity), plus the CPU others paid for failed invokes of its artifacts.
    /// - disk_bytes: free quota (quota − used) against the idle agent's, plus the bytes of
    ///   live artifacts it created that are charged to principals outside its set.
    /// - llm_microdollars: budgets against the starting budget.
    func netGain(_ db: Database, of id: String, controlled: Set<String>, authors: ArtifactAuthors, now: Int64) throws -> NetGain {
        let endowment = try self.endowment(db, id)
        let members = controlled.sorted()
        var held = NetGain()
        for p in members {
            guard let principal = try Principal.load(db, p) else { continue }
            held.scrip = held.scrip.saturatingAdd(principal.scrip)
            held.computeMs = held.computeMs.saturatingAdd(principal.compute.balance(atMicros: now))
            held.diskBytes = held.diskBytes.saturatingAdd(principal.diskQuota.saturatingSubtract(principal.diskUsed))
            held.llmMicrodollars = held.llmMicrodollars.saturatingAdd(principal.llmBudget)
        }
        let placeholders = Array(repeating: "?", count: members.count).joined(separator: ",")
        let args = StatementArguments(members)
        let bids = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(amount), 0) FROM mint_bids WHERE status = 'active' AND bidder IN (\(placeholders))",
                                      arguments: args) ?? 0
        let owed = try Int64.fetchOne(db, sql: """
            SELECT COALESCE(SUM(repay_amount - repaid), 0) FROM debts WHERE status = 'active' AND due_at > ? AND debtor IN (\(placeholders))
            """, arguments: StatementArguments([now]) + args) ?? 0
        let lent = try Int64.fetchOne(db, sql: """
            SELECT COALESCE(SUM(d.repay_amount - d.repaid), 0) FROM debts d JOIN artifacts a ON a.id = d.id
            WHERE d.status = 'active' AND d.due_at > ? AND a.owner_id IN (\(placeholders))
            """, arguments: StatementArguments([now]) + args) ?? 0
        held.scrip = held.scrip.saturatingAdd(bids).saturatingAdd(lent).saturatingSubtract(owed)

        var gain = NetGain()
        gain.scrip = held.scrip.saturatingSubtract(endowment.scrip.saturatingAdd(try idleUBI(db, since: endowment.createdAt)))
        gain.computeMs = held.computeMs.saturatingSubtract(endowment.compute.balance(atMicros: now))
        gain.diskBytes = held.diskBytes.saturatingSubtract(endowment.diskQuota.saturatingSubtract(endowment.diskUsed))
        gain.llmMicrodollars = held.llmMicrodollars.saturatingSubtract(endowment.llmBudget)

        // Losses of others: CPU they paid for failed invokes of its artifacts, bytes of its making on their disk.
        var wastedCPU = 0.0
        for r in try Row.fetchAll(db, sql: """
            SELECT json_extract(data, '$.artifact_id'), json_extract(data, '$.payer'), json_extract(data, '$.cpu_ms') FROM events
            WHERE type = 'invoke' AND json_extract(data, '$.error') IS NOT NULL
            """) {
            guard let artifact = r[0] as String?, let payer = r[1] as String?, !controlled.contains(payer),
                  controlled.contains(authors.attributedPrincipal(artifact)) else { continue }
            wastedCPU += (r[2] as Double?) ?? 0
        }
        gain.computeMs = gain.computeMs.saturatingAdd(CheckedNumber.clamped(wastedCPU.rounded(.up)))
        for r in try Row.fetchAll(db, sql: "SELECT created_by, charged_to, size_bytes FROM artifacts WHERE deleted_at IS NULL AND charged_to != created_by") {
            let charged: String = r[1]
            guard !controlled.contains(charged), charged != Self.systemID,
                  controlled.contains(authors.attributedPrincipal(r[0])) else { continue }
            gain.diskBytes = gain.diskBytes.saturatingAdd(r[2] as Int64)
        }
        return gain
    }

    /// The starting resources of an agent; for one created before they were recorded, the
    /// config's resources (and the scrip its creation event named).
    func endowment(_ db: Database, _ id: String) throws -> Endowment {
        let r = config.resources
        let row = try Row.fetchOne(db, sql: """
            SELECT scrip, compute_initial, compute_rate, compute_capacity, disk_quota, disk_used, llm_budget, created_at
            FROM principal_endowments WHERE id = ?
            """, arguments: [id])
        let recorded: Int64? = row?[7]
        let createdAt = try recorded ?? Artifact.load(db, id)?.createdAt ?? 0
        let compute = TokenBucket(ratePerSecond: (row?[2] as Int64?) ?? r.compute.ratePerSecond,
                                  capacity: (row?[3] as Int64?) ?? r.compute.capacity,
                                  balance: (row?[1] as Int64?) ?? r.compute.initial, nowMicros: createdAt)
        return Endowment(scrip: (row?[0] as Int64?) ?? 0, compute: compute, diskQuota: (row?[4] as Int64?) ?? r.diskQuotaBytes,
                         diskUsed: (row?[5] as Int64?) ?? 0, llmBudget: (row?[6] as Int64?) ?? r.llmBudgetMicrodollars,
                         createdAt: createdAt)
    }

    /// The UBI an idle agent alive since `since` received: per mint round, its pool's
    /// share rounded up (`MintAuction.shareUBI` gives the remainder to the first IDs).
    func idleUBI(_ db: Database, since: Int64) throws -> Int64 {
        var total: Int64 = 0
        for r in try Row.fetchAll(db, sql: """
            SELECT json_extract(data, '$.payments'), json_extract(data, '$.ubi_per_agent'), json_extract(data, '$.ubi_recipients')
            FROM mint_rounds WHERE resolved_at >= ?
            """, arguments: [since]) {
            let payments = (r[0] as Int64?) ?? 0, per = (r[1] as Int64?) ?? 0, recipients = (r[2] as Int64?) ?? 0
            guard recipients > 0 else { continue }
            let pool = max(payments, config.mint.ubiFloor.saturatingMultiply(recipients))
            total = total.saturatingAdd(per).saturatingAdd(pool > per.saturatingMultiply(recipients) ? 1 : 0)
        }
        return total
    }
}

/// Who made each artifact and who owns the principals: enough to attribute an action to
/// a principal and to find what an adversary controls.
struct ArtifactAuthors {
    private var createdBy: [String: String] = [:]
    private var ownerOf: [String: String] = [:]
    private var principals: Set<String> = []

    init(_ db: Database) throws {
        for r in try Row.fetchAll(db, sql: "SELECT a.id, a.created_by, a.owner_id, p.id IS NOT NULL FROM artifacts a LEFT JOIN principals p ON p.id = a.id") {
            let id: String = r[0]
            createdBy[id] = r[1] as String
            ownerOf[id] = r[2] as String
            if r[3] as Bool { principals.insert(id) }
        }
    }

    /// The principal an action of `caller` is charged to in the threat accounting: the
    /// caller itself when it is a principal; for tool or contract code (the caller is the
    /// artifact), the artifact's author, followed through tools that wrote tools.
    func attributedPrincipal(_ caller: String) -> String {
        var who = caller
        for _ in 0..<16 {
            if principals.contains(who) { return who }
            guard let author = createdBy[who], author != who else { return who }
            who = author
        }
        return who
    }

    /// `root` and every principal it created or owns, recursively (a sybil's children and
    /// theirs; an agent bought through escrow).
    func controlledSet(of root: String) -> Set<String> {
        var set: Set<String> = [root]
        var changed = true
        while changed {
            changed = false
            for p in principals.sorted() where !set.contains(p) {
                let author = createdBy[p].map(attributedPrincipal)
                if let author, set.contains(author) { set.insert(p); changed = true; continue }
                if let owner = ownerOf[p], set.contains(owner) { set.insert(p); changed = true }
            }
        }
        return set
    }
}
