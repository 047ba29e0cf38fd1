import EcologyCore
import GRDB

/// `genesis_ledger`: balances and unilateral transfers of scrip, ownership and llm_budget.
struct LedgerService: GenesisService {
    static let id = "genesis_ledger"
    /// Pages of `all_balances`.
    static let defaultPage = 200, maxPage = 500
    let summary = "Balances and transfers of scrip, artifact ownership and LLM budget."
    let tools: [ToolSpec] = [
        ToolSpec("balance", "Balances of a principal (default: yourself).", [("principal", "string", "principal id", false)]),
        ToolSpec("all_balances", "Balances of principals in id order, a page at a time: pass the last id you got as 'after' for the next page.",
                 [("after", "string", "only principals whose id sorts after this one", false),
                  ("limit", "integer", "max principals (1–\(LedgerService.maxPage), default \(LedgerService.defaultPage))", false)]),
        ToolSpec("transfer", "Send scrip to any principal; no consent needed. 'from' defaults to you and needs the source's transfer permission.",
                 [("to", "string", "recipient principal", true), ("amount", "integer", "scrip, > 0", true),
                  ("from", "string", "source principal", false)]),
        ToolSpec("transfer_ownership", "Give an artifact you may transfer to another principal.",
                 [("artifact_id", "string", "artifact", true), ("to", "string", "new owner principal", true)]),
        ToolSpec("transfer_budget", "Send LLM budget (micro-dollars) to another principal.",
                 [("to", "string", "recipient principal", true), ("amount", "integer", "micro-dollars, > 0", true)]),
        ToolSpec("get_budget", "LLM budget of a principal in micro-dollars (default: yourself).",
                 [("principal", "string", "principal id", false)]),
    ]

    func call(_ method: String, _ args: Args, _ ctx: CallContext, _ k: Kernel) throws -> JSONValue {
        switch method {
        case "balance":
            let who = try args.optionalID("principal") ?? ctx.caller
            return try k.readOnly { db in try Principal.require(db, who).json(now: k.clock.nowMicros()) }
        case "all_balances":
            // Paged: one page costs the same whatever the world's size (an agent scanning the
            // whole world on every step made each step O(principals), and past a few thousand
            // principals the answer would not fit in a frame).
            let after = try args.optionalID("after") ?? ""
            let limit = try args.optionalInt("limit") ?? Int64(LedgerService.defaultPage)
            guard (1...Int64(LedgerService.maxPage)).contains(limit) else {
                throw KernelError.invalid("limit must be 1…\(LedgerService.maxPage), got \(limit)")
            }
            return try k.readOnly { db in
                let now = k.clock.nowMicros()
                return .array(try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Principal.columns) FROM principals WHERE id > ? ORDER BY id LIMIT ?"),
                                               arguments: [after, limit])
                    .map { Principal(row: $0).json(now: now) })
            }
        case "transfer":
            return try k.transferScrip(from: try args.optionalID("from") ?? ctx.caller, to: try args.id("to"),
                                       amount: try args.amount("amount"), context: ctx)
        case "transfer_ownership":
            let id = try args.id("artifact_id"), to = try args.id("to")
            return try k.transaction(ctx) { db in
                try k.transferOwnership(db, artifactID: id, to: to, by: ctx)
                return .object(["artifact_id": .string(id), "owner_id": .string(to)])
            }
        case "transfer_budget":
            let to = try args.id("to"), amount = try args.amount("amount")
            return try k.transaction(ctx) { db in
                let source = try k.liveArtifact(db, ctx.caller)
                try k.authorize(db, .transfer, on: source, by: ctx)
                try GenesisAccounts.require(ctx.caller, mayHold: .llmBudget, as: "giver of llm_budget")
                try GenesisAccounts.require(to, mayHold: .llmBudget, as: "recipient of llm_budget")
                var from = try Principal.require(db, ctx.caller)
                var dest = try Principal.require(db, to)
                guard from.llmBudget >= amount else {
                    throw KernelError(.insufficientFunds, "\(ctx.caller) has \(from.llmBudget) micro-dollars of LLM budget; \(amount) needed")
                }
                from.llmBudget -= amount; try from.save(db)
                dest = try Principal.require(db, to)
                dest.llmBudget = try CheckedNumber.sum(dest.llmBudget, amount, "\(to)'s LLM budget"); try dest.save(db)
                try k.events.append(db, "transfer", principal: ctx.caller,
                                    ["resource": "llm_budget", "from": .string(ctx.caller), "to": .string(to), "amount": .int(amount)])
                return .object(["from": .string(ctx.caller), "to": .string(to), "amount": .int(amount)])
            }
        case "get_budget":
            let who = try args.optionalID("principal") ?? ctx.caller
            return try k.readOnly { db in
                let p = try Principal.require(db, who)
                return .object(["principal": .string(who), "llm_budget_microdollars": .int(p.llmBudget),
                                "llm_budget": .number(Double(p.llmBudget) / 1_000_000)])
            }
        default: throw unknown(method)
        }
    }
}

