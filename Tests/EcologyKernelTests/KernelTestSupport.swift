import EcologyCore
@testable import EcologyKernel
import EcologyStore
import EcologyTestSupport
import Foundation
import GRDB
import XCTest

/// A world in a temporary directory on a virtual clock, bootstrapped with the five default agents.
final class TestWorld: KernelWorld, Sendable {
    let directory: URL
    let clock: VirtualClock
    let database: WorldDatabase
    let kernel: Kernel
    let executor: FakeExecutor

    init(config: WorldConfig = WorldConfig(), scorer: any MintScorer = BuiltinMintScorer(), bootstrap: Bool = true) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-ktests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        clock = VirtualClock()
        database = try WorldDatabase(path: directory.appendingPathComponent("world.sqlite").path)
        executor = FakeExecutor()
        kernel = Kernel(database: database, config: config, clock: clock, executor: executor, scorer: scorer)
        if bootstrap { try kernel.bootstrap() }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    // MARK: acting

    @discardableResult
    func write(_ who: String, _ id: String, _ fields: [String: JSONValue] = [:]) -> Envelope {
        var p = fields
        p["artifact_id"] = .string(id)
        if p["content"] == nil { p["content"] = .string("content of \(id)") }
        return act(who, "write", .object(p))
    }

    /// Writes an executable tool whose fake code is `code`, with the given tool names.
    @discardableResult
    func writeTool(_ who: String, _ id: String, code: String, tools: [String] = ["run"], price: Int64 = 0,
                   contract: String? = nil, schema: JSONValue? = nil) -> Envelope {
        var fields: [String: JSONValue] = [
            "code": .string(code), "price": .int(price),
            "interface": ["tools": .array(tools.map { .object(["name": .string($0), "description": "a test tool",
                                                                "inputSchema": schema ?? ["type": "object"]]) })],
        ]
        if let contract { fields["contract"] = .string(contract) }
        return write(who, id, fields)
    }

    // MARK: reading state

    func principal(_ id: String) throws -> Principal? { try database.read { try Principal.load($0, id) } }
    func artifact(_ id: String) throws -> Artifact? { try database.read { try Artifact.load($0, id) } }
    func scrip(_ id: String) throws -> Int64 { try principal(id)?.scrip ?? -1 }
    func compute(_ id: String) throws -> Int64 { try principal(id)!.compute.balance(atMicros: clock.nowMicros()) }

