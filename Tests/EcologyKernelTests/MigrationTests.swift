import EcologyCore
@testable import EcologyKernel
import EcologyStore
import Foundation
import GRDB
import XCTest

final class MigrationTests: XCTestCase {
    func temporaryPath() throws -> (URL, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-migrate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return (dir, dir.appendingPathComponent("world.sqlite").path)
    }

    func testV1DatabaseUpgradesInPlaceWithDataIntact() throws {
        let (dir, path) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let t0: Int64 = 1_700_000_000_000_000
        let content = "legacy words about turnips"
        do {
            let old = try WorldDatabase(path: path, upTo: "v1_ledger_and_artifacts")
            XCTAssertEqual(try old.appliedMigrations(), ["v1_ledger_and_artifacts"])
            try old.write { db in
                XCTAssertFalse(try db.tableExists("mint_bids"))
                try db.execute(sql: """
                    INSERT INTO world_meta (key, value) VALUES ('epoch', ?), ('initial_scrip', '150'), ('minted_scrip', '0'),
                    ('mint_next_resolution', ?);
                    """, arguments: [String(t0), String(t0 + 60_000_000)])
                try db.execute(sql: """
                    INSERT INTO artifacts (id, kind, content, code, interface, access_contract_id, has_standing, can_execute,
                        created_by, owner_id, created_at, updated_at, deleted_at, size_bytes, version, price, metadata)
                    VALUES ('old_agent', 'account', '', NULL, NULL, 'genesis_self_owned', 1, 0, 'genesis', 'old_agent', ?, ?, NULL, 0, 1, 0, '{}'),
                           ('old_note', 'data', ?, NULL, NULL, 'genesis_freeware', 0, 0, 'old_agent', 'old_agent', ?, ?, NULL, ?, 3, 0, '{"tag":"v1"}')
                    """, arguments: [t0, t0, content, t0, t0, content.utf8.count])
                try db.execute(sql: """
                    INSERT INTO principals (id, scrip, llm_budget, disk_quota, disk_used, compute_rate, compute_capacity, compute_scaled,
                        compute_updated_at, llm_rate_rate, llm_rate_capacity, llm_rate_scaled, llm_rate_updated_at, frozen)
                    VALUES ('old_agent', 150, 42, 10000, ?, 100, 10000, 5000000000, ?, 200, 20000, 0, ?, 0)
                    """, arguments: [content.utf8.count, t0, t0])
                try db.execute(sql: "INSERT INTO events (time, type, principal, data) VALUES (?, 'artifact_written', 'old_agent', '{\"artifact_id\":\"old_note\"}')",
                               arguments: [t0])
            }
        }
        let db = try WorldDatabase(path: path)
        XCTAssertEqual(try db.appliedMigrations(), ["v1_ledger_and_artifacts", "v2_markets", "v3_supervision", "v4_storage_charged_to", "v5_threat_accounting"])
        try db.read { db in
            for table in ["mint_bids", "mint_rounds", "escrow_listings", "debts", "agent_state", "traces"] {
                XCTAssertTrue(try db.tableExists(table), table)
            }
            let p = try XCTUnwrap(try Row.fetchOne(db, sql: "SELECT scrip, llm_budget, compute_scaled FROM principals WHERE id='old_agent'"))
            XCTAssertEqual(p[0] as Int64, 150)
            XCTAssertEqual(p[1] as Int64, 42)
            XCTAssertEqual(p[2] as Int64, 5_000_000_000)
            let note = try XCTUnwrap(try Artifact.load(db, "old_note"))
            XCTAssertEqual(note.content, content)
            XCTAssertEqual(note.version, 3)
            XCTAssertEqual(note.metadata, ["tag": "v1"])
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events"), 1)
        }

        // The upgraded world works: bootstrap adds what v1 lacked, old data is usable.
        let clock = VirtualClock(startMicros: t0)
        let kernel = Kernel(database: db, config: WorldConfig(), clock: clock, executor: FakeExecutor())
        XCTAssertEqual(try kernel.bootstrap(), agents)
        let ctx = CallContext.principal("old_agent")
        XCTAssertEqual(kernel.handle(action: "read", params: ["artifact_id": "old_note"], context: ctx).value?["content"], .string(content))
        XCTAssertEqual(kernel.invoke("genesis_ledger", method: "balance", args: [], context: ctx).value?["compute"], 5_000)
        XCTAssertTrue(kernel.invoke("genesis_ledger", method: "transfer", args: ["alpha", 50], context: ctx).isOK)
        let found = kernel.invoke("genesis_store", method: "search", args: ["turnips"], context: ctx).value?.arrayValue
        XCTAssertEqual(found?.first?["id"], "old_note")
        XCTAssertTrue(kernel.invoke("genesis_mint", method: "bid", args: ["old_note", 10], context: ctx).isOK)
        let report = try kernel.checkInvariants()
        XCTAssertTrue(report.ok, "\(report.violations)")
        XCTAssertEqual(report.figures["initial_scrip"], 650)

        // Opening again is a no-op.
        let again = try WorldDatabase(path: path)
        XCTAssertEqual(try again.appliedMigrations().count, 5)
    }

