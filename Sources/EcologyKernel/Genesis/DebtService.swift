import EcologyCore
import GRDB

/// `genesis_debt`: loans as tradeable debt artifacts. The debtor asks (`issue`), the
/// creditor funds (`accept`); the debt artifact is owned by whoever holds the claim
/// (transfer it like any artifact), and repayments go to its current owner. Scrip
/// itself never goes negative: an unpaid debt past due is marked overdue, publicly.
struct DebtService: GenesisService {
    static let id = "genesis_debt"
    let summary = "Loans: a debtor issues a request, the creditor accepts (funds) it, the debtor repays the holder of the debt artifact."
    let tools: [ToolSpec] = [
        ToolSpec("issue", "Ask a creditor for a loan; creates debt artifact owned by the creditor.",
                 [("creditor", "string", "lender principal", true), ("amount", "integer", "scrip lent", true),
                  ("repay_amount", "integer", "scrip to repay (≥ amount)", true), ("due_in_seconds", "integer", "term", true)]),
        ToolSpec("accept", "Fund a requested loan you hold: pays the amount to the debtor.", [("debt_id", "string", "debt artifact", true)]),
        ToolSpec("repay", "Pay toward a debt; goes to the debt's current holder. Anyone may repay.",
                 [("debt_id", "string", "debt artifact", true), ("amount", "integer", "scrip", true)]),
        ToolSpec("cancel", "Debtor withdraws a request that was not funded yet.", [("debt_id", "string", "debt artifact", true)]),
        ToolSpec("status", "One debt.", [("debt_id", "string", "debt artifact", true)]),
        ToolSpec("list", "Debts where a principal is debtor or holder (default: you).", [("principal", "string", "principal", false)]),
    ]

    static func json(_ db: Database, _ id: String, now: Int64) throws -> JSONValue {
        guard let r = try Row.fetchOne(db.cachedStatement(sql: "SELECT d.id, d.debtor, a.owner_id, d.amount, d.repay_amount, d.repaid, d.due_at, d.status, d.original_creditor FROM debts d JOIN artifacts a ON a.id = d.id WHERE d.id = ?"), arguments: [id]) else {
            throw KernelError.notFound("debt \(id)")
        }
        let status: String = r[7], due: Int64 = r[6]
        return .object(["debt_id": .string(r[0]), "debtor": .string(r[1]), "holder": .string(r[2]), "amount": .int(r[3]),
                        "repay_amount": .int(r[4]), "repaid": .int(r[5]), "remaining": .int((r[4] as Int64) - (r[5] as Int64)),
                        "due_at": .number(seconds(due)), "status": .string(status), "original_creditor": .string(r[8]),
                        "overdue": .bool(status == "active" && now > due)])
    }

