import EcologyCore
import EcologyKernel
import EcologyLLM
import Foundation

/// The gateway's accounting on the world ledger: each agent's llm_budget and llm_rate
/// live in the database; the system-wide bucket (the provider's token limit) lives in
/// the supervisor, the only process that calls the provider.
final class WorldLLMAccounting: LLMAccounting, @unchecked Sendable {
    // Safe: `system`, `nextID`, `open` and `pending` are only read or written while `lock`
    // is held (`retryPending` is called only from `reserve` and `settle`, which hold it).
    // The lock is held across the kernel's ledger writes, so that the system bucket and
    // the ledger move as one step. `kernel` is immutable and Sendable.
    private let kernel: Kernel
    private let lock = NSLock()
    private var system: TokenBucket
    private var nextID: UInt64 = 1
    private var open: Set<UInt64> = []
    /// Settlements the ledger could not write (disk full, I/O error): each reservation
    /// stays taken in the ledger until it is written, at the start of a later reserve or
    /// settle. Bounded: past `maxPending` the oldest is given up (and logged by the caller's error).
    private var pending: [(reservation: LLMReservation, microdollars: Int64, tokens: Int64)] = []
    static let maxPending = 10_000

    init(kernel: Kernel) {
        self.kernel = kernel
        let c = kernel.config.resources.systemLLMRate
        system = TokenBucket(ratePerSecond: c.ratePerSecond, capacity: c.capacity, balance: c.initial, nowMicros: kernel.clock.nowMicros())
    }

    /// Reservations taken and not yet settled (every call settles its own, whatever fails).
    var openReservationCount: Int { lock.lock(); defer { lock.unlock() }; return open.count }

    /// Settlements waiting for the ledger to accept their write.
    var pendingSettlementCount: Int { lock.lock(); defer { lock.unlock() }; return pending.count }

    /// Writes the settlements that failed before, oldest first, until one fails again.
    /// Called with `lock` held.
    private func retryPending() {
        while let p = pending.first {
            do {
                _ = try kernel.settleLLM(principal: p.reservation.principal, reservedMicrodollars: p.reservation.microdollars,
                                         reservedTokens: p.reservation.tokens, actualMicrodollars: p.microdollars,
                                         actualTokens: p.tokens)
                pending.removeFirst()
            } catch is KernelError {
                pending.removeFirst()  // the principal is gone: nothing left to settle
            } catch {
                return  // the ledger still refuses writes: try again later
            }
        }
    }

    /// Tokens in the system-wide bucket now.
    var systemBalance: Int64 { lock.lock(); defer { lock.unlock() }; return system.balance(atMicros: kernel.clock.nowMicros()) }

    func reserve(principal: String, microdollars: Int64, tokens: Int64) throws -> LLMReservation {
        // The lock makes system bucket + ledger one atomic step for this supervisor.
        lock.lock(); defer { lock.unlock() }
        retryPending()
        let now = kernel.clock.nowMicros()
        let available = system.balance(atMicros: now)
        if available < tokens {
            let never = tokens > system.capacity || system.ratePerSecond <= 0
            throw LLMAccountingErrors.rateLimited(bucket: "system", principal: principal, requested: tokens, available: available,
                                                  ratePerSecond: system.ratePerSecond, capacity: system.capacity,
                                                  retryAfter: never ? nil : Double(tokens - available) / Double(system.ratePerSecond))
        }
        do {
            try kernel.reserveLLM(principal: principal, microdollars: microdollars, tokens: tokens)
        } catch let s as Kernel.LLMShortfall {
            if s.limit == "budget" {
                throw LLMAccountingErrors.budgetExhausted(principal: principal, budget: s.available, required: microdollars)
            }
            throw LLMAccountingErrors.rateLimited(bucket: "agent", principal: principal, requested: tokens, available: s.available,
                                                  ratePerSecond: s.ratePerSecond, capacity: s.capacity, retryAfter: s.retryAfter)
        }
        system.consume(units: tokens, atMicros: now)
        let id = nextID; nextID += 1; open.insert(id)
        return LLMReservation(id: id, principal: principal, microdollars: microdollars, tokens: tokens, atMicros: now)
    }

    func settle(_ r: LLMReservation, microdollars: Int64, tokens: Int64, estimated: Bool) throws -> LLMSettlement {
        lock.lock(); defer { lock.unlock() }
        guard open.remove(r.id) != nil else { throw KernelError(.internal, "reservation \(r.id) settled twice") }
        retryPending()
        let now = kernel.clock.nowMicros()
        let delta = tokens - r.tokens
        if delta > 0 { system.consume(units: delta, atMicros: now) }
        else if delta < 0 { system.credit(units: min(-delta, max(0, system.capacity - system.balance(atMicros: now))), atMicros: now) }
        let charged: Int64, uncollected: Int64, after: Int64
        do {
            (charged, uncollected, after) = try kernel.settleLLM(principal: r.principal, reservedMicrodollars: r.microdollars,
                                                                 reservedTokens: r.tokens, actualMicrodollars: microdollars,
                                                                 actualTokens: tokens)
        } catch let e as KernelError {
            throw e
        } catch {
            // The ledger could not be written: keep the settlement for later, so the
            // reservation is refunded (or topped up) to the real use once it can be.
            if pending.count >= Self.maxPending { pending.removeFirst() }
            pending.append((r, microdollars, tokens))
            let e = Kernel.internalError(error)
            throw KernelError(e.code, e.message + "; the settlement will be written when the ledger accepts writes again",
                              details: e.details)
        }
        return LLMSettlement(chargedMicrodollars: charged, uncollectedMicrodollars: uncollected, chargedTokens: tokens,
                             estimated: estimated, budgetAfterMicrodollars: after)
    }
}