    func testV2DatabaseUpgrades() throws {
        let (dir, path) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let old = try WorldDatabase(path: path, upTo: "v2_markets")
            try old.write { db in
                try db.execute(sql: "INSERT INTO world_meta (key, value) VALUES ('legacy', 'yes')")
                XCTAssertFalse(try db.tableExists("agent_state"))
            }
        }
        let db = try WorldDatabase(path: path)
        XCTAssertEqual(try db.appliedMigrations().last, "v5_threat_accounting")
        XCTAssertEqual(try db.read { try String.fetchOne($0, sql: "SELECT value FROM world_meta WHERE key='legacy'") }, "yes")
    }

    /// A v3 world where a seller parked bytes in escrow (its quota freed) and a debt request
    /// sat on its creditor's disk: v4 moves each charge to whom the billing rule names,
    /// recomputes disk use, reports the seller's excess as a note (not a violation) and lets
    /// it only shrink.
    func testV3DatabaseMovesListedAndRequestedBytesToWhoPays() throws {
        let (dir, path) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let t0: Int64 = 1_700_000_000_000_000
        let note = String(repeating: "n", count: 30), listed = String(repeating: "l", count: 60), debt = String(repeating: "d", count: 40)
        do {
            let old = try WorldDatabase(path: path, upTo: "v3_supervision")
            try old.write { db in
                try db.execute(sql: """
                    INSERT INTO world_meta (key, value) VALUES ('epoch', ?), ('initial_scrip', '0'), ('minted_scrip', '0'), ('mint_next_resolution', ?);
                    """, arguments: [String(t0), String(t0 + 60_000_000)])
                func artifact(_ id: String, _ kind: String, _ content: String, owner: String, standing: Bool, deleted: Bool = false, metadata: String = "{}") throws {
                    try db.execute(sql: """
                        INSERT INTO artifacts (id, kind, content, access_contract_id, has_standing, can_execute, created_by, owner_id,
                            created_at, updated_at, deleted_at, size_bytes, version, price, metadata)
                        VALUES (?, ?, ?, 'genesis_freeware', ?, 0, 'genesis', ?, ?, ?, ?, ?, 1, 0, ?)
                        """, arguments: [id, kind, content, standing, owner, t0, t0, deleted ? t0 : nil, content.utf8.count, metadata])
                }
                func principal(_ id: String, quota: Int64, used: Int64) throws {
                    try db.execute(sql: """
                        INSERT INTO principals (id, scrip, llm_budget, disk_quota, disk_used, compute_rate, compute_capacity, compute_scaled,
                            compute_updated_at, llm_rate_rate, llm_rate_capacity, llm_rate_scaled, llm_rate_updated_at, frozen)
                        VALUES (?, 0, 0, ?, ?, 100, 10000, 5000000000, ?, 0, 0, 0, ?, 0)
                        """, arguments: [id, quota, used, t0, t0])
                }
                try artifact("genesis_escrow", "genesis", "escrow", owner: "genesis", standing: true)
                try artifact("seller", "account", "", owner: "seller", standing: true)
                try artifact("lender", "account", "", owner: "lender", standing: true)
                try artifact("note", "data", note, owner: "seller", standing: false)
                try artifact("parked", "data", listed, owner: "genesis_escrow", standing: false)
                try artifact("debt-1", "debt", debt, owner: "lender", standing: false)
                try artifact("gone", "data", "", owner: "seller", standing: false, deleted: true, metadata: "{\"kept\":\"unmetered\"}")
                try principal("genesis_escrow", quota: Int64.max / 4, used: Int64(listed.utf8.count))
                try principal("seller", quota: 100, used: Int64(note.utf8.count))
                try principal("lender", quota: 1000, used: Int64(debt.utf8.count))
                try db.execute(sql: "INSERT INTO escrow_listings (artifact_id, seller, price, status, created_at) VALUES ('parked', 'seller', 5, 'active', ?)",
                               arguments: [t0])
                try db.execute(sql: """
                    INSERT INTO debts (id, debtor, original_creditor, amount, repay_amount, due_at, status, created_at)
                    VALUES ('debt-1', 'seller', 'lender', 10, 10, ?, 'requested', ?)
                    """, arguments: [t0 + 60_000_000, t0])
            }
        }
        let db = try WorldDatabase(path: path)
        XCTAssertEqual(try db.appliedMigrations().last, "v5_threat_accounting")
        let kernel = Kernel(database: db, config: WorldConfig(), clock: VirtualClock(startMicros: t0), executor: FakeExecutor())
        try db.read { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT charged_to FROM artifacts WHERE id = 'parked'"), "seller")
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT charged_to FROM artifacts WHERE id = 'debt-1'"), "seller")
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT charged_to FROM artifacts WHERE id = 'note'"), "seller")
            XCTAssertEqual(try Artifact.load(db, "gone")?.metadata, .object([:]))
            XCTAssertEqual(try Principal.load(db, "genesis_escrow")?.diskUsed, 0)
            XCTAssertEqual(try Principal.load(db, "lender")?.diskUsed, 0)
            XCTAssertEqual(try Principal.load(db, "seller")?.diskUsed, 130)
        }
        let report = try kernel.checkInvariants()
        XCTAssertTrue(report.ok, "\(report.violations)")
        XCTAssertTrue(report.notes.contains { $0.contains("seller uses 130 > quota 100") }, "\(report.notes)")
        // Over its quota, the seller can only shrink.
        XCTAssertCode(kernel.handle(action: "write", params: ["artifact_id": "more", "content": "x"], context: .principal("seller")), .quotaExceeded)
        XCTAssertTrue(kernel.handle(action: "delete", params: ["artifact_id": "note"], context: .principal("seller")).isOK)
        XCTAssertTrue(try kernel.checkInvariants().ok)
    }

    func testLedgerConstraintsHoldInTheSchema() throws {
        let w = try TestWorld()
        XCTAssertThrowsError(try w.database.write { db in
            try db.execute(sql: "UPDATE principals SET scrip = -1 WHERE id = 'alpha'")
        })
        XCTAssertEqual(try w.scrip("alpha"), 100)
        XCTAssertThrowsError(try w.database.write { db in
            try db.execute(sql: "INSERT INTO escrow_listings (artifact_id, seller, price, status, created_at) VALUES ('x','alpha',1,'active',0), ('x','beta',1,'active',0)")
        })
    }
}
