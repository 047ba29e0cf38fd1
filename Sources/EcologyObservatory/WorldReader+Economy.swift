import EcologyCore
import EcologyKernel
import Foundation
import GRDB

/// The economy's panels: tool-use graph, market, mint, debt and sandbox.
extension WorldReader {
    /// Who invokes whose tools: one edge per (caller, tool owner) over invokes of user
    /// tools, weighted by calls and scrip paid; the `limit` heaviest edges by calls.
    public func toolUseGraph(window: Double?, limit: Int64) throws -> JSONValue {
        let since = windowStart(window)
        return try read { db in
            let edges = try Row.fetchAll(db, sql: """
                SELECT json_extract(data,'$.caller'), json_extract(data,'$.owner'), COUNT(*),
                       COALESCE(SUM(json_extract(data,'$.price_paid')),0), COUNT(DISTINCT json_extract(data,'$.artifact_id')),
                       SUM(CASE WHEN json_extract(data,'$.error') IS NULL THEN 0 ELSE 1 END)
                FROM events WHERE type='invoke' AND time >= ? GROUP BY 1, 2 ORDER BY 3 DESC LIMIT ?
                """, arguments: [since, limit]).map { r -> JSONValue in
                .object(["from": .string((r[0] as String?) ?? "?"), "to": .string((r[1] as String?) ?? "?"), "calls": .int(r[2]),
                         "scrip": .int(r[3]), "tools": .int(r[4]), "failed": .int(r[5])])
            }
            var nodes = Set<String>()
            for e in edges { nodes.insert(e["from"]?.stringValue ?? "?"); nodes.insert(e["to"]?.stringValue ?? "?") }
            return .object(["nodes": .array(nodes.sorted().map(JSONValue.string)), "edges": .array(edges),
                            "window_seconds": window.map(JSONValue.number) ?? .null])
        }
    }

    /// Escrow: active listings, recent sales, and the price of each sale over time.
    public func market(limit: Int64) throws -> JSONValue {
        try read { db in
            let listings = try Row.fetchAll(db, sql: """
                SELECT id, artifact_id, seller, price, created_at FROM escrow_listings WHERE status='active' ORDER BY id DESC LIMIT ?
                """, arguments: [limit]).map { r -> JSONValue in
                .object(["id": .int(r[0]), "artifact_id": .string(r[1]), "seller": .string(r[2]), "price": .int(r[3]),
                         "listed_at": .number(Self.seconds(r[4]))])
            }
            let sales = try Row.fetchAll(db, sql: """
                SELECT id, artifact_id, seller, buyer, price, closed_at FROM escrow_listings WHERE status='sold' ORDER BY closed_at DESC LIMIT ?
                """, arguments: [limit]).map { r -> JSONValue in
                .object(["id": .int(r[0]), "artifact_id": .string(r[1]), "seller": .string(r[2]), "buyer": .string((r[3] as String?) ?? "?"),
                         "price": .int(r[4]), "sold_at": .number(Self.seconds((r[5] as Int64?) ?? 0))])
            }
            let counts = try Row.fetchOne(db, sql: """
                SELECT COALESCE(SUM(status='active'),0), COALESCE(SUM(status='sold'),0), COALESCE(SUM(status='cancelled'),0), COALESCE(SUM(CASE WHEN status='sold' THEN price END),0) FROM escrow_listings
                """)
            // Paid tool prices, per tool: what the market charges for a call.
            let prices = try Row.fetchAll(db, sql: """
                SELECT id, owner_id, price FROM artifacts WHERE deleted_at IS NULL AND can_execute = 1 AND price > 0 AND kind != 'agent'
                ORDER BY price DESC LIMIT ?
                """, arguments: [limit]).map { r -> JSONValue in
                .object(["artifact_id": .string(r[0]), "owner": .string(r[1]), "price": .int(r[2])])
            }
            return .object(["listings": .array(listings), "sales": .array(sales.reversed()), "tool_prices": .array(prices),
                            "active": .int((counts?[0] as Int64?) ?? 0), "sold": .int((counts?[1] as Int64?) ?? 0),
                            "cancelled": .int((counts?[2] as Int64?) ?? 0), "sales_volume": .int((counts?[3] as Int64?) ?? 0)])
        }
    }