    func call(_ method: String, _ args: Args, _ ctx: CallContext, _ k: Kernel) throws -> JSONValue {
        let now = k.clock.nowMicros()
        switch method {
        case "issue":
            let creditor = try args.id("creditor"), amount = try args.amount("amount")
            let repay = try args.amount("repay_amount"), term = try args.amount("due_in_seconds")
            guard repay >= amount else { throw KernelError.invalid("repay_amount must be ≥ amount") }
            guard creditor != ctx.caller else { throw KernelError.invalid("cannot borrow from yourself") }
            // The term is the agent's (up to max_amount seconds); its due time must fit in microseconds.
            let dueAt = try CheckedNumber.sum(now, try CheckedNumber.product(term, 1_000_000, "due_in_seconds in microseconds"), "the due time")
            return try k.transaction(ctx, costMs: k.config.costs.writeMs) { db in
                guard try Principal.load(db, ctx.caller) != nil else { throw KernelError.denied("\(ctx.caller) has no standing to borrow") }
                guard try Principal.load(db, creditor) != nil else { throw KernelError.notFound("principal \(creditor)") }
                // A genesis account would hold a claim (or owe scrip) that no service accounts for.
                try GenesisAccounts.require(creditor, mayHold: .debts, as: "creditor")
                try GenesisAccounts.require(ctx.caller, mayHold: .debts, as: "debtor")
                // Skip IDs already taken by any artifact (anyone may write one called debt-N).
                var n = (try Int64.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM debts")) ?? 0) + 1
                while try Artifact.load(db, "debt-\(n)") != nil { n += 1 }
                let id = "debt-\(n)"
                let text = "Debt: \(ctx.caller) owes the holder of this artifact \(repay) scrip for a loan of \(amount)."
                let spec = try ArtifactSpec(args: Args(["content": .string(text)]), limits: k.config.limits)
                var a = try k.create(db, id: id, spec: spec, by: CallContext(caller: Kernel.systemID, payer: Kernel.systemID), kind: "debt")
                try db.execute(sql: "INSERT INTO debts (id, debtor, original_creditor, amount, repay_amount, due_at, status, created_at) VALUES (?,?,?,?,?,?,'requested',?)",
                               arguments: [id, ctx.caller, creditor, amount, repay, dueAt, now])
                // The creditor holds the request, but its bytes are the debtor's until it is
                // funded (`billingPrincipal`): asking nobody for a loan costs them nothing.
                try k.moveOwnership(db, &a, to: creditor, by: Self.id, via: .debtIssue)
                try k.events.append(db, "debt_requested", principal: ctx.caller,
                                    ["debt_id": .string(id), "creditor": .string(creditor), "amount": .int(amount), "repay_amount": .int(repay)])
                return try Self.json(db, id, now: now)
            }
        case "accept":
            let id = try args.id("debt_id")
            return try k.transaction(ctx, costMs: k.config.costs.writeMs) { db in
                let d = try Self.json(db, id, now: now)
                guard d["status"]?.stringValue == "requested" else { throw KernelError.invalid("debt \(id) is \(d["status"]?.stringValue ?? "?")") }
                guard d["holder"]?.stringValue == ctx.caller else { throw KernelError.denied("only the holder of \(id) may fund it") }
                var a = try k.liveArtifact(db, id)
                let debtor = d["debtor"]!.stringValue!, amount = d["amount"]!.intValue!
                try k.moveScrip(db, from: ctx.caller, to: debtor, amount: amount)
                try db.cachedStatement(sql: "UPDATE debts SET status='active' WHERE id=?").execute(arguments: [id])
                // Funded: the claim's bytes are now the holder's, who accepted it.
                let moved = try k.recharge(db, &a)
                try a.update(db)
                let data: [String: JSONValue] = ["debt_id": .string(id), "creditor": .string(ctx.caller), "debtor": .string(debtor), "amount": .int(amount)]
                try k.events.append(db, "debt_issued", principal: ctx.caller, .object(data.merging(Kernel.StorageMove.fields(moved)) { mine, _ in mine }))
                return try Self.json(db, id, now: now)
            }
        case "repay":
            let id = try args.id("debt_id"), amount = try args.amount("amount")
            return try k.transaction(ctx, costMs: k.config.costs.writeMs) { db in
                let d = try Self.json(db, id, now: now)
                guard d["status"]?.stringValue == "active" else { throw KernelError.invalid("debt \(id) is \(d["status"]?.stringValue ?? "?"), not active") }
                let pay = min(amount, d["remaining"]!.intValue!)
                let holder = try Artifact.load(db, id).map { try k.payee(db, of: $0) } ?? d["holder"]!.stringValue!
                if holder != ctx.caller { try k.moveScrip(db, from: ctx.caller, to: holder, amount: pay) }
                try db.execute(sql: "UPDATE debts SET repaid = repaid + ?, status = CASE WHEN repaid + ? >= repay_amount THEN 'repaid' ELSE status END WHERE id = ?",
                               arguments: [pay, pay, id])
                try k.events.append(db, "debt_repaid", principal: ctx.caller,
                                    ["debt_id": .string(id), "holder": .string(holder), "amount": .int(pay)])
                return try Self.json(db, id, now: now)
            }
        case "cancel":
            let id = try args.id("debt_id")
            return try k.transaction(ctx) { db in
                let d = try Self.json(db, id, now: now)
                guard d["debtor"]?.stringValue == ctx.caller else { throw KernelError.denied("only the debtor may cancel \(id)") }
                guard d["status"]?.stringValue == "requested" else { throw KernelError.invalid("debt \(id) was already funded") }
                // The withdrawn request is the debtor's to free: its artifact becomes a tombstone
                // (after leaving escrow, if its holder had listed it).
                if var a = try Artifact.load(db, id), !a.isDeleted {
                    if a.ownerID == EscrowService.id, let seller = try k.activeListingSeller(db, id),
                       let listing = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM escrow_listings WHERE artifact_id = ? AND status = 'active'"),
                                                        arguments: [id]) {
                        try db.execute(sql: "UPDATE escrow_listings SET status='cancelled', closed_at=? WHERE id=?", arguments: [now, listing])
                        try k.moveOwnership(db, &a, to: seller, by: Self.id, via: .escrowListing)
                        try k.events.append(db, "escrow_cancel", principal: ctx.caller, ["listing_id": .int(listing), "artifact_id": .string(id)])
                    }
                    let freed = try k.tombstone(db, &a)
                    try a.update(db)
                    try k.events.append(db, "artifact_deleted", principal: ctx.caller,
                                        ["artifact_id": .string(id), "freed_bytes": .int(freed), "charged_to": .string(a.chargedTo)])
                }
                try db.cachedStatement(sql: "UPDATE debts SET status='cancelled' WHERE id=?").execute(arguments: [id])
                try k.events.append(db, "debt_cancelled", principal: ctx.caller, ["debt_id": .string(id)])
                return try Self.json(db, id, now: now)
            }
        case "status":
            let id = try args.id("debt_id")
            return try k.readOnly { db in try Self.json(db, id, now: now) }
        case "list":
            let who = try args.optionalID("principal") ?? ctx.caller
            return try k.readOnly { db in
                let ids = try String.fetchAll(db.cachedStatement(sql: "SELECT d.id FROM debts d JOIN artifacts a ON a.id = d.id WHERE d.debtor = ? OR a.owner_id = ? ORDER BY d.created_at"),
                                              arguments: [who, who])
                return .array(try ids.map { try Self.json(db, $0, now: now) })
            }
        default: throw unknown(method)
        }
    }
}
