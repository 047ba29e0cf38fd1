import EcologyCore
import GRDB

/// The balances of one principal (an artifact with standing).
/// scrip and llm_budget are stocks that never go negative (DB CHECK constraints);
/// compute and llm_rate are token buckets that may go into debt.
public struct Principal: Sendable, Equatable {
    public var id: String
    public var scrip: Int64
    /// Micro-dollars.
    public var llmBudget: Int64
    public var diskQuota: Int64
    public var diskUsed: Int64
    /// CPU-milliseconds.
    public var compute: TokenBucket
    /// LLM tokens.
    public var llmRate: TokenBucket
    /// The frozen state last recorded (events are emitted when it changes).
    public var frozenRecorded: Bool

    static let columns = "id, scrip, llm_budget, disk_quota, disk_used, compute_rate, compute_capacity, compute_scaled, compute_updated_at, llm_rate_rate, llm_rate_capacity, llm_rate_scaled, llm_rate_updated_at, frozen"

    init(row: Row) {
        id = row[0]; scrip = row[1]; llmBudget = row[2]; diskQuota = row[3]; diskUsed = row[4]
        compute = TokenBucket(ratePerSecond: row[5], capacity: row[6], scaledBalance: row[7], updatedAtMicros: row[8])
        llmRate = TokenBucket(ratePerSecond: row[9], capacity: row[10], scaledBalance: row[11], updatedAtMicros: row[12])
        frozenRecorded = row[13]
    }

    init(id: String, scrip: Int64, llmBudget: Int64, diskQuota: Int64, compute: TokenBucket, llmRate: TokenBucket) {
        self.id = id; self.scrip = scrip; self.llmBudget = llmBudget; self.diskQuota = diskQuota; self.diskUsed = 0
        self.compute = compute; self.llmRate = llmRate; self.frozenRecorded = false
    }

    static func load(_ db: Database, _ id: String) throws -> Principal? {
        // Read on nearly every action: typed columns through the C API, no Row object.
        let s = try db.fastStatement("SELECT \(columns) FROM principals WHERE id = ?")
        s.bind(1, id)
        guard try s.step() else { return nil }
        defer { s.reset() }
        var p = Principal(id: s.text(0), scrip: s.int64(1), llmBudget: s.int64(2), diskQuota: s.int64(3),
                          compute: TokenBucket(ratePerSecond: s.int64(5), capacity: s.int64(6), scaledBalance: s.int64(7), updatedAtMicros: s.int64(8)),
                          llmRate: TokenBucket(ratePerSecond: s.int64(9), capacity: s.int64(10), scaledBalance: s.int64(11), updatedAtMicros: s.int64(12)))
        p.diskUsed = s.int64(4)
        p.frozenRecorded = s.bool(13)
        return p
    }

    static func require(_ db: Database, _ id: String) throws -> Principal {
        guard let p = try load(db, id) else {
            throw KernelError(.notFound, "\(id) is not a principal (only artifacts with standing hold balances)")
        }
        return p
    }

