import EcologyCore

/// The ledger port the gateway charges through. The kernel implements it on the world
/// database; `InMemoryLLMAccounting` implements it for tests and tools.
///
/// Contract:
/// - `reserve` is atomic: it either takes `microdollars` from the principal's
///   llm_budget (a stock that never goes negative) **and** `tokens` from both the
///   principal's llm_rate bucket and the system-wide bucket, or takes nothing and
///   throws `BUDGET_EXHAUSTED` / `RATE_LIMITED` (with `retryAfter`, naming the bucket,
///   its limit and when to retry).
/// - `settle` is called exactly once per reservation and replaces the reserved
///   amounts with the real ones: the difference is refunded, or, if the real use is
///   larger, taken additionally — from the budget only as far as it goes (the rest is
///   reported as `uncollectedMicrodollars`), from the buckets into debt if need be.
///   A refund never lifts a bucket above its capacity.
public protocol LLMAccounting: Sendable {
    func reserve(principal: String, microdollars: Int64, tokens: Int64) throws -> LLMReservation
    func settle(_ reservation: LLMReservation, microdollars: Int64, tokens: Int64, estimated: Bool) throws -> LLMSettlement
}

/// Amounts held for one call until it settles.
public struct LLMReservation: Sendable, Equatable, Hashable {
    /// Unique per accounting instance; settling the same id twice is an error.
    public var id: UInt64
    public var principal: String
    public var microdollars: Int64
    public var tokens: Int64
    public var atMicros: Int64

    public init(id: UInt64, principal: String, microdollars: Int64, tokens: Int64, atMicros: Int64) {
        self.id = id; self.principal = principal; self.microdollars = microdollars
        self.tokens = tokens; self.atMicros = atMicros
    }
}

/// What a call finally cost.
public struct LLMSettlement: Sendable, Equatable {
    /// Micro-dollars taken from llm_budget for this call, in total.
    public var chargedMicrodollars: Int64
    /// Real cost the budget could not cover (it never goes below zero).
    public var uncollectedMicrodollars: Int64
    /// Tokens taken from the agent and system buckets, in total.
    public var chargedTokens: Int64
    public var estimated: Bool
    /// The principal's llm_budget after settlement.
    public var budgetAfterMicrodollars: Int64

    public init(chargedMicrodollars: Int64, uncollectedMicrodollars: Int64, chargedTokens: Int64, estimated: Bool,
                budgetAfterMicrodollars: Int64) {
        self.chargedMicrodollars = chargedMicrodollars; self.uncollectedMicrodollars = uncollectedMicrodollars
        self.chargedTokens = chargedTokens; self.estimated = estimated
        self.budgetAfterMicrodollars = budgetAfterMicrodollars
    }
}

/// The errors every `LLMAccounting` implementation raises, worded the same way.
public enum LLMAccountingErrors {
    public static func budgetExhausted(principal: String, budget: Int64, required: Int64) -> KernelError {
        let what = budget <= 0 ? "is exhausted (0 micro-dollars)" : "holds \(budget) micro-dollars"
        return KernelError(.budgetExhausted,
                           "llm_budget of \(principal) \(what); this call may cost up to \(required) micro-dollars "
                           + "(max_tokens × output price + input estimate). Lower max_tokens or receive a budget transfer.",
                           details: ["limit": "agent_budget", "principal": .string(principal),
                                     "llm_budget_microdollars": .int(budget), "required_microdollars": .int(required)])
    }

    /// `bucket` is "agent" (the principal's llm_rate) or "system" (the world's provider limit).
    /// A nil `retryAfter` means waiting alone will not help (the bucket never refills that far).
    public static func rateLimited(bucket: String, principal: String, requested: Int64, available: Int64,
                                   ratePerSecond: Int64, capacity: Int64, retryAfter: Double?) -> KernelError {
        let owner = bucket == "system" ? "the system-wide llm_rate bucket" : "llm_rate of \(principal)"
        var message = "\(owner) has \(available) tokens; this call needs up to \(requested) "
            + "(limit \(ratePerSecond) tokens/s, capacity \(capacity))"
        if let retryAfter {
            message += "; retry after \(formatSeconds(retryAfter)) s"
        } else {
            message += "; it never refills that far: lower max_tokens"
                + (bucket == "agent" ? " or receive an llm_rate quota transfer" : "")
        }
        return KernelError(.rateLimited, message,
                           details: ["limit": .string(bucket == "system" ? "system_rate" : "agent_rate"),
                                     "principal": .string(principal), "requested_tokens": .int(requested),
                                     "available_tokens": .int(available), "rate_per_second": .int(ratePerSecond),
                                     "capacity": .int(capacity)],
                           retryAfter: retryAfter)
    }

    static func formatSeconds(_ s: Double) -> String {
        let rounded = (s * 1000).rounded(.up) / 1000
        if let whole = CheckedNumber.exact(rounded) { return String(whole) }
        return String(rounded)
    }
}
