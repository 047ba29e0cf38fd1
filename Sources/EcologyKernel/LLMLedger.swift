import EcologyCore
import GRDB

/// The kernel's side of LLM accounting: the per-principal llm_budget (stock) and
/// llm_rate (token bucket) live in the ledger; the supervisor's gateway reserves the
/// worst case before a call and settles to the real usage after it.
extension Kernel {
    public struct LLMShortfall: Error, Sendable {
        /// "budget" or "rate".
        public var limit: String
        public var available: Int64
        public var ratePerSecond: Int64
        public var capacity: Int64
        public var retryAfter: Double?
    }

    /// Atomically takes `microdollars` from llm_budget and `tokens` from the llm_rate
    /// bucket, or nothing. Throws `LLMShortfall` describing the limit hit, or a
    /// KernelError (NOT_FOUND, INSUFFICIENT_COMPUTE when frozen).
    public func reserveLLM(principal: String, microdollars: Int64, tokens: Int64) throws {
        try database.writeTransaction { db in
            let now = clock.nowMicros()
            var p = try Principal.require(db, principal)
            try requireNotFrozen(p, now: now)
            if p.llmBudget <= 0 || p.llmBudget < microdollars {
                throw LLMShortfall(limit: "budget", available: p.llmBudget, ratePerSecond: 0, capacity: 0, retryAfter: nil)
            }
            let available = p.llmRate.balance(atMicros: now)
            if available < tokens {
                let retry: Double? = tokens > p.llmRate.capacity || p.llmRate.ratePerSecond <= 0 ? nil
                    : Double(tokens - available) / Double(p.llmRate.ratePerSecond)
                throw LLMShortfall(limit: "rate", available: available, ratePerSecond: p.llmRate.ratePerSecond,
                                   capacity: p.llmRate.capacity, retryAfter: retry)
            }
            p.llmBudget -= microdollars
            p.llmRate.consume(units: tokens, atMicros: now)
            try p.save(db)
        }
    }

    /// Replaces a reservation by the real use. Returns (charged, uncollected, budget after):
    /// a refund if the real use is smaller; if larger, the extra is taken from the budget
    /// as far as it goes (never below zero) and from the rate bucket into debt.
    public func settleLLM(principal: String, reservedMicrodollars: Int64, reservedTokens: Int64,
                          actualMicrodollars: Int64, actualTokens: Int64) throws -> (Int64, Int64, Int64) {
        try database.writeTransaction { db in
            let now = clock.nowMicros()
            var p = try Principal.require(db, principal)
            let extra = actualMicrodollars - reservedMicrodollars
            var uncollected: Int64 = 0
            if extra <= 0 {
                p.llmBudget += -extra
            } else {
                let take = min(extra, p.llmBudget)
                p.llmBudget -= take
                uncollected = extra - take
            }
            let tokenDelta = actualTokens - reservedTokens
            if tokenDelta > 0 { p.llmRate.consume(units: tokenDelta, atMicros: now) }
            else if tokenDelta < 0 {
                // A refund never lifts the bucket above its capacity.
                let room = max(0, p.llmRate.capacity - p.llmRate.balance(atMicros: now))
                p.llmRate.credit(units: min(-tokenDelta, room), atMicros: now)
            }
            try p.save(db)
            if config.costs.llmCallMs > 0 { try chargeCompute(db, payer: principal, cpuMicros: 0, kernelMs: config.costs.llmCallMs) }
            return (actualMicrodollars - uncollected, uncollected, p.llmBudget)
        }
    }
}

extension Kernel {
    /// Appends an event outside any action (supervisor events: agent lifecycle, llm_call).
    @discardableResult
    public func recordEvent(_ type: String, principal: String?, _ data: JSONValue) throws -> Int64 {
        try database.writeTransaction { db in try events.append(db, type, principal: principal, data) }
    }

    /// Charges an agent's own measured CPU (its long-lived process) to its compute bucket.
    public func chargeAgentCPU(_ principal: String, cpuMicros: Int64) throws {
        try database.writeTransaction { db in try chargeCompute(db, payer: principal, cpuMicros: cpuMicros) }
    }
}

extension Kernel {
    /// One supervision window, in one transaction: charges each agent's measured CPU,
    /// records its state and action count, and reconciles frozen states (logging
    /// `agent_frozen` / `agent_unfrozen` on change). Returns whether each agent is in
    /// compute debt now. Per-agent transactions here cost 3 writes per agent per second.
    public func recordSupervisionWindow(_ agents: [(id: String, cpuMicros: Int64, status: String, actions: Int64)]) throws -> [String: Bool] {
        try database.writeTransaction { db in
            var frozen: [String: Bool] = [:]
            let now = clock.nowMicros()
            for a in agents {
                if a.cpuMicros > 0 { try chargeCompute(db, payer: a.id, cpuMicros: a.cpuMicros) }
                try db.cachedStatement(sql: """
                    INSERT INTO agent_state (id, status, actions, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET status = excluded.status, actions = actions + excluded.actions, updated_at = excluded.updated_at
                    """).execute(arguments: [a.id, a.status, a.actions, now])
                guard var p = try Principal.load(db, a.id) else { continue }
                let inDebt = p.compute.isInDebt(atMicros: now)
                frozen[a.id] = inDebt
                if let event = FreezeRule.eventToRecord(inDebt: inDebt, recordedFrozen: p.frozenRecorded) {
                    p.frozenRecorded = inDebt
                    try p.save(db)
                    try events.append(db, event, principal: a.id, ["compute": .int(p.compute.balance(atMicros: now))])
                }
            }
            return frozen
        }
    }
}