    func insert(_ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO principals (\(Self.columns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
            .execute(arguments: [id, scrip, llmBudget, diskQuota, diskUsed,
                                 compute.ratePerSecond, compute.capacity, compute.scaledBalance, compute.updatedAtMicros,
                                 llmRate.ratePerSecond, llmRate.capacity, llmRate.scaledBalance, llmRate.updatedAtMicros,
                                 frozenRecorded])
    }

    func save(_ db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE principals SET scrip=?, llm_budget=?, disk_quota=?, disk_used=?, compute_rate=?, compute_capacity=?,
            compute_scaled=?, compute_updated_at=?, llm_rate_rate=?, llm_rate_capacity=?, llm_rate_scaled=?,
            llm_rate_updated_at=?, frozen=? WHERE id=?
            """).execute(arguments: [scrip, llmBudget, diskQuota, diskUsed,
                                     compute.ratePerSecond, compute.capacity, compute.scaledBalance, compute.updatedAtMicros,
                                     llmRate.ratePerSecond, llmRate.capacity, llmRate.scaledBalance, llmRate.updatedAtMicros,
                                     frozenRecorded, id])
    }

    /// Balances as `inspect balances --json` and `genesis_ledger.balance` report them.
    public func json(now: Int64) -> JSONValue {
        .object([
            "id": .string(id), "scrip": .int(scrip),
            "compute": .int(compute.balance(atMicros: now)),
            "llm_budget": .number(Double(llmBudget) / 1_000_000),
            "llm_budget_microdollars": .int(llmBudget),
            "llm_rate": .int(llmRate.balance(atMicros: now)),
            "disk_used": .int(diskUsed), "disk_quota": .int(diskQuota),
            "frozen": .bool(compute.isInDebt(atMicros: now)),
        ])
    }
}

extension Kernel {
    /// Moves scrip between principals inside the caller's transaction.
    func moveScrip(_ db: Database, from: String, to: String, amount: Int64) throws {
        guard amount > 0 else { return }
        let debit = try db.fastStatement("UPDATE principals SET scrip = scrip - ?1 WHERE id = ?2 AND scrip >= ?1")
        debit.bind(1, amount); debit.bind(2, from)
        try debit.run()
        if db.changesCount == 0 {
            let have = try Principal.require(db, from).scrip
            throw KernelError(.insufficientFunds, "\(from) has \(have) scrip; \(amount) needed",
                              details: ["balance": .int(have), "needed": .int(amount)])
        }
        // SQLite turns an overflowing integer sum into a REAL, which no later read of the
        // row could decode as Int64: a credit that does not fit is refused instead.
        let credit = try db.fastStatement("UPDATE principals SET scrip = scrip + ?1 WHERE id = ?2 AND scrip <= 9223372036854775807 - ?1")
        credit.bind(1, amount); credit.bind(2, to)
        try credit.run()
        if db.changesCount == 0 {
            guard let recipient = try Principal.load(db, to) else { throw KernelError(.notFound, "\(to) is not a principal") }
            throw KernelError.invalid("\(to) holds \(recipient.scrip) scrip; \(amount) more would overflow its balance")
        }
    }

    /// Fails with INSUFFICIENT_COMPUTE when the principal is frozen (compute in debt).
    func requireNotFrozen(_ p: Principal, now: Int64) throws {
        try requireNotFrozen(p.id, p.compute, now: now)
    }

    func requireNotFrozen(_ id: String, _ compute: TokenBucket, now: Int64) throws {
        if compute.isInDebt(atMicros: now) {
            let wait = compute.secondsUntilSolvent(atMicros: now)
            throw KernelError(.insufficientCompute,
                              "\(id) is frozen: compute balance \(compute.balance(atMicros: now)) CPU-ms; it recovers by accumulation or a transfer",
                              details: ["compute": .int(compute.balance(atMicros: now))], retryAfter: wait)
        }
    }

    /// Checks that the payer is not frozen and charges the kernel's own cost of an action,
    /// with one read and (when there is a cost) one write of the payer's compute columns.
    /// A payer without standing (the system) is neither checked nor charged.
    func chargeActionCost(_ db: Database, payer: String, kernelMs: Int64) throws {
        guard var state = try ComputeState.load(db, payer) else { return }
        let now = clock.nowMicros()
        try requireNotFrozen(payer, state.bucket, now: now)
        if kernelMs > 0 { try charge(db, &state, scaledUnits: kernelMs.saturatingMultiply(TokenBucket.scale), now: now) }
    }

    /// Charges compute to a payer (debt allowed) and records a freeze if it starts now.
    /// `cpuMicros` is measured CPU in microseconds; `kernelMs` the kernel's own cost.
    func chargeCompute(_ db: Database, payer: String, cpuMicros: Int64, kernelMs: Int64 = 0) throws {
        guard cpuMicros > 0 || kernelMs > 0, var state = try ComputeState.load(db, payer) else { return }
        // One CPU-ms is TokenBucket.scale scaled units, so one CPU-µs is scale/1000.
        let scaled = cpuMicros.saturatingMultiply(TokenBucket.scale / 1000).saturatingAdd(kernelMs.saturatingMultiply(TokenBucket.scale))
        try charge(db, &state, scaledUnits: scaled, now: clock.nowMicros())
    }

    private func charge(_ db: Database, _ state: inout ComputeState, scaledUnits: Int64, now: Int64) throws {
        if state.frozenRecorded && !state.bucket.isInDebt(atMicros: now) {
            // It recovered (by accumulation or a transfer) since the freeze was recorded.
            state.frozenRecorded = false
            try events.append(db, "agent_unfrozen", principal: state.id, ["compute": .int(state.bucket.balance(atMicros: now))])
        }
        state.bucket.consume(scaledUnits: scaledUnits, atMicros: now)
        if state.bucket.isInDebt(atMicros: now) && !state.frozenRecorded {
            state.frozenRecorded = true
            try events.append(db, "agent_frozen", principal: state.id, ["compute": .int(state.bucket.balance(atMicros: now))])
        }
        try state.save(db)
    }
}

/// Only the compute columns of a principal: what the per-action check and charge need.
struct ComputeState {
    let id: String
    var bucket: TokenBucket
    var frozenRecorded: Bool

    static func load(_ db: Database, _ id: String) throws -> ComputeState? {
        let s = try db.fastStatement("""
            SELECT compute_rate, compute_capacity, compute_scaled, compute_updated_at, frozen FROM principals WHERE id = ?
            """)
        s.bind(1, id)
        guard try s.step() else { return nil }
        defer { s.reset() }
        return ComputeState(id: id, bucket: TokenBucket(ratePerSecond: s.int64(0), capacity: s.int64(1), scaledBalance: s.int64(2),
                                                        updatedAtMicros: s.int64(3)),
                            frozenRecorded: s.bool(4))
    }

    func save(_ db: Database) throws {
        let s = try db.fastStatement("UPDATE principals SET compute_scaled = ?, compute_updated_at = ?, frozen = ? WHERE id = ?")
        s.bind(1, bucket.scaledBalance); s.bind(2, bucket.updatedAtMicros); s.bind(3, frozenRecorded); s.bind(4, id)
        try s.run()
    }
}
