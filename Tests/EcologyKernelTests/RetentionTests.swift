import EcologyCore
@testable import EcologyKernel
import Foundation
import GRDB
import XCTest

/// Retention on virtual time: what is past a limit goes (in bounded batches), what is
/// inside stays, disk accounting stays exact, and events reach the JSONL archive
/// durably before their rows are deleted — a crash in between loses nothing and the
/// retry archives nothing twice.
final class RetentionTests: XCTestCase {
    /// Every setting off, so each test turns on only what it checks.
    private func config(_ adjust: (inout RetentionSettings) -> Void) -> WorldConfig {
        var c = WorldConfig()
        c.retention.traceMaxAgeSeconds = 0; c.retention.traceMaxPerAgent = 0
        c.retention.memoryMaxAgeSeconds = 0; c.retention.memoryMaxPerAgent = 0
        c.retention.eventMaxAgeSeconds = 0; c.retention.eventMaxRows = 0
        adjust(&c.retention)
        return c
    }

    private func traceSeqs(_ w: TestWorld, _ agent: String) throws -> [Int64] {
        try w.kernel.traces(agent: agent, limit: 100_000).compactMap { $0["seq"]?.intValue }
    }

    /// Runs passes until no kind reports a backlog; returns the summed report and the pass count.
    private func drain(_ w: TestWorld) throws -> (RetentionReport, Int) {
        var total = RetentionReport(), passes = 0
        repeat {
            let r = try w.kernel.runRetention()
            passes += 1
            total.archivedEvents += r.archivedEvents; total.deletedEvents += r.deletedEvents
            total.deletedTraces += r.deletedTraces; total.prunedMemories += r.prunedMemories
            total.purgedTombstones += r.purgedTombstones; total.backlog = r.backlog
            XCTAssertLessThan(passes, 1_000, "retention never drained")
        } while total.backlog && passes < 1_000
        return (total, passes)
    }

    private func allEvents(_ w: TestWorld) throws -> [WorldEvent] {
        try w.database.read { try WorldEvent.fetch($0, limit: 1_000_000) }
    }

    private func exported(_ w: TestWorld) throws -> [WorldEvent] {
        var out: [WorldEvent] = []
        try w.kernel.forEachEvent(pageSize: 7) { out.append($0) }
        return out
    }

    private func archivedEvents(_ w: TestWorld) throws -> [WorldEvent] {
        let archive = w.kernel.eventArchive
        return try archive.files().flatMap { try archive.events(in: $0) }
    }

    /// Some events: a write per step, each on its own clock tick.
    private func makeEvents(_ w: TestWorld, _ prefix: String, count: Int) throws {
        for i in 0..<count {
            try XCTUnwrapOK(w.write("alpha", "\(prefix)-\(i)", ["content": .string("note \(i) with ünïcode and \"quotes\"")]))
            w.clock.advance(seconds: 1)
        }
    }

    // MARK: Traces

    func testTracesPastTheirAgeGoAndYoungerOnesStay() throws {
        let w = try TestWorld(config: config { $0.traceMaxAgeSeconds = 100 })
        for i in 0..<5 { try w.kernel.recordTrace(agent: "alpha", kind: "note", ["old": .int(Int64(i))]) }
        w.clock.advance(seconds: 60)
        for i in 0..<3 { try w.kernel.recordTrace(agent: "alpha", kind: "note", ["new": .int(Int64(i))]) }
        let young = Array(try traceSeqs(w, "alpha").suffix(3))
        XCTAssertEqual(try w.kernel.runRetention().deletedTraces, 0, "nothing is 100 s old yet")
        w.clock.advance(seconds: 50)  // the first five are 110 s old, the last three 50 s
        let report = try w.kernel.runRetention()
        XCTAssertEqual(report.deletedTraces, 5)
        XCTAssertEqual(try traceSeqs(w, "alpha"), young)
        w.assertInvariants()
    }

    func testEachAgentKeepsItsNewestTracesInBoundedBatches() throws {
        let w = try TestWorld(config: config { $0.traceMaxPerAgent = 4; $0.batchRows = 3 })
        for i in 0..<10 { try w.kernel.recordTrace(agent: "alpha", kind: "step", ["i": .int(Int64(i))]); w.clock.advance(seconds: 1) }
        for i in 0..<3 { try w.kernel.recordTrace(agent: "beta", kind: "step", ["i": .int(Int64(i))]) }
        let alphaNewest = Array(try traceSeqs(w, "alpha").suffix(4)), beta = try traceSeqs(w, "beta")
        let first = try w.kernel.runRetention()
        XCTAssertEqual(first.deletedTraces, 3, "one pass deletes at most batch_rows")
        XCTAssertTrue(first.backlog)
        let (rest, _) = try drain(w)
        XCTAssertEqual(first.deletedTraces + rest.deletedTraces, 6)
        XCTAssertEqual(try traceSeqs(w, "alpha"), alphaNewest)
        XCTAssertEqual(try traceSeqs(w, "beta"), beta, "an agent under its limit loses nothing")
    }

