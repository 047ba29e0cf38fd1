import EcologyCore
import Foundation
import NIOConcurrencyHelpers

/// `LLMAccounting` held in memory under one lock: each `reserve` and `settle` is
/// atomic with respect to every other. Buckets refill on the injected clock, so tests
/// drive them with a `VirtualClock`. The kernel's database-backed ledger follows the
/// same rules (see `LLMAccounting`).
public final class InMemoryLLMAccounting: LLMAccounting, Sendable {
    private let clock: WorldClock
    /// Everything `reserve` and `settle` read and change, under one lock.
    private struct Ledger {
        var budgets: [String: Int64] = [:]
        var agentBuckets: [String: TokenBucket] = [:]
        var systemBucket: TokenBucket
        var openReservations: [UInt64: LLMReservation] = [:]
        var nextID: UInt64 = 1
    }
    private let ledger: NIOLockedValueBox<Ledger>

    /// `systemRate` is the world's provider limit shared by every principal.
    public init(clock: WorldClock, systemRate: BucketConfig) {
        self.clock = clock
        ledger = NIOLockedValueBox(Ledger(systemBucket: TokenBucket(ratePerSecond: systemRate.ratePerSecond, capacity: systemRate.capacity,
                                                        balance: systemRate.initial, nowMicros: clock.nowMicros())))
    }

    /// Creates (or replaces) a principal's llm_budget and llm_rate bucket.
    public func open(principal: String, budgetMicrodollars: Int64, rate: BucketConfig) {
        ledger.withLockedValue { l in
            l.budgets[principal] = max(0, budgetMicrodollars)
            l.agentBuckets[principal] = TokenBucket(ratePerSecond: rate.ratePerSecond, capacity: rate.capacity,
                                                    balance: rate.initial, nowMicros: clock.nowMicros())
        }
    }

    /// Adds to a principal's llm_budget (a transfer in).
    public func credit(principal: String, microdollars: Int64) {
        ledger.withLockedValue { l in
            if let b = l.budgets[principal] { l.budgets[principal] = b + max(0, microdollars) }
        }
    }

    public func budget(of principal: String) -> Int64? {
        ledger.withLockedValue { $0.budgets[principal] }
    }

    /// Whole tokens in the principal's llm_rate bucket now.
    public func rateBalance(of principal: String) -> Int64? {
        ledger.withLockedValue { $0.agentBuckets[principal]?.balance(atMicros: clock.nowMicros()) }
    }

    public func systemRateBalance() -> Int64 {
        ledger.withLockedValue { $0.systemBucket.balance(atMicros: clock.nowMicros()) }
    }

    /// Reservations taken and not yet settled.
    public var openReservationCount: Int {
        ledger.withLockedValue { $0.openReservations.count }
    }

    public func reserve(principal: String, microdollars: Int64, tokens: Int64) throws -> LLMReservation {
        guard microdollars >= 0, tokens >= 0 else { throw KernelError.invalid("a reservation cannot be negative") }
        return try ledger.withLockedValue { l throws(KernelError) -> LLMReservation in
            guard let budget = l.budgets[principal], var agent = l.agentBuckets[principal] else {
                throw KernelError(.notFound, "\(principal) has no llm_budget (not a principal)")
            }
            // SPEC: at 0 the agent cannot call an LLM, even a free one.
            if budget <= 0 || budget < microdollars {
                throw LLMAccountingErrors.budgetExhausted(principal: principal, budget: budget, required: microdollars)
            }
            let now = clock.nowMicros()
            let shortfalls = [Self.shortfall(agent, bucket: "agent", principal: principal, tokens: tokens, now: now),
                              Self.shortfall(l.systemBucket, bucket: "system", principal: principal, tokens: tokens, now: now)]
                .compactMap { $0 }
            // When both buckets are short, name the one that keeps the caller waiting longer.
            if let worst = shortfalls.max(by: { ($0.retryAfter ?? .infinity) < ($1.retryAfter ?? .infinity) }) {
                throw worst
            }
            agent.consume(units: tokens, atMicros: now)
            l.agentBuckets[principal] = agent
            l.systemBucket.consume(units: tokens, atMicros: now)
            l.budgets[principal] = budget - microdollars
            let reservation = LLMReservation(id: l.nextID, principal: principal, microdollars: microdollars,
                                             tokens: tokens, atMicros: now)
            l.nextID += 1
            l.openReservations[reservation.id] = reservation
            return reservation
        }
    }

    public func settle(_ reservation: LLMReservation, microdollars: Int64, tokens: Int64,
                       estimated: Bool) throws -> LLMSettlement {
        try ledger.withLockedValue { l throws(KernelError) -> LLMSettlement in
            guard l.openReservations.removeValue(forKey: reservation.id) != nil else {
                throw KernelError(.internal, "LLM reservation \(reservation.id) is not open (settled twice?)")
            }
            let principal = reservation.principal
            let actualMoney = max(0, microdollars), actualTokens = max(0, tokens)
            var budget = l.budgets[principal] ?? 0
            var charged = actualMoney, uncollected: Int64 = 0
            if actualMoney <= reservation.microdollars {
                budget += reservation.microdollars - actualMoney
            } else {
                let extra = min(actualMoney - reservation.microdollars, budget)
                budget -= extra
                charged = reservation.microdollars + extra
                uncollected = actualMoney - charged
            }
            l.budgets[principal] = budget
            let now = clock.nowMicros()
            let delta = actualTokens - reservation.tokens
            if var agent = l.agentBuckets[principal] {
                Self.adjust(&agent, by: delta, now: now)
                l.agentBuckets[principal] = agent
            }
            Self.adjust(&l.systemBucket, by: delta, now: now)
            return LLMSettlement(chargedMicrodollars: charged, uncollectedMicrodollars: uncollected,
                                 chargedTokens: actualTokens, estimated: estimated, budgetAfterMicrodollars: budget)
        }
    }

    /// Nil when `bucket` can give `tokens` now; otherwise the RATE_LIMITED error.
    static func shortfall(_ bucket: TokenBucket, bucket name: String, principal: String, tokens: Int64,
                          now: Int64) -> KernelError? {
        let available = bucket.scaledBalance(atMicros: now)
        let needed = tokens * TokenBucket.scale
        guard available < needed else { return nil }
        var retryAfter: Double?
        if tokens <= bucket.capacity, bucket.ratePerSecond > 0 {
            // Refill adds `ratePerSecond` scaled units per microsecond.
            let micros = (needed - available + bucket.ratePerSecond - 1) / bucket.ratePerSecond
            retryAfter = Double(micros) / 1_000_000
        }
        return LLMAccountingErrors.rateLimited(bucket: name, principal: principal, requested: tokens,
                                               available: bucket.balance(atMicros: now),
                                               ratePerSecond: bucket.ratePerSecond, capacity: bucket.capacity,
                                               retryAfter: retryAfter)
    }

    /// Takes `delta` more tokens (into debt if need be), or refunds `-delta` without
    /// lifting the balance above capacity.
    static func adjust(_ bucket: inout TokenBucket, by delta: Int64, now: Int64) {
        if delta >= 0 {
            bucket.consume(units: delta, atMicros: now)
            return
        }
        let room = bucket.capacity * TokenBucket.scale - bucket.scaledBalance(atMicros: now)
        let refund = min(-delta * TokenBucket.scale, room)
        if refund > 0 { bucket.consume(scaledUnits: -refund, atMicros: now) }
    }
}
