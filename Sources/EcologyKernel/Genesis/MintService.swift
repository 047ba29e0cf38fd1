import EcologyCore
import GRDB

/// `genesis_mint`: the oracle. Bids may be placed at any time (the amount is held by
/// the mint's account); resolution happens on a fixed schedule (see `Kernel.resolveMintIfDue`).
struct MintService: GenesisService {
    static let id = "genesis_mint"
    let summary = "Bid scrip to have an artifact scored; winners' artifacts mint new scrip for their owners; payments are shared as UBI."
    let tools: [ToolSpec] = [
        ToolSpec("bid", "Bid on the next resolution for an artifact (one active bid per bidder; a new bid replaces yours and refunds it).",
                 [("artifact_id", "string", "artifact to be scored", true), ("amount", "integer", "scrip held until resolution", true)]),
        ToolSpec("withdraw", "Withdraw your active bid (refunded)."),
        ToolSpec("status", "Next resolution time, active bids, and the last round."),
        ToolSpec("check", "Results of a round (default: the last).", [("round", "integer", "round number", false)]),
    ]

    func call(_ method: String, _ args: Args, _ ctx: CallContext, _ k: Kernel) throws -> JSONValue {
        switch method {
        case "bid":
            let id = try args.id("artifact_id"), amount = try args.amount("amount")
            guard amount >= k.config.mint.minimumBid else {
                throw KernelError.invalid("the minimum bid is \(k.config.mint.minimumBid) scrip")
            }
            return try k.transaction(ctx, costMs: k.config.costs.writeMs) { db in
                let target = try k.liveArtifact(db, id)
                guard try Principal.load(db, ctx.caller) != nil else { throw KernelError.denied("\(ctx.caller) has no standing to bid") }
                try GenesisAccounts.require(ctx.caller, mayHold: .bids, as: "bidder")
                // The award would be minted to the artifact's payee: a genesis account takes none.
                let payee = try k.payee(db, of: target)
                try GenesisAccounts.require(payee, mayHold: .scrip, as: "payee of the mint award for \(id)")
                let replaced = try k.withdrawBid(db, bidder: ctx.caller)
                try k.moveScrip(db, from: ctx.caller, to: Self.id, amount: amount, via: .mintBid)
                try db.execute(sql: "INSERT INTO mint_bids (bidder, artifact_id, amount, created_at, status) VALUES (?,?,?,?,'active')",
                               arguments: [ctx.caller, id, amount, k.clock.nowMicros()])
                let bidID = db.lastInsertedRowID
                try k.events.append(db, "mint_bid", principal: ctx.caller,
                                    ["bid_id": .int(bidID), "artifact_id": .string(id), "amount": .int(amount), "replaced": .int(replaced)])
                return .object(["bid_id": .int(bidID), "artifact_id": .string(id), "amount": .int(amount),
                                "resolves_at": .number(seconds(try k.mintNextResolution(db)))])
            }
        case "withdraw":
            return try k.transaction(ctx) { db in
                let refunded = try k.withdrawBid(db, bidder: ctx.caller)
                if refunded > 0 { try k.events.append(db, "mint_withdraw", principal: ctx.caller, ["refunded": .int(refunded)]) }
                return .object(["refunded": .int(refunded)])
            }
        case "status":
            return try k.readOnly { db in
                let bids = try Row.fetchAll(db.cachedStatement(sql: "SELECT id, bidder, artifact_id, amount FROM mint_bids WHERE status='active' ORDER BY amount DESC, id"))
                    .map { JSONValue.object(["bid_id": .int($0[0]), "bidder": .string($0[1]), "artifact_id": .string($0[2]), "amount": .int($0[3])]) }
                let last = try Row.fetchOne(db.cachedStatement(sql: "SELECT round, data FROM mint_rounds ORDER BY round DESC LIMIT 1"))
                return .object(["next_resolution": .number(seconds(try k.mintNextResolution(db))), "slots": .int(Int64(k.config.mint.slots)),
                                "active_bids": .array(bids),
                                "last_round": last.map { (try? JSONCodec.decode($0[1] as String)) ?? .null } ?? .null])
            }
        case "check":
            return try k.readOnly { db in
                let row: Row?
                if let round = try args.optionalInt("round") {
                    row = try Row.fetchOne(db.cachedStatement(sql: "SELECT round, data FROM mint_rounds WHERE round = ?"), arguments: [round])
                } else {
                    row = try Row.fetchOne(db.cachedStatement(sql: "SELECT round, data FROM mint_rounds ORDER BY round DESC LIMIT 1"))
                }
                guard let row else { throw KernelError.notFound("mint round") }
                return (try? JSONCodec.decode(row[1] as String)) ?? .null
            }
        default: throw unknown(method)
        }
    }
}

