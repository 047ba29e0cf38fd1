import Foundation
import GRDB

/// Group commit for the kernel's write transactions.
///
/// SQLite has one writer. With hundreds of agent threads acting at once, each action
/// used to wait for every action queued before it to BEGIN, run, and COMMIT on its own,
/// so a cheap call's latency grew with the queue and the fixed cost of a commit (WAL
/// frames, locks) was paid once per action. Here, callers that arrive while a commit is
/// in progress queue up; one of them (the leader) then runs up to `maxBatch` of the
/// queued bodies in a single transaction, each inside its own SAVEPOINT, and commits
/// once. A body that throws is rolled back to its savepoint and gets its error; the
/// others are unaffected. No caller returns before the COMMIT that contains its body
/// has succeeded, so each action is exactly as atomic and durable as before, and the
/// serial order of the batch is the order in which the bodies ran. A caller alone
/// (no concurrency) gets a plain BEGIN/COMMIT with no savepoint.
final class GroupCommit: @unchecked Sendable {
    // Safe: `pending`, `leaderActive` and `counts` are only read or written while `lock` is
    // held. A `Member` is shared by its caller and the leader that runs it: `lead` is set
    // under `lock` before the member's `wake` is signalled and read by its caller after
    // `wake.wait()`; `body` (with the caller's `result`, which it sets) and `error` are written by the
    // leader in `run` and read by the caller only once it is woken (or, as the leader, after `run` returned on its own
    // thread). The semaphore orders each write before the read.
    let maxBatch: Int
    private let lock = NSLock()
    private var pending: [Member] = []
    private var leaderActive = false
    private var counts = (batches: 0, bodies: 0)

    init(maxBatch: Int = 32) { self.maxBatch = max(1, maxBatch) }

    /// Transactions committed and bodies run in them, for tests and diagnostics.
    var statistics: (batches: Int, bodies: Int) { lock.lock(); defer { lock.unlock() }; return counts }

    private final class Member {
        /// Dropped as soon as the batch is over: it borrows the caller's non-escaping closure.
        var body: ((Database) throws -> Void)?
        var error: Error?
        var lead = false
        let wake = DispatchSemaphore(value: 0)
        init(_ body: @escaping (Database) throws -> Void) { self.body = body }
    }

    /// Runs `body` in a write transaction shared with concurrent callers; returns once committed.
    func perform<T>(_ pool: DatabasePool, _ body: (Database) throws -> T) throws -> T {
        var result: T?
        // The caller blocks until its body has run, so the non-escaping body may be lent out.
        let me: Member = withoutActuallyEscaping(body) { body in
            let me = Member { db in result = try body(db) }
            lock.lock()
            pending.append(me)
            let leadNow = !leaderActive
            if leadNow { leaderActive = true }
            lock.unlock()
            if !leadNow { me.wake.wait() }
            if leadNow || me.lead { lead(pool) }
            return me
        }
        if let error = me.error { throw error }
        return result!
    }

    /// Commits one batch that starts with the leader's own member, wakes its members,
    /// and hands leadership to the oldest waiting caller, if any.
    private func lead(_ pool: DatabasePool) {
        lock.lock()
        let batch = Array(pending.prefix(maxBatch))
        pending.removeFirst(batch.count)
        lock.unlock()

        run(batch, pool)

        lock.lock()
        counts.batches += 1
        counts.bodies += batch.count
        let next = pending.first
        if next == nil { leaderActive = false } else { next!.lead = true }
        lock.unlock()
        // The leader's own member is batch[0]: its thread is this one and needs no wake-up.
        for m in batch.dropFirst() { m.wake.signal() }
        next?.wake.signal()
    }

    private func run(_ batch: [Member], _ pool: DatabasePool) {
        defer { for m in batch { m.body = nil } }
        do {
            // Marked for the kernel's rule that no child runs while the writer is held (`WriterThread`).
            try pool.writeWithoutTransaction { db in try WriterThread.holding {
                try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
                var applied: [Member] = []
                do {
                    if batch.count == 1 {
                        try batch[0].body!(db)
                        applied.append(batch[0])
                    } else {
                        for m in batch {
                            try db.cachedStatement(sql: "SAVEPOINT action").execute()
                            do {
                                try m.body!(db)
                                applied.append(m)
                            } catch {
                                m.error = error
                                // A failed statement can abort the whole transaction (SQLITE_FULL, I/O);
                                // then nothing of this batch is committed.
                                guard db.isInsideTransaction else { throw error }
                                try db.cachedStatement(sql: "ROLLBACK TO action").execute()
                            }
                            try db.cachedStatement(sql: "RELEASE action").execute()
                        }
                    }
                    try db.cachedStatement(sql: "COMMIT").execute()
                } catch {
                    if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
                    throw error
                }
            } }
        } catch {
            // Nothing of the batch was committed: every member that has no error of its own gets this one.
            for m in batch where m.error == nil { m.error = error }
        }
    }
}
