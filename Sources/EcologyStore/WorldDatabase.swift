import EcologyCore
import Foundation
import GRDB

/// The world's durable state: one SQLite database in WAL mode.
///
/// The database *is* the checkpoint. Every kernel mutation is one transaction, so a
/// `kill -9` of the supervisor loses no committed action. `synchronous=NORMAL` in WAL
/// mode is durable across process crashes (the OS still holds the WAL pages); only a
/// power loss can drop the last transactions. Set `durability: .full` to fsync each commit.
public final class WorldDatabase: Sendable {
    public enum Durability: String, Sendable { case normal, full }

    /// The database connection pool: concurrent readers, one serialized writer.
    public let pool: DatabasePool
    public let path: String
    let groupCommit = GroupCommit()

    /// Commits shared so far: transactions (`batches`) and the action bodies they carried.
    public var groupCommitStatistics: (batches: Int, bodies: Int) { groupCommit.statistics }

    /// Background WAL checkpoints (nil for the migration-test initializer).
    let checkpointer: WALCheckpointer?

    /// Opens (creating if needed) the world database at `path` and runs migrations.
    public init(path: String, durability: Durability = .normal) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        self.path = path
        self.pool = try DatabasePool(path: path, configuration: config)
        try WorldMigrations.migrator.migrate(pool)
        let checkpointer = WALCheckpointer(path: path)
        try pool.writeWithoutTransaction { db in checkpointer.install(on: db) }
        self.checkpointer = checkpointer
    }

    deinit {
        if checkpointer != nil { try? pool.writeWithoutTransaction { db in WALCheckpointer.uninstall(from: db) } }
    }

    /// Opens a database and migrates only up to (and including) `migration`.
    /// Used by tests to build a database as an older version of Ecology left it.
    public init(path: String, upTo migration: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        self.path = path
        self.pool = try DatabasePool(path: path, configuration: config)
        self.checkpointer = nil
        try WorldMigrations.migrator.migrate(pool, upTo: migration)
    }

    /// Identifiers of the migrations applied to this database, in order.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try WorldMigrations.migrator.appliedMigrations(db) }
    }

    /// Runs `body` in a write transaction of its own (no group commit), marked as holding
    /// the writer (`WriterThread`).
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.write { db in try WriterThread.holding { try body(db) } }
    }

    /// Runs `body` in an IMMEDIATE write transaction and returns once it is committed.
    /// Concurrent callers share commits (`GroupCommit`): each body still runs atomically
    /// (its own savepoint) and no caller returns before its body is durable. The kernel's
    /// per-action path. Rolls back `body`'s writes if it throws.
    public func writeTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try groupCommit.perform(pool, body)
    }

    /// One consistent read (a single snapshot for every statement of `body`) with
    /// prepared BEGIN/COMMIT statements: the kernel's per-action read path. GRDB's `read`
    /// adds a read-only pragma pair and a savepoint around each read, which costs more
    /// than the small reads agents make many times a second.
    public func readTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.unsafeRead { db in
            try db.cachedStatement(sql: "BEGIN DEFERRED").execute()
            defer { if db.isInsideTransaction { try? db.cachedStatement(sql: "COMMIT").execute() } }
            return try body(db)
        }
    }

    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }
}
