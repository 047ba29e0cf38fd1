import EcologyCore
import Foundation
import GRDB

/// Counts every action the kernel answers, per caller, action and result code, and
/// writes the counts to `action_tallies` in batches so that a stopped world can still be
/// inspected (`Kernel.threats`, `ecology inspect threats`).
///
/// The counts come from the kernel's observer hook, not from what an agent says of
/// itself: an adversary cannot hide an attempt or make one up. Counting is a dictionary
/// update under a lock; the database sees one transaction per `flush`, never one write
/// per action. `startFlushing(every:)` flushes periodically; `stop()` flushes what is
/// left, so a clean stop loses nothing and a crash loses at most one period's counts.
public final class ActionOutcomeTally: KernelObserver, @unchecked Sendable {
    // Safe: `pending` and `timer` are only touched while `lock` is held; the kernel is
    // safe to use from any thread.
    private let lock = NSLock()
    private let kernel: Kernel
    private var pending: [Key: Int64] = [:]
    private var timer: DispatchSourceTimer?

    struct Key: Hashable {
        let caller: String
        let action: String
        /// The error code's raw value, "" for a success.
        let code: String
    }

    public init(kernel: Kernel) {
        self.kernel = kernel
    }

    public func kernelHandled(_ outcome: ActionOutcome) {
        let key = Key(caller: outcome.caller, action: outcome.action, code: outcome.code?.rawValue ?? "")
        lock.lock(); pending[key, default: 0] += 1; lock.unlock()
    }

    /// Counts not yet written, for tests and the summary.
    public var pendingCount: Int64 { lock.lock(); defer { lock.unlock() }; return pending.values.reduce(0, +) }

    /// Writes the counts gathered since the last flush in one transaction. On a failure
    /// they are kept for the next flush.
    public func flush() throws {
        lock.lock(); let batch = pending; pending = [:]; lock.unlock()
        guard !batch.isEmpty else { return }
        do {
            try kernel.addActionTallies(batch)
        } catch {
            lock.lock(); for (k, n) in batch { pending[k, default: 0] += n }; lock.unlock()
            throw error
        }
    }

    /// Flushes every `seconds` on a background queue until `stop()`.
    public func startFlushing(every seconds: Double) {
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "ecology.action-tally"))
        let interval = DispatchTimeInterval.milliseconds(max(10, min(3_600_000, CheckedNumber.clampedInt(seconds * 1000))))
        t.schedule(deadline: .now() + interval, repeating: interval)
        // A failed periodic flush keeps its counts for the next one (or for `stop`).
        t.setEventHandler { [weak self] in try? self?.flush() }
        lock.lock(); timer?.cancel(); timer = t; lock.unlock()
        t.resume()
    }

    /// Stops the periodic flush and writes what is left.
    public func stop() throws {
        lock.lock(); let t = timer; timer = nil; lock.unlock()
        t?.cancel()
        try flush()
    }
}

extension Kernel {
    /// Adds a batch of counts to `action_tallies`, in one transaction.
    func addActionTallies(_ batch: [ActionOutcomeTally.Key: Int64]) throws {
        try database.write { db in
            let s = try db.cachedStatement(sql: """
                INSERT INTO action_tallies (caller, action, code, count) VALUES (?, ?, ?, ?)
                ON CONFLICT(caller, action, code) DO UPDATE SET count = count + excluded.count
                """)
            for (k, n) in batch { try s.execute(arguments: [k.caller, k.action, k.code, n]) }
        }
    }
}
