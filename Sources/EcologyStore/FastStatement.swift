import GRDB
import GRDBSQLite

/// A GRDB-cached prepared statement driven through the SQLite C API with typed binds
/// and column reads, for the few statements every kernel action runs (compute charge,
/// scrip moves, event rows). GRDB's generic path boxes each argument and allocates a
/// row object per result, which costs more than SQLite itself on these tiny statements.
///
/// Use: `let s = try db.fastStatement(sql)`, `s.bind(1, x)`, `try s.step()` until it
/// returns false (or `try s.run()`), then read columns; every call ends with a reset,
/// so the statement is clean for the next user of the cache.
public struct FastStatement {
    let handle: OpaquePointer
    let connection: OpaquePointer

    public func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }
    public func bind(_ index: Int32, _ value: Bool) { sqlite3_bind_int64(handle, index, value ? 1 : 0) }
    /// Binds the text with its byte length, never as a C string, so that nothing after an
    /// embedded NUL is lost on this path (the kernel refuses such text anyway: `StoredText`).
    public func bind(_ index: Int32, _ value: String) {
        var text = value
        text.withUTF8 { bytes in
            // A String's UTF-8 is at most Int.max bytes; a frame-limited one is far below Int32.max.
            let count = Int32(clamping: bytes.count)
            if let base = bytes.baseAddress {
                base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    _ = sqlite3_bind_text(handle, index, $0, count, transient)
                }
            } else {
                _ = sqlite3_bind_text(handle, index, "", 0, transient)
            }
        }
    }
    public func bind(_ index: Int32, _ value: String?) {
        if let value { bind(index, value) } else { sqlite3_bind_null(handle, index) }
    }

    /// Steps once: true when a row is available, false when done. Errors reset the statement.
    public func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: sqlite3_reset(handle); sqlite3_clear_bindings(handle); return false
        case let rc:
            let message = String(cString: sqlite3_errmsg(connection))
            sqlite3_reset(handle); sqlite3_clear_bindings(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: message)
        }
    }

    /// Runs a statement that returns no rows.
    public func run() throws { while try step() {} }

    /// Ends a read early (when not all rows were stepped through).
    public func reset() { sqlite3_reset(handle); sqlite3_clear_bindings(handle) }

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    public func bool(_ column: Int32) -> Bool { sqlite3_column_int64(handle, column) != 0 }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    /// The column's text by its byte length (not up to the first NUL).
    public func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
    }
}

private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

extension Database {
    /// The cached prepared statement for `sql`, to drive through the C API.
    public func fastStatement(_ sql: String) throws -> FastStatement {
        let statement = try cachedStatement(sql: sql)
        sqlite3_reset(statement.sqliteStatement)
        return FastStatement(handle: statement.sqliteStatement, connection: sqliteConnection!)
    }
}