    /// The mint: resolved rounds (winners with their scores, losers refunded, UBI), active bids.
    public func mint(limit: Int64) throws -> JSONValue {
        let nextAt = try read { db in try meta(db, "mint_next_resolution") }
        return try read { db in
            let rounds = try Row.fetchAll(db, sql: "SELECT round, resolved_at, data FROM mint_rounds ORDER BY round DESC LIMIT ?",
                                          arguments: [limit]).map { r -> JSONValue in
                var o = ((try? JSONCodec.decode(r[2] as String)) ?? .null).objectValue ?? [:]
                o["round"] = .int(r[0]); o["resolved_at"] = .number(Self.seconds(r[1]))
                return .object(o)
            }
            let bids = try Row.fetchAll(db, sql: "SELECT id, bidder, artifact_id, amount, created_at FROM mint_bids WHERE status='active' ORDER BY amount DESC LIMIT ?",
                                        arguments: [limit]).map { r -> JSONValue in
                .object(["id": .int(r[0]), "bidder": .string(r[1]), "artifact_id": .string(r[2]), "amount": .int(r[3]),
                         "bid_at": .number(Self.seconds(r[4]))])
            }
            return .object(["rounds": .array(rounds.reversed()), "active_bids": .array(bids),
                            "next_resolution_at": nextAt.map { JSONValue.number(Self.seconds($0)) } ?? .null])
        }
    }

    /// Debts: active (and overdue: active past due, i.e. in default), repaid, requested, cancelled.
    public func debt(limit: Int64) throws -> JSONValue {
        let now = kernel.clock.nowMicros()
        return try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT d.id, d.debtor, a.owner_id, d.amount, d.repay_amount, d.repaid, d.due_at, d.status, d.created_at
                FROM debts d JOIN artifacts a ON a.id = d.id ORDER BY d.created_at DESC LIMIT ?
                """, arguments: [limit]).map { r -> JSONValue in
                let status: String = r[7], due: Int64 = r[6]
                return .object(["id": .string(r[0]), "debtor": .string(r[1]), "holder": .string(r[2]), "amount": .int(r[3]),
                                "repay_amount": .int(r[4]), "repaid": .int(r[5]), "due_at": .number(Self.seconds(due)),
                                "status": .string(status == "active" && now > due ? "defaulted" : status),
                                "created_at": .number(Self.seconds(r[8]))])
            }
            let c = try Row.fetchOne(db, sql: """
                SELECT COALESCE(SUM(status='active' AND due_at >= ?),0), COALESCE(SUM(status='active' AND due_at < ?),0),
                       COALESCE(SUM(status='repaid'),0), COALESCE(SUM(status='requested'),0), COALESCE(SUM(status='cancelled'),0) FROM debts
                """, arguments: [now, now])
            return .object(["debts": .array(rows),
                            "active": .int((c?[0] as Int64?) ?? 0), "defaulted": .int((c?[1] as Int64?) ?? 0),
                            "repaid": .int((c?[2] as Int64?) ?? 0), "requested": .int((c?[3] as Int64?) ?? 0),
                            "cancelled": .int((c?[4] as Int64?) ?? 0)])
        }
    }

    /// The sandbox: blocked syscalls by name, timeouts and OOMs of tool code, recent violations.
    public func sandbox(limit: Int64) throws -> JSONValue {
        try read { db in
            let bySyscall = try Row.fetchAll(db, sql: """
                SELECT COALESCE(json_extract(data,'$.syscall'),'unknown'), COUNT(*) FROM events WHERE type='sandbox_violation' GROUP BY 1 ORDER BY 2 DESC LIMIT 64
                """).map { r -> JSONValue in .object(["syscall": .string(r[0]), "count": .int(r[1])]) }
            let failures = try Row.fetchAll(db, sql: """
                SELECT json_extract(data,'$.error'), COUNT(*) FROM events WHERE type='invoke' AND json_extract(data,'$.error') IS NOT NULL GROUP BY 1
                """)
            var byCode: [String: JSONValue] = [:]
            for r in failures { byCode[(r[0] as String?) ?? "?"] = .int(r[1]) }
            let recent = try WorldEvent.fetch(db, limit: Int(limit), type: "sandbox_violation", newestFirst: true).map(\.json)
            return .object(["violations_by_syscall": .array(bySyscall), "invoke_errors": .object(byCode),
                            "timeouts": byCode["TIMEOUT"] ?? .int(0), "out_of_memory": byCode["OUT_OF_MEMORY"] ?? .int(0),
                            "recent_violations": .array(recent)])
        }
    }

    /// The world-clock time `window` seconds ago, in microseconds (0 for the whole world).
    func windowStart(_ window: Double?) -> Int64 {
        guard let window else { return 0 }
        return kernel.clock.nowMicros() - CheckedNumber.clamped(window * 1_000_000)
    }
}