    // MARK: Memories

    private func writeMemory(_ w: TestWorld, _ owner: String, _ n: Int) throws {
        try XCTUnwrapOK(w.write(owner, "\(owner).mem.\(n)", ["kind": "memory", "contract": "genesis_private",
                                                               "content": .string("memory \(n) of \(owner): " + String(repeating: "x", count: 10 * n))]))
    }

    func testMemoriesBeyondTheCountAreTombstonedAndTheirBytesFreed() throws {
        let w = try TestWorld(config: config { $0.memoryMaxPerAgent = 3 })
        for n in 1...5 { try writeMemory(w, "alpha", n); w.clock.advance(seconds: 1) }
        try writeMemory(w, "beta", 1)
        try XCTUnwrapOK(w.write("alpha", "alpha-tool", ["content": "not a memory"]))
        let sizes = try (1...2).map { try XCTUnwrap(w.artifact("alpha.mem.\($0)")).sizeBytes }
        let usedBefore = try XCTUnwrap(w.principal("alpha")).diskUsed
        let report = try w.kernel.runRetention()
        XCTAssertEqual(report.prunedMemories, 2)
        XCTAssertEqual(try XCTUnwrap(w.principal("alpha")).diskUsed, usedBefore - sizes.reduce(0, +), "the owner's disk_used falls by exactly the freed bytes")
        for n in 1...2 { XCTAssertCode(w.act("alpha", "read", ["artifact_id": .string("alpha.mem.\(n)")]), .deleted) }
        for n in 3...5 { try XCTUnwrapOK(w.act("alpha", "read", ["artifact_id": .string("alpha.mem.\(n)")])) }
        try XCTUnwrapOK(w.act("alpha", "read", ["artifact_id": "alpha-tool"]))
        try XCTUnwrapOK(w.act("beta", "read", ["artifact_id": "beta.mem.1"]))
        let deletions = try w.events(type: "artifact_deleted")
        XCTAssertEqual(deletions.map { $0.data["artifact_id"] }, ["alpha.mem.1", "alpha.mem.2"])
        XCTAssertEqual(deletions.map { $0.data["reason"] }, ["retention", "retention"])
        XCTAssertEqual(deletions.map { $0.data["freed_bytes"]?.intValue }, sizes.map { $0 })
        XCTAssertEqual(try w.kernel.runRetention().prunedMemories, 0)
        w.assertInvariants()
    }

    func testMemoriesNotWrittenForTheirAgeGo() throws {
        let w = try TestWorld(config: config { $0.memoryMaxAgeSeconds = 100 })
        try writeMemory(w, "alpha", 1)
        try writeMemory(w, "alpha", 2)
        w.clock.advance(seconds: 80)
        try XCTUnwrapOK(w.act("alpha", "edit", ["artifact_id": "alpha.mem.2", "old": "memory", "new": "still a memory"]))
        try writeMemory(w, "alpha", 3)
        w.clock.advance(seconds: 30)  // mem.1 untouched for 110 s; mem.2 rewritten 30 s ago
        XCTAssertEqual(try w.kernel.runRetention().prunedMemories, 1)
        XCTAssertTrue(try XCTUnwrap(w.artifact("alpha.mem.1")).isDeleted)
        XCTAssertFalse(try XCTUnwrap(w.artifact("alpha.mem.2")).isDeleted)
        XCTAssertFalse(try XCTUnwrap(w.artifact("alpha.mem.3")).isDeleted)
        w.assertInvariants()
    }

    // MARK: Tombstones

