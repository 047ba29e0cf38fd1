import EcologyCore
import Foundation
import GRDB

/// What one retention pass removed. `backlog` is true when some kind still had rows past
/// its limit after its batch, so the caller should run another pass soon.
public struct RetentionReport: Sendable, Equatable {
    public var archivedEvents = 0
    public var deletedEvents = 0
    public var deletedTraces = 0
    public var prunedMemories = 0
    public var purgedTombstones = 0
    public var backlog = false
    public init() {}

    public var json: JSONValue {
        .object(["archived_events": .int(Int64(archivedEvents)), "deleted_events": .int(Int64(deletedEvents)),
                 "deleted_traces": .int(Int64(deletedTraces)), "pruned_memories": .int(Int64(prunedMemories)),
                 "purged_tombstones": .int(Int64(purgedTombstones)), "backlog": .bool(backlog)])
    }
}

/// Retention keeps a long-running world bounded (`RetentionSettings`): traces and old
/// memories go, tombstones are purged, and events — only when the operator asks —
/// move to the JSONL archive. Every kind is pruned in transactions of at most
/// `batchRows` rows so that agents' writers never wait behind one huge delete; the
/// supervisor's run loop calls `runRetention` once per interval, and again at the next
/// metrics window while `backlog` says there is more.
extension Kernel {
    /// The archive of this world's events, `DATA_DIR/archive/`.
    public var eventArchive: EventArchive { EventArchive(databasePath: database.path) }

    /// One bounded pass over every kind. A failure in one kind (the archive's disk full)
    /// does not stop the others; the first error is thrown after all have run.
    @discardableResult
    public func runRetention() throws -> RetentionReport {
        var report = RetentionReport()
        let limit = max(1, config.retention.batchRows)
        var firstError: Error?
        func attempt(_ body: () throws -> Void) { do { try body() } catch { if firstError == nil { firstError = error } } }
        attempt {
            let e = try archiveAndPruneEvents(limit: limit)
            report.archivedEvents = e.archived; report.deletedEvents = e.deleted; report.backlog = report.backlog || e.backlog
        }
        attempt {
            let t = try pruneTraces(limit: limit)
            report.deletedTraces = t.deleted; report.backlog = report.backlog || t.backlog
        }
        attempt {
            let m = try pruneMemories(limit: limit)
            report.prunedMemories = m.pruned; report.backlog = report.backlog || m.backlog
        }
        attempt {
            let n = try purgeTombstoneBatch(limit: limit)
            report.purgedTombstones = n; report.backlog = report.backlog || n == limit
        }
        if let firstError { throw firstError }
        return report
    }

