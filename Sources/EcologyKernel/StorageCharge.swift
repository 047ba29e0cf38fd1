import EcologyCore
import GRDB

/// Who pays for stored bytes.
///
/// Every live artifact's `size_bytes` sits on exactly one principal's `disk_used`: its
/// billing principal, stored as `artifacts.charged_to` and derived by one rule
/// (`billingPrincipal`) whenever ownership or a listing or debt state changes
/// (`recharge`). The rule keeps the charge with whoever controls the artifact and can
/// free it, never with a genesis account:
/// - the world's own artifacts (owner `genesis`: services, handbook) are unmetered;
/// - a **requested debt** is charged to its debtor, who asked for it and can withdraw it
///   (`genesis_debt.cancel` tombstones it) — a request never costs the creditor anything
///   until it accepts;
/// - a **listed** artifact (owned by `genesis_escrow`) stays charged to its seller, who can
///   cancel the listing and get it back; before this, a deposit made storage free;
/// - otherwise its owner.
///
/// Who may make an artifact bigger is restricted the same way (`requireMayGrow`): only the
/// billing principal's own action, so nobody else — a writer of a `genesis_public`
/// artifact, tool code acting for its invoker, a tool's author — can spend a principal's
/// quota; anyone the contract lets write may still shrink it or rewrite it at the same size.
extension Kernel {
    /// The principal an artifact's bytes are charged to (see the type's comment).
    func billingPrincipal(_ db: Database, for a: Artifact) throws -> String {
        if a.ownerID == Self.systemID { return Self.systemID }
        if a.kind == "debt",
           let debtor = try String.fetchOne(db.cachedStatement(sql: "SELECT debtor FROM debts WHERE id = ? AND status = 'requested'"),
                                            arguments: [a.id]) {
            return debtor
        }
        if a.ownerID == EscrowService.id, let seller = try activeListingSeller(db, a.id) { return seller }
        return a.ownerID
    }

    func activeListingSeller(_ db: Database, _ artifactID: String) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT seller FROM escrow_listings WHERE artifact_id = ? AND status = 'active'"),
                            arguments: [artifactID])
    }

    /// Re-derives the billing principal after an ownership, listing or debt change and moves
    /// the bytes to it (its quota checked: `QUOTA_EXCEEDED`). The caller saves `a`, and
    /// records the returned fields in the event of the change (`StorageMove.fields`), so
    /// that statements (`Kernel.statement`) see the bytes move.
    @discardableResult
    func recharge(_ db: Database, _ a: inout Artifact) throws -> StorageMove? {
        let to = try billingPrincipal(db, for: a)
        guard to != a.chargedTo else { return nil }
        var move: StorageMove?
        if !a.isDeleted {
            try adjustDisk(db, principal: to, delta: a.sizeBytes)
            try adjustDisk(db, principal: a.chargedTo, delta: -a.sizeBytes)
            move = StorageMove(bytes: a.sizeBytes, from: a.chargedTo, to: to)
        }
        a.chargedTo = to
        return move
    }

    /// Growing an artifact, or changing its contract (which re-decides who can free it), is
    /// for the principal its bytes are charged to, acting itself (`caller == payer`): tool
    /// code acting for an invoker, or anyone a contract lets write, cannot spend that
    /// principal's quota or lock it out of bytes it pays for.
    func requireMayGrow(_ a: Artifact, by context: CallContext, growth: Int64, contractChange: Bool) throws {
        guard growth > 0 || contractChange else { return }
        if context.caller == context.payer && context.payer == a.chargedTo { return }
        let what = contractChange ? "change the contract of" : "grow"
        let who = context.caller == context.payer ? context.caller : "\(context.caller) (tool code paid for by \(context.payer))"
        throw KernelError(.accessDenied, "\(who) may not \(what) \(a.id): its bytes are charged to \(a.chargedTo), and only \(a.chargedTo)'s own actions may \(what) it (shrinking or rewriting at the same size is allowed)",
                          details: ["charged_to": .string(a.chargedTo), "growth": .int(growth)])
    }

    /// Consumes (positive delta) or frees disk quota of the principal charged. The world's
    /// own artifacts (charged to `genesis`) are not metered; no genesis account is ever
    /// charged (`GenesisAccounts`).
    func adjustDisk(_ db: Database, principal: String, delta: Int64) throws {
        guard delta != 0, principal != Self.systemID else { return }
        if delta > 0 { try GenesisAccounts.require(principal, mayHold: .storage, as: "principal charged for the bytes") }
        guard var p = try Principal.load(db, principal) else {
            if delta > 0 { throw KernelError.notFound("principal \(principal) to charge for storage") }
            return
        }
        let (after, overflow) = p.diskUsed.addingReportingOverflow(delta)
        if delta > 0 && (overflow || after > p.diskQuota) {
            throw KernelError(.quotaExceeded, "\(principal) would use \(overflow ? "more than" : "\(after) of") \(p.diskQuota) disk bytes",
                              details: ["disk_used": .int(p.diskUsed), "disk_quota": .int(p.diskQuota), "needed": .int(delta)])
        }
        p.diskUsed = max(0, after)
        try p.save(db)
    }

    /// Stored bytes moved from one billing principal to another.
    struct StorageMove {
        var bytes: Int64
        var from: String
        var to: String

        /// `bytes, bytes_from, bytes_to` for the event that moved them (none when nothing moved).
        static func fields(_ move: StorageMove?) -> [String: JSONValue] {
            guard let move, move.bytes != 0 else { return [:] }
            return ["bytes": .int(move.bytes), "bytes_from": .string(move.from), "bytes_to": .string(move.to)]
        }
    }

    /// Leaves a tombstone: content, code, interface and metadata dropped (none of it is
    /// charged any more), the bytes freed, the ID kept. The caller saves `a`.
    func tombstone(_ db: Database, _ a: inout Artifact) throws -> Int64 {
        let freed = a.sizeBytes
        try adjustDisk(db, principal: a.chargedTo, delta: -freed)
        let now = clock.nowMicros()
        a.content = ""; a.code = nil; a.interface = nil; a.metadata = .object([:]); a.sizeBytes = 0
        a.deletedAt = now; a.updatedAt = now; a.version += 1
        return freed
    }
}