    func eventCount(type: String? = nil) throws -> Int {
        try database.read { db in
            if let type { return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE type = ?", arguments: [type]) ?? 0 }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0
        }
    }

    func events(type: String) throws -> [WorldEvent] {
        try database.read { try WorldEvent.fetch($0, limit: 10_000, type: type) }
    }

    func totalScrip() throws -> Int64 {
        try database.read { try Int64.fetchOne($0, sql: "SELECT SUM(scrip) FROM principals") ?? 0 }
    }

    /// Every row of every ledger table and the event count: equal snapshots mean nothing changed.
    func snapshot() throws -> [String] {
        try database.read { db in
            var out: [String] = []
            for table in ["principals", "artifacts", "mint_bids", "escrow_listings", "debts", "world_meta", "mint_rounds"] {
                out += try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1").map { "\(table): \($0)" }
            }
            out.append("events: \(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0)")
            return out
        }
    }

    /// A cheap digest of the ledger for per-step checks: every balance, every artifact's
    /// version and owner, every bid, listing and debt state, and the event count.
    func fingerprint() throws -> String {
        try database.read { db in
            try String.fetchOne(db, sql: """
                SELECT (SELECT COUNT(*) FROM events) || '|' ||
                  (SELECT group_concat(id||':'||scrip||':'||llm_budget||':'||disk_quota||':'||disk_used||':'||compute_rate||':'||
                          compute_capacity||':'||compute_scaled||':'||compute_updated_at||':'||frozen, ',') FROM principals) || '|' ||
                  (SELECT group_concat(id||':'||version||':'||owner_id||':'||size_bytes, ',') FROM artifacts) || '|' ||
                  (SELECT COUNT(*)||':'||COALESCE(SUM(amount),0)||':'||group_concat(status) FROM mint_bids) || '|' ||
                  (SELECT COUNT(*)||':'||COALESCE(group_concat(status||coalesce(buyer,'')),'') FROM escrow_listings) || '|' ||
                  (SELECT COUNT(*)||':'||COALESCE(group_concat(status||repaid),'') FROM debts) || '|' ||
                  (SELECT group_concat(key||'='||value) FROM world_meta)
                """) ?? ""
        }
    }

    func assertInvariants(_ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        do {
            let report = try kernel.checkInvariants()
            XCTAssertTrue(report.ok, "invariants broken \(message): \(report.violations)", file: file, line: line)
        } catch {
            XCTFail("checkInvariants threw \(error)", file: file, line: line)
        }
    }

    /// Asserts that `body` fails with `code` and changes nothing at all (balances, artifacts, events).
    @discardableResult
    func assertFailsCleanly(_ code: ErrorCode, file: StaticString = #filePath, line: UInt = #line,
                            _ body: () -> Envelope) -> KernelError? {
        let before = try? snapshot()
        let env = body()
        let after = try? snapshot()
        XCTAssertEqual(env.error?.code, code, "expected \(code.rawValue), got \(env)", file: file, line: line)
        if before != after {
            let b = Set(before ?? []), a = Set(after ?? [])
            XCTFail("a failed action changed the world: before \(b.subtracting(a).sorted()), after \(a.subtracting(b).sorted())",
                    file: file, line: line)
        }
        return env.error
    }

    /// Like `assertFailsCleanly`, for an action a custom contract refused: the contract's
    /// evaluations are still paid for (docs/KERNEL.md, "Who pays for a contract"), so the
    /// only change allowed is their `contract_evaluated` events and their payers' compute,
    /// lower by exactly the CPU those events record.
    @discardableResult
    func assertFailsPayingOnlyItsContracts(_ code: ErrorCode, file: StaticString = #filePath, line: UInt = #line,
                                           _ body: () -> Envelope) -> KernelError? {
        func state() throws -> (rows: [String], compute: [String: Int64], seq: Int64) {
            try database.read { db in
                var rows: [String] = []
                for table in ["principals", "artifacts", "mint_bids", "escrow_listings", "debts", "world_meta", "mint_rounds"] {
                    rows += try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1").map { row in
                        let cells = zip(row.columnNames, row.databaseValues).filter {
                            table != "principals" || !["compute_scaled", "compute_updated_at", "frozen"].contains($0.0)
                        }
                        return "\(table): " + cells.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
                    }
                }
                let compute = try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT id, compute_scaled FROM principals")
                    .map { ($0[0] as String, $0[1] as Int64) })
                return (rows, compute, try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM events") ?? 0)
            }
        }
        guard let before = try? state() else { XCTFail("no state", file: file, line: line); return nil }
        let env = body()
        guard let after = try? state() else { XCTFail("no state", file: file, line: line); return nil }
        XCTAssertEqual(env.error?.code, code, "expected \(code.rawValue), got \(env)", file: file, line: line)
        XCTAssertEqual(after.rows, before.rows, "a failed action changed the world beyond its contract's compute", file: file, line: line)
        let added = (try? database.read { try WorldEvent.fetch($0, afterSeq: before.seq, limit: 1000) }) ?? []
        XCTAssertTrue(added.allSatisfy { $0.type == "contract_evaluated" }, "only contract evaluations are recorded: \(added.map(\.type))",
                      file: file, line: line)
        var paid: [String: Int64] = [:]
        for e in added {
            paid[e.data["payer"]?.stringValue ?? "", default: 0] += Int64(exactly: ((e.data["cpu_ms"]?.doubleValue ?? 0) * 1000).rounded()) ?? 0
        }
        // Refill is rate × elapsed virtual time, which does not move inside `body`.
        for (id, was) in before.compute {
            XCTAssertEqual(after.compute[id], was - (paid[id] ?? 0) * 1000, "\(id) paid exactly its contracts' CPU", file: file, line: line)
        }
        return env.error
    }
}

/// Unwraps an OK envelope's result or fails the test.
@discardableResult
func XCTUnwrapOK(_ env: Envelope, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
    switch env {
    case .ok(let v): return v
    case .failure(let e):
        XCTFail("expected ok, got \(e)", file: file, line: line)
        throw e
    }
}

func XCTAssertCode(_ env: Envelope, _ code: ErrorCode, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(env.error?.code, code, "expected \(code.rawValue), got \(env)", file: file, line: line)
}