extension Kernel {
    /// The hot path of the ledger: permission on the source, two balance updates and
    /// an event, in one transaction.
    public func transferScrip(from: String, to: String, amount: Int64, context: CallContext) throws -> JSONValue {
        if from == to { throw KernelError.invalid("cannot transfer to the same principal") }
        return try transaction(context, costMs: config.costs.invokeGenesisMs) { db in
            // The hot path reads only the header columns of both parties, in one statement.
            var source: (owner: String, contract: String)?
            var target: (kind: String, deleted: Bool)?
            let rows = try db.fastStatement("SELECT id, owner_id, access_contract_id, kind, deleted_at IS NOT NULL FROM artifacts WHERE id IN (?, ?)")
            rows.bind(1, from); rows.bind(2, to)
            while try rows.step() {
                let deleted = rows.bool(4)
                if rows.text(0) == from {
                    source = (rows.text(1), rows.text(2))
                    if deleted { rows.reset(); throw KernelError(.deleted, "artifact \(from) was deleted") }
                } else { target = (rows.text(3), deleted) }
            }
            guard let source else { throw KernelError.notFound("artifact \(from)") }
            if try !authorizeNative(source.contract, .transfer, artifactID: from, owner: source.owner, requester: context.caller) {
                try authorize(db, .transfer, on: try liveArtifact(db, from), by: context)
            }
            guard let target else { throw KernelError.notFound("recipient \(to)") }
            if target.deleted { throw KernelError(.deleted, "recipient \(to) was deleted") }
            // A genesis party (either side) is refused by moveScrip's role check.
            try moveScrip(db, from: from, to: to, amount: amount)
            try events.append(db, "transfer", principal: context.caller,
                              ["resource": "scrip", "from": .string(from), "to": .string(to), "amount": .int(amount)])
            return .object(["from": .string(from), "to": .string(to), "amount": .int(amount)])
        }
    }

    /// Gives an artifact to a new owner principal (no consent needed, as for scrip). The
    /// recipient will pay for its bytes, so it must be able to free them: under a custom
    /// contract, the contract is asked whether the recipient, as the new owner, may delete it
    /// (the giver's payer pays for that evaluation).
    func transferOwnership(_ db: Database, artifactID: String, to: String, by call: CallContext) throws {
        var a = try liveArtifact(db, artifactID)
        try authorize(db, .transfer, on: a, by: call)
        // A contract may let others transfer it (genesis_public, a self-owned tool), but never out from under a listing.
        try requireNotListed(db, a)
        try GenesisAccounts.require(to, mayHold: .artifacts, as: "new owner")
        if GenesisContract(rawValue: a.accessContractID) == nil {
            var after = a
            after.ownerID = to
            let asRecipient = CallContext(caller: to, payer: call.payer, depth: call.depth, deadlineMicros: call.deadlineMicros)
            let (allowed, reason) = try evaluateCustomContract(db, .delete, on: after, by: asRecipient, context: .object([:]))
            if !allowed {
                throw KernelError(.accessDenied, "\(to) could not delete \(artifactID) under contract \(a.accessContractID) (\(reason)), so it would pay for bytes it cannot free",
                                  details: ["contract": .string(a.accessContractID), "action": "delete"])
            }
        }
        try moveOwnership(db, &a, to: to, by: call.caller)
    }

    /// Ownership change without a permission check; callers have authorized already. A
    /// genesis account may be the previous or the new owner only through a path its role
    /// allows (`via`); the bytes follow the billing rule (`recharge`), quota checked.
    func moveOwnership(_ db: Database, _ a: inout Artifact, to: String, by requester: String, via path: GenesisAccounts.Path? = nil) throws {
        let from = a.ownerID
        guard from != to else { return }
        try GenesisAccounts.require(from, mayHold: .artifacts, via: path, as: "previous owner")
        try GenesisAccounts.require(to, mayHold: .artifacts, via: path, as: "new owner")
        guard try Principal.load(db, to) != nil else { throw KernelError.notFound("principal \(to)") }
        if try Artifact.load(db, to)?.isDeleted != false { throw KernelError(.deleted, "recipient \(to) was deleted") }
        a.ownerID = to
        let moved = try recharge(db, &a)
        a.version += 1; a.updatedAt = clock.nowMicros()
        try a.update(db)
        let data: [String: JSONValue] = ["resource": "ownership", "artifact_id": .string(a.id), "from": .string(from), "to": .string(to)]
        try events.append(db, "transfer", principal: requester, .object(data.merging(StorageMove.fields(moved)) { mine, _ in mine }))
    }
}
