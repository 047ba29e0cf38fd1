import EcologyCore
import EcologyStore
import Foundation
import GRDB

/// `ecology bench ledger`: durable transfers through the full kernel path against raw
/// SQLite inserts with the same durability settings, and full-text search latency.
public enum LedgerBenchmark {
    public struct Options: Sendable {
        public var directory: String
        public var principals = 100
        public var transfers = 50_000
        public var rawInserts = 50_000
        public var searchArtifacts = 100_000
        public var searchQueries = 500
        public var seed: UInt64 = 42
        public init(directory: String) { self.directory = directory }
    }

    public static func run(_ o: Options, progress: (String) -> Void = { _ in }) throws -> JSONValue {
        var gen = SplitMix64(seed: o.seed)
        // 1. Kernel transfers.
        let world = try WorldDatabase(path: o.directory + "/bench-ledger.sqlite")
        var config = WorldConfig()
        config.agents = (0..<o.principals).map { AgentSpec(id: String(format: "p%04d", $0), scrip: 1_000_000) }
        let kernel = Kernel(database: world, config: config)
        try kernel.bootstrap()
        let ids = config.agents.map(\.id)
        progress("transfers: \(o.transfers) through the kernel")
        var failures = 0
        let t0 = monotonicNanos()
        for _ in 0..<o.transfers {
            let a = ids[Int(gen.next() % UInt64(ids.count))]
            var b = ids[Int(gen.next() % UInt64(ids.count))]
            if a == b { b = ids[(ids.firstIndex(of: a)! + 1) % ids.count] }
            do { _ = try kernel.transferScrip(from: a, to: b, amount: 1 + Int64(gen.next() % 10), context: .principal(a)) } catch { failures += 1 }
        }
        let transferSeconds = Double(monotonicNanos() - t0) / 1e9
        let report = try kernel.checkInvariants()

        // 2. Raw single-row inserts, each its own transaction, same pragmas.
        progress("raw inserts: \(o.rawInserts)")
        let raw = try WorldDatabase(path: o.directory + "/bench-raw.sqlite")
        try raw.write { db in try db.execute(sql: "CREATE TABLE IF NOT EXISTS raw (id INTEGER PRIMARY KEY, a INTEGER, b TEXT)") }
        let t1 = monotonicNanos()
        for i in 0..<o.rawInserts {
            try raw.write { db in try db.cachedStatement(sql: "INSERT INTO raw (a, b) VALUES (?, ?)").execute(arguments: [i, "x"]) }
        }
        let rawSeconds = Double(monotonicNanos() - t1) / 1e9

        // 3. Full-text search over many artifacts.
        progress("search: writing \(o.searchArtifacts) artifacts")
        let searchDB = try WorldDatabase(path: o.directory + "/bench-search.sqlite")
        var sconfig = WorldConfig(); sconfig.agents = [AgentSpec(id: "writer")]
        let sk = Kernel(database: searchDB, config: sconfig)
        try sk.bootstrap()
        let vocabulary = ["market", "tool", "price", "scrip", "oracle", "escrow", "agent", "python", "sort", "search", "graph",
                          "summary", "weather", "parser", "vector", "ledger", "compute", "memory", "contract", "token"]
        try searchDB.write { db in
            let stmt = try db.makeStatement(sql: """
                INSERT INTO artifacts (id, kind, content, access_contract_id, has_standing, can_execute, created_by, owner_id, created_at, updated_at, size_bytes, version)
                VALUES (?, 'data', ?, 'genesis_freeware', 0, 0, 'writer', 'writer', 0, 0, 0, 1)
                """)
            for i in 0..<o.searchArtifacts {
                let words = (0..<12).map { _ in vocabulary[Int(gen.next() % UInt64(vocabulary.count))] } + ["item\(i)"]
                try stmt.execute(arguments: ["a\(i)", words.joined(separator: " ")])
            }
        }
        progress("search: \(o.searchQueries) queries")
        var latencies: [Double] = []
        for _ in 0..<o.searchQueries {
            let q = "\(vocabulary[Int(gen.next() % 20)]) \(vocabulary[Int(gen.next() % 20)])"
            let t = monotonicNanos()
            _ = try searchDB.read { db in try sk.search(db, query: q, limit: 10, requester: "writer") }
            latencies.append(Double(monotonicNanos() - t) / 1e6)
        }
        latencies.sort()
        let transfersPerSecond = Double(o.transfers) / transferSeconds
        let insertsPerSecond = Double(o.rawInserts) / rawSeconds
        return .object([
            "transfers": .int(Int64(o.transfers)), "transfer_failures": .int(Int64(failures)),
            "transfers_per_second": .number((transfersPerSecond).rounded()),
            "raw_inserts_per_second": .number(insertsPerSecond.rounded()),
            "transfer_to_raw_ratio": .number((transfersPerSecond / insertsPerSecond * 1000).rounded() / 1000),
            "durability": "WAL, synchronous=NORMAL, one transaction per transfer/insert",
            "invariants_ok": .bool(report.ok),
            "search_artifacts": .int(Int64(o.searchArtifacts)),
            "search_p50_ms": .number(percentile(latencies, 0.5)), "search_p99_ms": .number(percentile(latencies, 0.99)),
        ])
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return (sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000).rounded() / 1000
    }
}

/// A small seeded PRNG so benchmarks and simulations replay exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