extension Kernel {
    /// Refunds the bidder's active bid, if any. Returns the refunded amount.
    func withdrawBid(_ db: Database, bidder: String) throws -> Int64 {
        guard let r = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, amount FROM mint_bids WHERE bidder = ? AND status = 'active'"), arguments: [bidder]) else { return 0 }
        let amount: Int64 = r[1]
        try moveScrip(db, from: MintService.id, to: bidder, amount: amount, via: .mintBid)
        try db.cachedStatement(sql: "UPDATE mint_bids SET status='withdrawn' WHERE id = ?").execute(arguments: [r[0] as Int64])
        return amount
    }

    func mintNextResolution(_ db: Database) throws -> Int64 {
        if let s = try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM world_meta WHERE key='mint_next_resolution'")), let v = Int64(s) { return v }
        return MintAuction.nextResolution(afterMicros: clock.nowMicros(), epochMicros: try epoch(db), periodSeconds: config.mint.periodSeconds)
    }

    func epoch(_ db: Database) throws -> Int64 {
        Int64(try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM world_meta WHERE key='epoch'")) ?? "") ?? 0
    }

    /// Resolves the mint if its scheduled time has passed: top `slots` bids win and
    /// pay the next-highest bid, losers are refunded, winners' artifacts are scored
    /// and `score / mint_ratio` scrip is minted to each artifact's owner, and the
    /// winners' payments are shared as UBI among all live agents (with an optional
    /// minted floor). Scoring runs outside the write transaction (it may call an LLM).
    /// Returns the round's record, or nil when nothing was due.
    @discardableResult
    public func resolveMintIfDue() throws -> JSONValue? {
        let now = clock.nowMicros()
        // Phase 1: read the bids and score the would-be winners.
        let plan: (MintAuction.Outcome, [String: (Int, String)])? = try readOnly { db in
            guard now >= (try mintNextResolution(db)) else { return nil }
            let bids = try Row.fetchAll(db.cachedStatement(sql: "SELECT id, bidder, artifact_id, amount FROM mint_bids WHERE status='active'"))
                .map { MintAuction.Bid(id: $0[0], bidder: $0[1], artifactID: $0[2], amount: $0[3]) }
            let outcome = MintAuction.resolve(bids: bids, slots: config.mint.slots, minimumBid: config.mint.minimumBid)
            var scores: [String: (Int, String)] = [:]
            for w in outcome.winners {
                guard let a = try Artifact.load(db, w.bid.artifactID), !a.isDeleted else { scores[w.bid.artifactID] = (0, "artifact deleted"); continue }
                // Use by the owner's own lineage (principals it spawned, and theirs) is self-dealing:
                // a wash trader's funded shill is not "others" (docs/THREAT_MODEL.md, red team R2).
                let uses = try Int64.fetchOne(db, sql: """
                    WITH RECURSIVE lineage(id) AS (
                        SELECT ?2 UNION SELECT a.id FROM artifacts a JOIN lineage l ON a.created_by = l.id WHERE a.has_standing = 1)
                    SELECT COUNT(*) FROM events WHERE type='invoke' AND json_extract(data,'$.artifact_id') = ?1
                    AND json_extract(data,'$.payer') NOT IN lineage AND json_extract(data,'$.error') IS NULL
                    """, arguments: [a.id, a.ownerID]) ?? 0
                switch scorer.score(ScoringInput(artifact: a, invokesByOthers: uses)) {
                case .success(let s): scores[a.id] = (max(0, min(100, s.score)), s.reason)
                case .failure(let e): scores[a.id] = (0, "scorer failed: \(e.message)")
                }
            }
            return (outcome, scores)
        }
        guard let (outcome, scores) = plan else { return nil }
        // Phase 2: apply, if no bid changed meanwhile (otherwise the next call redoes it).
        return try database.write { db -> JSONValue? in
            guard now >= (try mintNextResolution(db)) else { return nil }
            let active = Set(try Int64.fetchAll(db.cachedStatement(sql: "SELECT id FROM mint_bids WHERE status='active'")))
            let planned = Set(outcome.winners.map(\.bid.id) + outcome.losers.map(\.id))
            guard active == planned else { return nil }
            let round = (try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(round), 0) FROM mint_rounds")) ?? 0) + 1
            var minted: Int64 = 0
            var winners: [JSONValue] = []
            for w in outcome.winners {
                if w.refund > 0 { try moveScrip(db, from: MintService.id, to: w.bid.bidder, amount: w.refund, via: .mintBid) }
                let (score, reason) = scores[w.bid.artifactID] ?? (0, "unscored")
                let owner = try Artifact.load(db, w.bid.artifactID).map { try payee(db, of: $0) }
                var amount = Int64(score) / max(1, config.mint.mintRatio)
                // Never to a genesis account (`bid` refuses such artifacts; ownership may have moved since).
                if amount > 0, let owner, !GenesisAccounts.isGenesis(owner), try Principal.load(db, owner) != nil {
                    // Like every credit, never past Int64.max (SQLite would store a REAL): a full balance mints nothing.
                    try db.cachedStatement(sql: "UPDATE principals SET scrip = scrip + ?1 WHERE id = ?2 AND scrip <= 9223372036854775807 - ?1")
                        .execute(arguments: [amount, owner])
                    if db.changesCount > 0 { minted += amount } else { amount = 0 }
                }
                try db.execute(sql: "UPDATE mint_bids SET status='won', round=?, paid=?, score=?, minted=? WHERE id=?",
                               arguments: [round, w.price, score, amount, w.bid.id])
                winners.append(.object(["bidder": .string(w.bid.bidder), "artifact_id": .string(w.bid.artifactID), "bid": .int(w.bid.amount),
                                        "paid": .int(w.price), "score": .int(Int64(score)), "reason": .string(reason),
                                        "minted": .int(amount), "owner": owner.map(JSONValue.string) ?? .null]))
            }
            for l in outcome.losers {
                try moveScrip(db, from: MintService.id, to: l.bidder, amount: l.amount, via: .mintBid)
                try db.cachedStatement(sql: "UPDATE mint_bids SET status='lost', round=? WHERE id=?").execute(arguments: [round, l.id])
            }
            // UBI: the winners' payments, shared by all live agents; a floor is minted if configured.
            // genesis_mint and genesis_escrow have standing and are executable too, but they are not agents.
            let agents = try String.fetchAll(db.cachedStatement(sql: "SELECT a.id FROM artifacts a JOIN principals p ON p.id = a.id WHERE a.has_standing=1 AND a.can_execute=1 AND a.deleted_at IS NULL AND a.kind != 'genesis'"))
            let paid = outcome.totalPaid
            var pool = paid
            // Agents spawn agents, so the count is theirs to grow: a floor total that does not
            // fit 64 bits fails this resolution (nothing applied) rather than trapping.
            let floorTotal = try CheckedNumber.product(config.mint.ubiFloor, Int64(agents.count), "the UBI floor for \(agents.count) agents")
            if floorTotal > pool {
                minted = try CheckedNumber.sum(minted, floorTotal - pool, "the scrip minted this round")
                try db.cachedStatement(sql: "UPDATE principals SET scrip = scrip + ?1 WHERE id = ?2 AND scrip <= 9223372036854775807 - ?1")
                    .execute(arguments: [floorTotal - pool, MintService.id])
                if db.changesCount == 0 { throw KernelError.invalid("the UBI floor would overflow \(MintService.id)'s balance") }
                pool = floorTotal
            }
            let shares = MintAuction.shareUBI(total: pool, recipients: agents)
            for (agent, share) in shares { try moveScrip(db, from: MintService.id, to: agent, amount: share, via: .mintPayout) }
            if shares.isEmpty && paid > 0 {
                // No agents to share with: the payments are burned from the supply, and recorded.
                try db.cachedStatement(sql: "UPDATE principals SET scrip = scrip - ? WHERE id = ?").execute(arguments: [paid, MintService.id])
                minted -= paid
            }
            try addMinted(db, minted)
            let record: JSONValue = .object([
                "round": .int(round), "resolved_at": .number(seconds(now)), "winners": .array(winners),
                "losers": .array(outcome.losers.map { .object(["bidder": .string($0.bidder), "artifact_id": .string($0.artifactID), "refunded": .int($0.amount)]) }),
                "payments": .int(paid), "ubi_per_agent": .int(agents.isEmpty ? 0 : pool / Int64(agents.count)),
                "ubi_recipients": .int(Int64(agents.count)), "minted": .int(minted),
            ])
            try db.cachedStatement(sql: "INSERT INTO mint_rounds (round, resolved_at, data) VALUES (?,?,?)").execute(arguments: [round, now, JSONCodec.string(record)])
            let next = MintAuction.nextResolution(afterMicros: now, epochMicros: try epoch(db), periodSeconds: config.mint.periodSeconds)
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO world_meta (key, value) VALUES ('mint_next_resolution', ?)").execute(arguments: [String(next)])
            // The event also names each agent's UBI share (remainders make them unequal), for statements.
            var event = record.objectValue ?? [:]
            event["ubi_shares"] = .object(Dictionary(shares.map { ($0.0, JSONValue.int($0.1)) }, uniquingKeysWith: { a, _ in a }))
            try events.append(db, "mint_resolved", principal: MintService.id, .object(event))
            return record
        }
    }

    /// Net scrip created (positive) or destroyed (negative) by the mint, kept for the conservation invariant.
    func addMinted(_ db: Database, _ delta: Int64) throws {
        guard delta != 0 else { return }
        try db.execute(sql: """
            INSERT INTO world_meta (key, value) VALUES ('minted_scrip', ?)
            ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT)
            """, arguments: [String(delta), delta])
    }
}