    func testTombstonesArePurgedInBatches() throws {
        var c = config { $0.batchRows = 2 }
        c.world.tombstoneRetentionSeconds = 10
        let w = try TestWorld(config: c)
        for i in 0..<5 { try XCTUnwrapOK(w.write("alpha", "t\(i)")); try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": .string("t\(i)")])) }
        w.clock.advance(seconds: 11)
        XCTAssertEqual(try w.kernel.runRetention().purgedTombstones, 2)
        XCTAssertEqual(try drain(w).0.purgedTombstones, 3)
        for i in 0..<5 { XCTAssertNil(try w.artifact("t\(i)")) }
        w.assertInvariants()
    }

    /// A retention too long to express in microseconds (a hostile or careless config)
    /// once trapped in `now - seconds * 1_000_000`; now it means "keep everything".
    func testRetentionsTooLongToExpressKeepEverything() throws {
        var c = config {
            $0.traceMaxAgeSeconds = .max; $0.memoryMaxAgeSeconds = .max; $0.eventMaxAgeSeconds = .max
        }
        c.world.tombstoneRetentionSeconds = .max
        let w = try TestWorld(config: c)
        try w.kernel.recordTrace(agent: "alpha", kind: "note", [:])
        try writeMemory(w, "alpha", 1)
        try XCTUnwrapOK(w.write("alpha", "gone")); try XCTUnwrapOK(w.act("alpha", "delete", ["artifact_id": "gone"]))
        w.clock.advance(seconds: 1e9)
        XCTAssertEqual(try w.kernel.runRetention(), RetentionReport())
        XCTAssertEqual(try w.kernel.purgeTombstones(), 0)
        XCTAssertNotNil(try w.artifact("gone"))
        w.assertInvariants()
    }

    // MARK: Events

    func testOldEventsAreArchivedExactlyThenDeleted() throws {
        let w = try TestWorld(config: config { $0.eventMaxAgeSeconds = 100 })
        try makeEvents(w, "old", count: 20)
        w.clock.advance(seconds: 200)
        let old = try allEvents(w)
        try makeEvents(w, "new", count: 5)
        let everything = try allEvents(w)
        let rawData = try w.database.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, data FROM events ORDER BY seq").map { ($0[0] as Int64, $0[1] as String) }
        }
        let report = try w.kernel.runRetention()
        XCTAssertEqual(report.archivedEvents, old.count)
        XCTAssertEqual(report.deletedEvents, old.count)
        XCTAssertEqual(try allEvents(w), Array(everything.dropFirst(old.count)), "only events inside retention stay in the database")
        XCTAssertEqual(try archivedEvents(w), old, "the archive holds exactly the deleted events")
        // Byte for byte: each line carries the stored data text unchanged.
        let files = try w.kernel.eventArchive.files()
        XCTAssertEqual(files.count, 1)
        let lines = try String(contentsOfFile: files[0].path, encoding: .utf8).split(separator: "\n")
        for (line, (seq, data)) in zip(lines, rawData.prefix(old.count)) {
            XCTAssertTrue(line.hasPrefix("{\"data\":" + data + ","), "seq \(seq): stored data not kept byte for byte")
        }
        XCTAssertEqual(try exported(w), everything, "export reads the archive, then the database")
        XCTAssertEqual(try w.kernel.runRetention().archivedEvents, 0)
        w.assertInvariants()
    }

    func testEventRowLimitKeepsTheNewestRowsAndArchivesTheRestContiguously() throws {
        let w = try TestWorld(config: config { $0.eventMaxRows = 10; $0.batchRows = 7 })
        try makeEvents(w, "e", count: 30)
        let everything = try allEvents(w)
        let first = try w.kernel.runRetention()
        XCTAssertEqual(first.archivedEvents, 7)
        XCTAssertTrue(first.backlog)
        _ = try drain(w)
        XCTAssertEqual(try allEvents(w), Array(everything.suffix(10)))
        let files = try w.kernel.eventArchive.files()
        for (a, b) in zip(files, files.dropFirst()) { XCTAssertLessThan(a.lastSeq, b.firstSeq) }
        XCTAssertEqual(try archivedEvents(w), Array(everything.dropLast(10)))
        XCTAssertEqual(try exported(w), everything)
        w.assertInvariants()
    }

    private struct Crash: Error {}

    func testACrashBetweenArchiveAndDeleteLosesNothingAndTheRetryDuplicatesNothing() throws {
        let w = try TestWorld(config: config { $0.eventMaxAgeSeconds = 100; $0.batchRows = 1_000 })
        try makeEvents(w, "a", count: 8)
        w.clock.advance(seconds: 150)
        let firstBatch = try allEvents(w)
        XCTAssertThrowsError(try w.kernel.archiveAndPruneEvents(limit: 1_000, afterArchive: { throw Crash() }))
        // The file is durable, the rows are still there: each event exists twice on disk,
        // but every reader sees it once.
        XCTAssertEqual(try archivedEvents(w), firstBatch)
        XCTAssertEqual(try allEvents(w), firstBatch)
        XCTAssertEqual(try exported(w), firstBatch)
        // More events become due before the retry: it finishes the crashed batch without
        // rewriting it, then archives the new ones after it.
        try makeEvents(w, "b", count: 4)
        w.clock.advance(seconds: 150)
        try makeEvents(w, "c", count: 2)
        let everything = try allEvents(w)
        let report = try w.kernel.runRetention()
        XCTAssertEqual(report.archivedEvents, everything.count - firstBatch.count - 2)
        XCTAssertEqual(report.deletedEvents, everything.count - 2)
        let archived = try archivedEvents(w)
        XCTAssertEqual(archived.map(\.seq), Array(Set(archived.map(\.seq))).sorted(), "no event archived twice")
        XCTAssertEqual(archived, Array(everything.dropLast(2)))
        XCTAssertEqual(try allEvents(w), Array(everything.suffix(2)))
        XCTAssertEqual(try exported(w), everything)
        w.assertInvariants()
    }

    func testEventsStayWhenRetentionIsOff() throws {
        let w = try TestWorld(config: config { _ in })
        try makeEvents(w, "e", count: 5)
        w.clock.advance(seconds: 1e7)
        let before = try allEvents(w)
        XCTAssertEqual(try w.kernel.runRetention(), RetentionReport())
        XCTAssertEqual(try allEvents(w), before)
        XCTAssertEqual(try w.kernel.eventArchive.files(), [])
    }
}
