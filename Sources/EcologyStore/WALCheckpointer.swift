import Foundation
import GRDB
import GRDBSQLite

/// Moves WAL checkpoints off the commit path.
///
/// SQLite's default auto-checkpoint runs inside the commit that crosses 1,000 WAL pages,
/// and a checkpoint in `synchronous=NORMAL` fsyncs the WAL and the database file. On an
/// ordinary disk that stalls the committing writer for milliseconds every few hundred
/// actions. Instead, the writer connection gets a WAL hook (which replaces its
/// auto-checkpoint) that only *schedules* a PASSIVE checkpoint on a background queue,
/// run by a connection of its own. Commits stay exactly as durable: the checkpoint
/// copies already-committed WAL frames into the database file; it never decides what
/// is committed. If checkpoints fall far behind (`hardLimitPages`), the writer
/// checkpoints inline as before, so the WAL cannot grow without bound.
final class WALCheckpointer: @unchecked Sendable {
    // Safe: the `let`s are immutable. `scheduled` and `completedCount` are only read or
    // written while `lock` is held (`completed` takes it too). `connection` is only used in
    // `checkpoint`, which runs on the serial `queue` alone, and in `deinit`, when no block
    // of `queue` can be left (each holds `self`). The WAL hook's context pointer is
    // unretained: `WorldDatabase` uninstalls the hook in its deinit, before it lets go of
    // the checkpointer.
    let path: String
    let thresholdPages: Int32
    let hardLimitPages: Int32
    private let queue = DispatchQueue(label: "ecology.wal-checkpoint", qos: .utility)
    private let lock = NSLock()
    private var scheduled = false
    /// Used only on `queue`.
    private var connection: OpaquePointer?
    private var completedCount = 0

    /// Checkpoints run in the background (for tests and diagnostics).
    var completed: Int { lock.lock(); defer { lock.unlock() }; return completedCount }

    init(path: String, thresholdPages: Int32 = 1_000, hardLimitPages: Int32 = 16_000) {
        self.path = path
        self.thresholdPages = thresholdPages
        self.hardLimitPages = hardLimitPages
    }

    deinit {
        if let connection { sqlite3_close_v2(connection) }
    }

    /// Installs the hook on the writer connection (call on the writer's queue).
    func install(on db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, walHook, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Removes the hook again (before the checkpointer may go away).
    static func uninstall(from db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, nil, nil)
    }

    /// Called by SQLite after each commit with the WAL's size in pages.
    fileprivate func committed(_ db: OpaquePointer?, pages: Int32) {
        if pages >= hardLimitPages {
            sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            return
        }
        guard pages >= thresholdPages else { return }
        lock.lock()
        let start = !scheduled
        scheduled = true
        lock.unlock()
        if start { queue.async { self.checkpoint() } }
    }

    /// Runs one PASSIVE checkpoint now, on the background connection. Waits for it.
    func checkpointNow() { queue.sync { self.checkpoint() } }

    private func checkpoint() {
        lock.lock(); scheduled = false; lock.unlock()
        if connection == nil {
            var c: OpaquePointer?
            guard sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
                sqlite3_close_v2(c)
                return  // the writer's hard limit still bounds the WAL
            }
            sqlite3_busy_timeout(c, 10)
            // A connection only learns that the file is in WAL mode when it first reads it.
            sqlite3_exec(c, "SELECT count(*) FROM sqlite_schema", nil, nil, nil)
            connection = c
        }
        // The bulk of the copy and both fsyncs happen here, while writers keep committing.
        guard sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil) == SQLITE_OK else { return }
        // Frames committed meanwhile keep the WAL from being reused, so under a steady
        // stream of commits it would only grow. A RESTART checkpoint copies that small
        // remainder while holding writers back briefly, so the next commit starts the WAL
        // file over. Its busy timeout is short: when a reader or writer is in the way it
        // gives up, and the next round tries again.
        _ = sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_RESTART, nil, nil)
        lock.lock(); completedCount += 1; lock.unlock()
    }
}

private let walHook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
    context, db, _, pages in
    guard let context else { return SQLITE_OK }
    Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().committed(db, pages: pages)
    return SQLITE_OK
}
