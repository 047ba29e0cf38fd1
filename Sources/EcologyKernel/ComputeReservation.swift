import EcologyCore
import Foundation
import GRDB
import NIOConcurrencyHelpers

/// Compute held for executions that are running, the way `reserveLLM` holds llm_budget for
/// an LLM call: no child starts unless its payer can pay for it (docs/KERNEL.md, "No work
/// runs unpaid").
///
/// A hold is in memory, not in the bucket: the bucket is charged once, with the measured
/// CPU, when the execution is over (`chargeCompute`), so refill stays exact and a hold never
/// makes its payer look frozen. What a hold does is keep concurrent executions from paying
/// with the same compute: a payer's *available* compute is its balance minus what its
/// running executions hold. Holds die with the process, as its children do.
final class ComputeReservations: Sendable {
    private struct Holds {
        var held: [String: Int64] = [:]
        /// Contract evaluations' CPU, measured but not yet charged (see `Kernel.settleDeferredCharges`).
        var deferred: [DeferredCharge] = []
    }
    private let holds = NIOLockedValueBox(Holds())

    func withLock<T>(_ body: (inout [String: Int64]) throws -> T) rethrows -> T {
        try holds.withLockedValue { try body(&$0.held) }
    }

    func release(_ r: ComputeReservation) {
        holds.withLockedValue { h in
            let left = (h.held[r.payer] ?? 0) - r.scaledUnits
            h.held[r.payer] = left > 0 ? left : nil
        }
    }

    func deferCharge(_ r: ComputeReservation, cpuMicros: Int64, event: (type: String, data: JSONValue)? = nil) {
        holds.withLockedValue { $0.deferred.append(DeferredCharge(reservation: r, cpuMicros: cpuMicros, event: event)) }
    }

    func takeDeferred() -> [DeferredCharge] {
        holds.withLockedValue { h in
            let all = h.deferred
            h.deferred = []
            return all
        }
    }

    func restoreDeferred(_ items: [DeferredCharge]) {
        holds.withLockedValue { $0.deferred = items + $0.deferred }
    }

    /// Compute held for `payer` now, in scaled units (tests and `inspect`).
    func held(by payer: String) -> Int64 { holds.withLockedValue { $0.held[payer] ?? 0 } }
}

/// Measured CPU waiting to be charged, with the event that records it.
struct DeferredCharge: Sendable {
    let reservation: ComputeReservation
    let cpuMicros: Int64
    let event: (type: String, data: JSONValue)?
}

/// Compute held for one execution, and the CPU limit that hold pays for.
struct ComputeReservation: Sendable {
    let payer: String
    /// Scaled units of the payer's compute held (`TokenBucket.scale` per CPU-ms).
    let scaledUnits: Int64
    /// The child's CPU limit (RLIMIT_CPU, whole seconds): what the payer can pay for.
    let cpuLimitSeconds: Int
}

extension Kernel {
    /// Checks that `payer` can pay for an execution of `what` and holds compute for it
    /// (the arithmetic: `ComputeHoldRule.hold`).
    ///
    /// The payer must be a principal (a payer that is not one would let code run for free),
    /// not frozen, with available compute (balance minus holds) above zero. The execution's
    /// CPU limit is the available compute rounded up to whole seconds (RLIMIT_CPU's unit),
    /// at least 1 and at most `ceilingSeconds`. The hold is the most CPU the child can burn:
    /// that limit, or less when `wallSeconds` (the time it may run) is shorter, since its
    /// cgroup quota is one core; at most what is available. So one execution can take its
    /// payer at most one CPU-second (rounding) plus the hard limit's grace second
    /// (`zygote.py`: hard = soft + 1) into debt, and two executions can never spend the
    /// same compute.
    func reserveCompute(_ db: Database, payer: String, ceilingSeconds: Int, wallSeconds: Double,
                        what: String) throws -> ComputeReservation {
        try computeReservations.withLock { held in
            guard let state = try ComputeState.load(db, payer) else {
                throw KernelError.denied("\(payer) is not a principal: nobody would pay for running \(what) (only artifacts with standing pay for compute)")
            }
            let now = clock.nowMicros()
            try requireNotFrozen(payer, state.bucket, now: now)
            let balanceScaled = state.bucket.scaledBalance(atMicros: now)
            guard let hold = ComputeHoldRule.hold(balanceScaled: balanceScaled, heldScaled: held[payer] ?? 0,
                                                  ceilingSeconds: ceilingSeconds, wallSeconds: wallSeconds) else {
                let balance = state.bucket.balance(atMicros: now)
                let available = balanceScaled.subtractingReportingOverflow(held[payer] ?? 0).partialValue
                throw KernelError(.insufficientCompute,
                                  "\(payer) cannot pay for running \(what): compute balance \(balance) CPU-ms, of which running executions hold \((held[payer] ?? 0) / TokenBucket.scale); it recovers by accumulation or a transfer",
                                  details: ["compute": .int(balance), "held": .int((held[payer] ?? 0) / TokenBucket.scale)],
                                  retryAfter: state.bucket.ratePerSecond > 0 ? Double(1 - available) / Double(state.bucket.ratePerSecond) / 1_000_000 : nil)
            }
            held[payer] = (held[payer] ?? 0) + hold.scaledUnits
            return ComputeReservation(payer: payer, scaledUnits: hold.scaledUnits, cpuLimitSeconds: hold.cpuLimitSeconds)
        }
    }

    /// Releases a hold; call it once the execution's measured CPU is charged (committed).
    func releaseCompute(_ r: ComputeReservation) { computeReservations.release(r) }

    /// Charges, in a transaction of their own, the CPU of the contract evaluations an
    /// action asked for (before its apply step, which a denial rolls back: charged there,
    /// the work would go unpaid exactly when the contract says no), then releases their
    /// holds. Called when an action ends, outside any transaction; whatever a failed commit
    /// leaves is charged by the next action.
    func settleDeferredCharges() {
        let items = computeReservations.takeDeferred()
        guard !items.isEmpty else { return }
        do {
            try database.writeTransaction { db in
                for item in items {
                    try chargeCompute(db, payer: item.reservation.payer, cpuMicros: item.cpuMicros)
                    if let e = item.event { try events.append(db, e.type, principal: item.reservation.payer, e.data) }
                }
            }
            for item in items { releaseCompute(item.reservation) }
        } catch {
            computeReservations.restoreDeferred(items)
        }
    }
}
