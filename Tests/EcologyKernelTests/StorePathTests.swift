import EcologyCore
@testable import EcologyStore
import Foundation
import GRDB
import XCTest

/// The store's hot-path pieces: background WAL checkpoints, the prepared-transaction
/// path, and the C-API statements.
final class StorePathTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func walBytes(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int) ?? 0
    }

    /// Under a steady stream of commits the background checkpointer keeps the WAL near
    /// its threshold (it must be reused, not grow toward the inline hard limit).
    func testBackgroundCheckpointsKeepTheWALBounded() throws {
        let path = dir.appendingPathComponent("w.sqlite").path
        let world = try WorldDatabase(path: path)
        try world.write { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)") }
        let checkpointer = try XCTUnwrap(world.checkpointer)
        var largest = 0
        for i in 0..<8_000 {
            try world.writeTransaction { db in
                let s = try db.fastStatement("INSERT INTO t (v) VALUES (?)")
                s.bind(1, "row \(i)")
                try s.run()
            }
            if i % 500 == 0 { largest = max(largest, walBytes(path)) }
        }
        checkpointer.checkpointNow()
        XCTAssertGreaterThan(checkpointer.completed, 0, "no background checkpoint ran")
        // Without WAL reuse, 8,000 one-page commits leave a WAL of about 8,000 pages (32 MiB).
        let pageSize = try world.read { db in try Int.fetchOne(db, sql: "PRAGMA page_size")! }
        XCTAssertLessThan(max(largest, walBytes(path)), 4 * Int(checkpointer.thresholdPages) * (pageSize + 24),
                          "the WAL grew instead of being reused after checkpoints")
        XCTAssertEqual(try world.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM t") }, 8_000)
    }

    func testWriteTransactionRollsBackWhenTheBodyThrows() throws {
        let world = try WorldDatabase(path: dir.appendingPathComponent("r.sqlite").path)
        try world.write { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL CHECK (v >= 0))") }
        struct Boom: Error {}
        XCTAssertThrowsError(try world.writeTransaction { db in
            try db.execute(sql: "INSERT INTO t (v) VALUES (1)")
            throw Boom()
        })
        // A constraint failure inside a C-API statement surfaces as a DatabaseError and rolls back too.
        XCTAssertThrowsError(try world.writeTransaction { db in
            try db.execute(sql: "INSERT INTO t (v) VALUES (2)")
            let s = try db.fastStatement("INSERT INTO t (v) VALUES (?)")
            s.bind(1, Int64(-1))
            try s.run()
        }) { error in
            XCTAssertEqual((error as? DatabaseError)?.resultCode, .SQLITE_CONSTRAINT)
        }
        XCTAssertEqual(try world.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM t") }, 0)
        // The statement cache is left clean: the same statement works afterwards.
        try world.writeTransaction { db in
            let s = try db.fastStatement("INSERT INTO t (v) VALUES (?)")
            s.bind(1, Int64(5))
            try s.run()
        }
        XCTAssertEqual(try world.read { db in try Int.fetchOne(db, sql: "SELECT sum(v) FROM t") }, 5)
    }

    func testFastStatementReadsTypedColumnsAndNulls() throws {
        let world = try WorldDatabase(path: dir.appendingPathComponent("f.sqlite").path)
        try world.write { db in
            try db.execute(sql: "CREATE TABLE t (a INTEGER, b TEXT, c TEXT)")
            try db.execute(sql: "INSERT INTO t VALUES (?, ?, NULL)", arguments: [Int64.min, "héllo \"wörld\""])
        }
        try world.read { db in
            let s = try db.fastStatement("SELECT a, b, c FROM t WHERE b = ?")
            s.bind(1, "héllo \"wörld\"")
            XCTAssertTrue(try s.step())
            XCTAssertEqual(s.int64(0), Int64.min)
            XCTAssertEqual(s.text(1), "héllo \"wörld\"")
            XCTAssertTrue(s.isNull(2))
            XCTAssertFalse(try s.step())
        }
    }

    /// Concurrent write transactions share commits, yet each body is atomic on its own:
    /// a read-modify-write counter loses no update, failing bodies leave no trace, and
    /// every caller sees its own result or error.
    func testGroupCommitKeepsEachBodyAtomic() throws {
        let world = try WorldDatabase(path: dir.appendingPathComponent("g.sqlite").path)
        try world.write { db in
            try db.execute(sql: "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
            try db.execute(sql: "INSERT INTO counter VALUES (1, 0)")
            try db.execute(sql: "CREATE TABLE log (id INTEGER PRIMARY KEY, who INTEGER NOT NULL)")
        }
        struct Refused: Error { let n: Int }
        let threads = 16, perThread = 150
        let outcomes = Outcomes()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                do {
                    let seen: Int = try world.writeTransaction { db in
                        let n = try Int.fetchOne(db, sql: "SELECT n FROM counter WHERE id = 1")!
                        try db.execute(sql: "INSERT INTO log (who) VALUES (?)", arguments: [t])
                        if (t + i) % 5 == 0 { throw Refused(n: n) }  // after writing: must be rolled back
                        try db.execute(sql: "UPDATE counter SET n = ? WHERE id = 1", arguments: [n + 1])
                        return n + 1
                    }
                    outcomes.add(ok: seen)
                } catch is Refused {
                    outcomes.add(ok: nil)
                } catch {
                    XCTFail("unexpected \(error)")
                }
            }
        }
        let (oks, refused) = outcomes.snapshot()
        XCTAssertEqual(oks.count + refused, threads * perThread)
        XCTAssertEqual(oks.sorted(), Array(1...oks.count), "every successful body saw the previous one's write")
        XCTAssertEqual(try world.read { db in try Int.fetchOne(db, sql: "SELECT n FROM counter") }, oks.count)
        XCTAssertEqual(try world.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM log") }, oks.count,
                       "a refused body's insert was rolled back to its savepoint")
        let stats = world.groupCommit.statistics
        XCTAssertEqual(stats.bodies, threads * perThread)
        XCTAssertLessThan(stats.batches, stats.bodies, "concurrent callers never shared a commit")
    }

    final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var oks: [Int] = [], refused = 0
        func add(ok: Int?) { lock.lock(); if let ok { oks.append(ok) } else { refused += 1 }; lock.unlock() }
        func snapshot() -> ([Int], Int) { lock.lock(); defer { lock.unlock() }; return (oks, refused) }
    }
}
