import EcologyCore
import GRDB

/// What a failed SQLite call means for whoever asked: the storage under the world failed
/// (disk full, I/O error, read-only filesystem) or something else did.
///
/// A storage fault is not the caller's doing, so it is `INTERNAL`, never `QUOTA_EXCEEDED`
/// (that code is a principal's own disk quota, which the kernel checks before writing).
/// The message says so plainly and `details.storage` names the fault, so an agent can wait
/// and retry and an operator reading the trace knows where to look. The action itself is
/// rolled back: SQLite never commits a transaction whose statements or COMMIT failed
/// (`GroupCommit` gives every member of a failed batch the error), so no half of it stays.
public enum StorageFault {
    /// The `KernelError` for a database failure, or nil when `error` is not a storage fault.
    public static func kernelError(_ error: Error) -> KernelError? {
        guard let db = error as? DatabaseError else { return nil }
        let code = name(db.extendedResultCode)
        switch db.resultCode {
        case .SQLITE_FULL:
            return KernelError(.internal,
                               "storage full: the disk holding the world is full (\(code)); this action was not committed and can succeed once space is freed",
                               details: ["storage": "full", "sqlite": .string(code)])
        case .SQLITE_IOERR, .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return KernelError(.internal,
                               "storage I/O error: the disk holding the world failed (\(code)); this action was not committed; the operator must check the disk",
                               details: ["storage": "io_error", "sqlite": .string(code)])
        case .SQLITE_READONLY, .SQLITE_CANTOPEN:
            return KernelError(.internal,
                               "storage unavailable: the world's database cannot be written (\(code)); this action was not committed",
                               details: ["storage": "unavailable", "sqlite": .string(code)])
        default:
            return nil
        }
    }

    /// SQLite's name for a (possibly extended) result code, e.g. `SQLITE_IOERR_WRITE (778)`.
    static func name(_ code: ResultCode) -> String {
        let primary: [Int32: String] = [10: "SQLITE_IOERR", 11: "SQLITE_CORRUPT", 13: "SQLITE_FULL", 14: "SQLITE_CANTOPEN",
                                        8: "SQLITE_READONLY", 26: "SQLITE_NOTADB"]
        // The extended I/O codes: SQLITE_IOERR | (n << 8).
        let ioerr: [Int32: String] = [1: "READ", 2: "SHORT_READ", 3: "WRITE", 4: "FSYNC", 5: "DIR_FSYNC", 6: "TRUNCATE",
                                      7: "FSTAT", 8: "UNLOCK", 9: "RDLOCK", 10: "DELETE", 12: "NOMEM", 13: "ACCESS",
                                      14: "CHECKRESERVEDLOCK", 15: "LOCK", 16: "CLOSE", 18: "SHMOPEN", 19: "SHMSIZE",
                                      20: "SHMLOCK", 21: "SHMMAP", 22: "SEEK", 23: "DELETE_NOENT", 24: "MMAP"]
        let raw = code.rawValue, base = raw & 0xff, sub = raw >> 8
        guard var text = primary[base] else { return "SQLite error \(raw)" }
        if sub != 0 { text += base == 10 ? ioerr[sub].map { "_" + $0 } ?? "" : "" }
        return "\(text) (\(raw))"
    }
}