    /// `now - seconds`, in microseconds; nil when `seconds` is 0 (the limit is off).
    /// A retention too long to express reaches back before any time: nothing is past it.
    func retentionCutoff(seconds: Int64) -> Int64? {
        guard seconds > 0 else { return nil }
        let (span, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        if overflow { return Int64.min }
        let (cutoff, under) = clock.nowMicros().subtractingReportingOverflow(span)
        return under ? Int64.min : cutoff
    }

    // MARK: Events

    /// Archives the oldest events past `event_max_age_seconds` / `event_max_rows` (at most
    /// `limit`) to a durable JSONL file, then deletes exactly those rows. `afterArchive`
    /// runs between the two (tests throw from it to stand for a crash).
    func archiveAndPruneEvents(limit: Int, afterArchive: () throws -> Void = {}) throws -> (archived: Int, deleted: Int, backlog: Bool) {
        let r = config.retention
        let cutoffTime = retentionCutoff(seconds: r.eventMaxAgeSeconds)
        guard cutoffTime != nil || r.eventMaxRows > 0 else { return (0, 0, false) }
        let archive = eventArchive
        // First the rows of any batch whose file is durable but whose delete never
        // committed (a crash in between): delete them, never archive them again.
        var deleted = 0
        let oldest = try readOnly { db in try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM events") } ?? Int64.max
        for file in try archive.files() where file.lastSeq >= oldest {
            deleted += try deleteArchivedEvents(file)
        }
        let archivedThrough = try archive.archivedThrough()
        // The batch: the oldest events after the archive, while each is past retention.
        // A prefix of the log in seq order, so an archive file is always a contiguous range.
        let rows: [(seq: Int64, time: Int64, type: String, principal: String?, data: String)] = try readOnly { db in
            let cutoffSeq: Int64 = r.eventMaxRows > 0
                ? (try Int64.fetchOne(db, sql: "SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?", arguments: [r.eventMaxRows]) ?? 0)
                : 0
            var out: [(seq: Int64, time: Int64, type: String, principal: String?, data: String)] = []
            let cursor = try Row.fetchCursor(db, sql: "SELECT seq, time, type, principal, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                                             arguments: [archivedThrough, limit + 1])
            while let row = try cursor.next() {
                let seq: Int64 = row[0], time: Int64 = row[1]
                let past = seq <= cutoffSeq || (cutoffTime.map { time < $0 } ?? false)
                if !past { break }
                out.append((seq, time, row[2], row[3], row[4]))
            }
            return out
        }
        let batch = rows.prefix(limit)
        guard let first = batch.first?.seq, let last = batch.last?.seq else { return (0, deleted, false) }
        let lines = batch.map { EventArchive.line(seq: $0.seq, timeMicros: $0.time, type: $0.type, principal: $0.principal, rawData: $0.data) }
        let file = try archive.write(lines: lines, first: first, last: last)
        try afterArchive()
        deleted += try deleteArchivedEvents(file)
        return (batch.count, deleted, rows.count > limit)
    }

    /// Deletes the database rows of one durable archive file: its seq range, which held
    /// only the file's events when it was written (later events always get higher seqs).
    private func deleteArchivedEvents(_ file: EventArchive.File) throws -> Int {
        try database.write { db in
            try db.execute(sql: "DELETE FROM events WHERE seq BETWEEN ? AND ?", arguments: [file.firstSeq, file.lastSeq])
            return db.changesCount
        }
    }

    /// Every event, oldest first: the archive's files, then the database after them.
    /// Events of a batch caught between archive and delete are read once, from the archive.
    public func forEachEvent(pageSize: Int = 5000, _ body: (WorldEvent) throws -> Void) throws {
        var after: Int64 = 0
        let archive = eventArchive
        for file in try archive.files() where file.lastSeq > after {
            for e in try archive.events(in: file) where e.seq > after { try body(e); after = e.seq }
        }
        while true {
            let page = try readOnly { db in try WorldEvent.fetch(db, afterSeq: after, limit: pageSize) }
            guard let last = page.last else { return }
            for e in page { try body(e) }
            after = last.seq
        }
    }

    // MARK: Traces

    /// Deletes traces older than `trace_max_age_seconds` and those beyond the newest
    /// `trace_max_per_agent` of each agent, at most `limit` rows in all.
    func pruneTraces(limit: Int) throws -> (deleted: Int, backlog: Bool) {
        let r = config.retention
        var deleted = 0, backlog = false
        if let cutoff = retentionCutoff(seconds: r.traceMaxAgeSeconds) {
            try database.write { db in
                // The oldest rows first, while they are past the cutoff: never a scan of the whole table.
                var through: Int64?, count = 0
                let cursor = try Row.fetchCursor(db, sql: "SELECT seq, time FROM traces ORDER BY seq LIMIT ?", arguments: [limit + 1])
                while let row = try cursor.next() {
                    guard (row[1] as Int64) < cutoff else { break }
                    count += 1
                    if count > limit { backlog = true; break }
                    through = row[0]
                }
                if let through {
                    try db.execute(sql: "DELETE FROM traces WHERE seq <= ?", arguments: [through])
                    deleted += db.changesCount
                }
            }
        }
        if r.traceMaxPerAgent > 0 && deleted < limit {
            // Counted in a read (a scan of the agent index) so that writers never wait for it;
            // a trace added meanwhile only makes the count one too low, pruned next pass.
            let over = try readOnly { db in
                try Row.fetchAll(db, sql: "SELECT agent, COUNT(*) FROM traces GROUP BY agent HAVING COUNT(*) > ?",
                                 arguments: [r.traceMaxPerAgent]).map { ($0[0] as String, $0[1] as Int64) }
            }
            try database.write { db in
                for (agent, count) in over {
                    let room = limit - deleted
                    if room <= 0 { backlog = true; break }
                    let excess = count - Int64(r.traceMaxPerAgent)
                    try db.execute(sql: """
                        DELETE FROM traces WHERE seq IN (SELECT seq FROM traces WHERE agent = ? ORDER BY seq LIMIT ?)
                        """, arguments: [agent, min(excess, Int64(room))])
                    deleted += db.changesCount
                    if excess > Int64(room) { backlog = true }
                }
            }
        }
        return (deleted, backlog)
    }

    // MARK: Memories

    /// Tombstones memory artifacts (kind "memory") not written for `memory_max_age_seconds`
    /// and those beyond the newest `memory_max_per_agent` of each owner, at most `limit`.
    /// Exactly what the owner's own delete does: the bytes go back to the owner's disk
    /// quota and an `artifact_deleted` event (reason "retention") is written in the same
    /// transaction. Artifacts with standing and artifacts listed in escrow are left alone.
    func pruneMemories(limit: Int) throws -> (pruned: Int, backlog: Bool) {
        let r = config.retention
        let cutoff = retentionCutoff(seconds: r.memoryMaxAgeSeconds)
        guard cutoff != nil || r.memoryMaxPerAgent > 0 else { return (0, false) }
        let eligible = """
            kind = 'memory' AND deleted_at IS NULL AND has_standing = 0
            AND NOT EXISTS (SELECT 1 FROM escrow_listings l WHERE l.artifact_id = artifacts.id AND l.status = 'active')
            """
        return try database.writeTransaction { db in
            var victims: [String] = []
            var backlog = false
            if let cutoff {
                let ids = try String.fetchAll(db, sql: "SELECT id FROM artifacts WHERE \(eligible) AND updated_at < ? ORDER BY updated_at, id LIMIT ?",
                                              arguments: [cutoff, limit + 1])
                backlog = ids.count > limit
                victims += ids.prefix(limit)
            }
            if r.memoryMaxPerAgent > 0 && victims.count < limit {
                let chosen = Set(victims)
                let over = try Row.fetchAll(db, sql: "SELECT owner_id, COUNT(*) FROM artifacts WHERE \(eligible) GROUP BY owner_id HAVING COUNT(*) > ?",
                                            arguments: [r.memoryMaxPerAgent])
                for row in over {
                    let room = limit - victims.count
                    if room <= 0 { backlog = true; break }
                    // The newest `memoryMaxPerAgent` stay; the rest, oldest first, go.
                    let ids = try String.fetchAll(db, sql: """
                        SELECT id FROM artifacts WHERE \(eligible) AND owner_id = ?
                        ORDER BY updated_at DESC, id DESC LIMIT -1 OFFSET ?
                        """, arguments: [row[0] as String, r.memoryMaxPerAgent]).reversed().filter { !chosen.contains($0) }
                    if ids.count > room { backlog = true }
                    victims += ids.prefix(room)
                }
            }
            for id in victims { try entombForRetention(db, id) }
            return (victims.count, backlog)
        }
    }

    /// The same tombstone as the owner's own delete (`tombstone`: bytes freed from whoever
    /// pays for them), recorded as done by retention.
    private func entombForRetention(_ db: Database, _ id: String) throws {
        guard var a = try Artifact.load(db, id), !a.isDeleted else { return }
        let freed = try tombstone(db, &a)
        try a.update(db)
        try events.append(db, "artifact_deleted", principal: Kernel.systemID,
                          ["artifact_id": .string(id), "owner": .string(a.ownerID), "freed_bytes": .int(freed),
                           "charged_to": .string(a.chargedTo), "reason": "retention"])
    }

    // MARK: Tombstones

    /// Removes every tombstone older than `world.tombstone_retention_seconds`, in batches.
    /// Returns how many were purged. Principals' and debts' tombstones are never purged
    /// (their IDs are still referenced).
    @discardableResult
    public func purgeTombstones() throws -> Int {
        var total = 0
        let limit = max(1, config.retention.batchRows)
        while true {
            let n = try purgeTombstoneBatch(limit: limit)
            total += n
            if n < limit { return total }
        }
    }

    func purgeTombstoneBatch(limit: Int) throws -> Int {
        // 0 means "purge at once", as it always has; an unrepresentable retention purges nothing.
        let seconds = config.world.tombstoneRetentionSeconds
        let cutoff = seconds == 0 ? clock.nowMicros() : (retentionCutoff(seconds: seconds) ?? Int64.min)
        return try database.write { db in
            try db.execute(sql: """
                DELETE FROM artifacts WHERE rowid IN (
                    SELECT rowid FROM artifacts WHERE deleted_at IS NOT NULL AND deleted_at < ?
                    AND id NOT IN (SELECT id FROM principals) AND id NOT IN (SELECT id FROM debts) LIMIT ?)
                """, arguments: [cutoff, limit])
            return db.changesCount
        }
    }
}
