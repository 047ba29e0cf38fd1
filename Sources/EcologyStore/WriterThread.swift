import Foundation

/// Which threads hold a world's writer right now.
///
/// SQLite has one writer per database, and the world's write transactions are shared by
/// group commit (`GroupCommit`): while a thread runs a batch, every other writer of the
/// world waits. Work that can take long (a sandboxed child: a contract, a tool) must
/// therefore never run while the running thread holds it (docs/KERNEL.md, "Decide, then
/// apply"). GRDB's `Database.isInsideTransaction` answers for one connection, not for a
/// thread, and its scheduling checks are internal; so the store marks, per thread, each
/// writer section it enters (a batch of group commit, `WorldDatabase.write`), and the
/// kernel asks before it starts a child.
public enum WriterThread {
    /// A thread-specific count of writer sections entered and not yet left (0: none).
    /// The key is created once, lazily and thread-safely (a Swift global), and never deleted.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Whether the calling thread is inside a write section of some world database: a
    /// transaction it opened, or a group-commit batch it leads (whose bodies, other
    /// callers' included, run on this thread).
    public static var holdsWriter: Bool { depth > 0 }

    private static var depth: Int { Int(bitPattern: pthread_getspecific(key)) }

    /// Runs `body` marked as a writer section of the calling thread.
    static func holding<T>(_ body: () throws -> T) rethrows -> T {
        let outer = depth
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: outer + 1))
        defer { pthread_setspecific(key, UnsafeRawPointer(bitPattern: outer)) }
        return try body()
    }
}