/// The in-test stand-in for the Python sandbox: it "runs" tiny directives.
///
/// Contracts (`kind == .contract`): the code is `requesters=a,b;actions=read,invoke` where
/// `*` means anyone/anything and `owner` means the artifact's owner; `crash` fails;
/// `garbage` returns no boolean.
/// Tools (`kind == .artifact`): `echo` returns the args; `cpu:N` burns N CPU-µs;
/// `fail:N` fails after N CPU-µs; `kernel` performs kernel call `method` with params `args[0]`.
final class FakeExecutor: ArtifactExecutor, @unchecked Sendable {
    // @unchecked: `_requests` and `_onContract` are only touched with `lock` held.
    private let lock = NSLock()
    private var _requests: [ExecutionRequest] = []
    private var _onContract: ((ExecutionRequest) -> Void)?

    var requests: [ExecutionRequest] { lock.lock(); defer { lock.unlock() }; return _requests }
    func count(_ kind: ChildKind) -> Int { requests.filter { $0.kind == kind }.count }

    /// Called on the evaluating thread before a contract answers: a test blocks or acts there.
    func onContract(_ hook: ((ExecutionRequest) -> Void)?) { lock.lock(); _onContract = hook; lock.unlock() }

    func execute(_ request: ExecutionRequest, kernelCalls: @escaping KernelCallHandler) -> ExecutionOutcome {
        lock.lock(); _requests.append(request); lock.unlock()
        switch request.kind {
        case .contract: return contract(request)
        default: return tool(request, kernelCalls)
        }
    }

    private func contract(_ r: ExecutionRequest) -> ExecutionOutcome {
        lock.lock(); let hook = _onContract; lock.unlock()
        hook?(r)
        if r.code == "crash" { return ExecutionOutcome(result: .failure(KernelError(.executionError, "boom")), cpuMicros: 10, wallMicros: 10) }
        if r.code == "garbage" { return ExecutionOutcome(result: .success("yes"), cpuMicros: 10, wallMicros: 10) }
        var rules: [String: [String]] = [:]
        for part in r.code.split(separator: ";") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { rules[kv[0]] = kv[1].split(separator: ",").map(String.init) }
        }
        let action = r.args[1].stringValue ?? "", requester = r.args[2].stringValue ?? ""
        let owner = r.args[3]["owner_id"]?.stringValue ?? ""
        let requesters = rules["requesters"] ?? [], actions = rules["actions"] ?? []
        let whoOK = requesters.contains("*") || requesters.contains(requester) || (requesters.contains("owner") && requester == owner)
        let whatOK = actions.contains("*") || actions.contains(action)
        let allowed = whoOK && whatOK
        return ExecutionOutcome(result: .success(["allowed": .bool(allowed), "reason": .string(allowed ? "rule allows" : "rule denies \(requester)")]),
                                cpuMicros: 10, wallMicros: 10)
    }

    private func tool(_ r: ExecutionRequest, _ kernelCalls: KernelCallHandler) -> ExecutionOutcome {
        let parts = r.code.split(separator: ":", maxSplits: 1).map(String.init)
        switch parts[0] {
        case "echo":
            return ExecutionOutcome(result: .success(.array(r.args)), cpuMicros: 1_000, wallMicros: 1_000)
        case "cpu":
            return ExecutionOutcome(result: .success("burned"), cpuMicros: Int64(parts[1])!, wallMicros: 1)
        case "fail":
            return ExecutionOutcome(result: .failure(KernelError(.executionError, "tool failed")), cpuMicros: Int64(parts[1])!, wallMicros: 1)
        case "kernel":
            let env = kernelCalls(r.method, r.args.first ?? .object([:]))
            return ExecutionOutcome(result: .success(env.json), cpuMicros: 500, wallMicros: 1)
        default:
            return ExecutionOutcome(result: .failure(KernelError(.executionError, "unknown fake code")), cpuMicros: 0, wallMicros: 0)
        }
    }
}

/// Scores artifacts from a fixed table (unknown artifacts score 0).
struct FixedScorer: MintScorer {
    var scores: [String: Int]
    func score(_ input: ScoringInput) -> Result<(score: Int, reason: String), KernelError> {
        if let s = scores[input.artifact.id] { return .success((s, "fixed")) }
        return .failure(KernelError(.executionError, "no score for \(input.artifact.id)"))
    }
}

/// SplitMix64: a tiny seeded PRNG so that randomized scenarios replay exactly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let agents = ["alpha", "beta", "gamma", "delta", "epsilon"]
