import EcologyCore
import GRDB

/// `genesis_rights_registry`: quotas of compute, disk and llm_budget, and their transfer.
struct RightsRegistryService: GenesisService {
    static let id = "genesis_rights_registry"
    let summary = "Resource quotas: compute (balance, rate, capacity), disk and LLM budget; transfer them to anyone."
    static let resources = ["compute", "compute_rate", "compute_capacity", "disk", "llm_budget"]
    let tools: [ToolSpec] = [
        ToolSpec("check_quota", "Quotas of a principal (default: yourself).", [("principal", "string", "principal", false)]),
        ToolSpec("all_quotas", "Quotas of every principal."),
        ToolSpec("transfer_quota", "Give part of a quota to any principal (rescue a frozen one with compute). resource: compute (CPU-ms), compute_rate (CPU-ms/s), compute_capacity, disk (bytes), llm_budget (micro-dollars).",
                 [("to", "string", "recipient principal", true), ("resource", "string", "which quota", true),
                  ("amount", "integer", "amount, > 0", true)]),
    ]

    static func quotas(_ p: Principal, now: Int64) -> JSONValue {
        .object([
            "principal": .string(p.id),
            "compute": .object(["balance": .int(p.compute.balance(atMicros: now)), "rate_per_second": .int(p.compute.ratePerSecond),
                                "capacity": .int(p.compute.capacity), "frozen": .bool(p.compute.isInDebt(atMicros: now))]),
            "llm_rate": .object(["balance": .int(p.llmRate.balance(atMicros: now)), "rate_per_second": .int(p.llmRate.ratePerSecond),
                                 "capacity": .int(p.llmRate.capacity)]),
            "disk": .object(["used": .int(p.diskUsed), "quota": .int(p.diskQuota)]),
            "llm_budget_microdollars": .int(p.llmBudget),
        ])
    }

    func call(_ method: String, _ args: Args, _ ctx: CallContext, _ k: Kernel) throws -> JSONValue {
        switch method {
        case "check_quota":
            let who = try args.optionalID("principal") ?? ctx.caller
            return try k.readOnly { db in Self.quotas(try Principal.require(db, who), now: k.clock.nowMicros()) }
        case "all_quotas":
            return try k.readOnly { db in
                let now = k.clock.nowMicros()
                return .array(try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Principal.columns) FROM principals ORDER BY id"))
                    .map { Self.quotas(Principal(row: $0), now: now) })
            }
        case "transfer_quota":
            let to = try args.id("to"), resource = try args.string("resource"), amount = try args.amount("amount")
            guard Self.resources.contains(resource) else {
                throw KernelError.invalid("resource must be one of \(Self.resources.joined(separator: ", "))")
            }
            if to == ctx.caller { throw KernelError.invalid("cannot transfer a quota to yourself") }
            // A frozen principal may still be rescued, but a frozen giver cannot act.
            return try k.deciding { decisions in try k.transaction(ctx) { db in
                try k.authorize(db, .transfer, on: try k.liveArtifact(db, ctx.caller), by: ctx, decisions: decisions)
                // Quotas of genesis accounts are fixed by their role: none is given or taken here.
                let holding: GenesisAccounts.Holding = resource == "disk" ? .diskQuota : resource == "llm_budget" ? .llmBudget : .compute
                try GenesisAccounts.require(ctx.caller, mayHold: holding, as: "giver of \(resource)")
                try GenesisAccounts.require(to, mayHold: holding, as: "recipient of \(resource)")
                var from = try Principal.require(db, ctx.caller)
                var dest = try Principal.require(db, to)
                let now = k.clock.nowMicros()
                func short(_ have: Int64) -> KernelError {
                    KernelError(.insufficientFunds, "\(ctx.caller) has \(have) \(resource); \(amount) needed")
                }
                // The recipient's total is checked, not wrapped: what leaves one principal arrives whole.
                func plus(_ held: Int64) throws -> Int64 { try CheckedNumber.sum(held, amount, "\(to)'s \(resource)") }
                switch resource {
                case "compute":
                    let have = from.compute.balance(atMicros: now)
                    guard have >= amount else { throw short(have) }
                    guard dest.compute.canCredit(units: amount, atMicros: now) else {
                        throw KernelError.invalid("\(to)'s compute bucket cannot hold \(amount) more CPU-ms (a bucket holds at most \(TokenBucket.maxUnits))")
                    }
                    from.compute.consume(units: amount, atMicros: now)
                    dest.compute.credit(units: amount, atMicros: now)
                case "compute_rate":
                    guard from.compute.ratePerSecond >= amount else { throw short(from.compute.ratePerSecond) }
                    from.compute.refill(toMicros: now); dest.compute.refill(toMicros: now)
                    dest.compute.ratePerSecond = try plus(dest.compute.ratePerSecond); from.compute.ratePerSecond -= amount
                case "compute_capacity":
                    guard from.compute.capacity >= amount else { throw short(from.compute.capacity) }
                    from.compute.refill(toMicros: now); dest.compute.refill(toMicros: now)
                    dest.compute.capacity = try plus(dest.compute.capacity); from.compute.capacity -= amount
                case "disk":
                    let free = from.diskQuota.saturatingSubtract(from.diskUsed)
                    guard free >= amount else { throw short(free) }
                    dest.diskQuota = try plus(dest.diskQuota); from.diskQuota -= amount
                default:
                    guard from.llmBudget >= amount else { throw short(from.llmBudget) }
                    dest.llmBudget = try plus(dest.llmBudget); from.llmBudget -= amount
                }
                try from.save(db); try dest.save(db)
                try k.events.append(db, "quota_transfer", principal: ctx.caller,
                                    ["from": .string(ctx.caller), "to": .string(to), "resource": .string(resource), "amount": .int(amount)])
                return Self.quotas(dest, now: now)
            } }
        default: throw unknown(method)
        }
    }
}
