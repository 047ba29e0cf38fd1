import EcologyStore
import Foundation
import GRDB
import GRDBSQLite

/// The baseline of `ecology bench ledger`: single-row inserts straight through the SQLite
/// C API (prepared BEGIN IMMEDIATE / INSERT / COMMIT, no Swift layer in between) on a
/// `WorldDatabase`'s writer connection, so the durability settings are exactly the world's.
public struct RawInsertProbe {
    let database: WorldDatabase

    public init(database: WorldDatabase) throws {
        self.database = database
        try database.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS raw_inserts (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL)")
        }
    }

    /// Inserts `count` rows, each in its own transaction; returns the elapsed seconds.
    public func run(count: Int) throws -> Double {
        try database.pool.writeWithoutTransaction { db in
            let c = db.sqliteConnection
            var begin: OpaquePointer?, insert: OpaquePointer?, commit: OpaquePointer?
            defer { sqlite3_finalize(begin); sqlite3_finalize(insert); sqlite3_finalize(commit) }
            guard sqlite3_prepare_v2(c, "BEGIN IMMEDIATE", -1, &begin, nil) == SQLITE_OK,
                  sqlite3_prepare_v2(c, "INSERT INTO raw_inserts (a, b) VALUES (?, 'x')", -1, &insert, nil) == SQLITE_OK,
                  sqlite3_prepare_v2(c, "COMMIT", -1, &commit, nil) == SQLITE_OK
            else { throw DatabaseError(resultCode: ResultCode(rawValue: sqlite3_errcode(c)), message: String(cString: sqlite3_errmsg(c))) }
            let start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<count {
                try step(begin, c)
                sqlite3_bind_int64(insert, 1, Int64(i))
                try step(insert, c)
                try step(commit, c)
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
    }

    private func step(_ stmt: OpaquePointer?, _ c: OpaquePointer?) throws {
        let rc = sqlite3_step(stmt)
        sqlite3_reset(stmt)
        guard rc == SQLITE_DONE else { throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(c))) }
    }
}
