import EcologyCore
import Foundation
import GRDB
import NIOConcurrencyHelpers

/// Appends to the event log. Every state change writes its event in the same transaction.
public struct EventLog: Sendable {
    let clock: any WorldClock

    @discardableResult
    func append(_ db: Database, _ type: String, principal: String?, _ data: JSONValue) throws -> Int64 {
        // `type` and `principal` are raw text (the CLI's `agent publish` names both); data is JSON.
        try StoredText.require(type, field: "event type")
        if let principal { try StoredText.require(principal, field: "event principal") }
        let s = try db.fastStatement("INSERT INTO events (time, type, principal, data) VALUES (?, ?, ?, ?)")
        s.bind(1, clock.nowMicros()); s.bind(2, type); s.bind(3, principal); s.bind(4, JSONCodec.string(data))
        try s.run()
        return db.lastInsertedRowID
    }
}

/// One event as read back.
public struct WorldEvent: Sendable, Equatable {
    public var seq: Int64
    public var timeMicros: Int64
    public var type: String
    public var principal: String?
    public var data: JSONValue

    public var json: JSONValue {
        .object(["seq": .int(seq), "time": .number(seconds(timeMicros)), "type": .string(type),
                 "principal": principal.map(JSONValue.string) ?? .null, "data": data])
    }

    /// Reads events after `afterSeq` (exclusive), optionally filtered.
    public static func fetch(_ db: Database, afterSeq: Int64 = 0, limit: Int = 100, type: String? = nil,
                             principal: String? = nil, topic: String? = nil, newestFirst: Bool = false,
                             cache: EventDataCache? = nil) throws -> [WorldEvent] {
        var sql = "SELECT seq, time, type, principal, data FROM events WHERE seq > ?"
        var args: [any DatabaseValueConvertible] = [afterSeq]
        if let type { sql += " AND type = ?"; args.append(type) }
        if let principal { sql += " AND principal = ?"; args.append(principal) }
        if let topic { sql += " AND type = 'custom' AND json_extract(data, '$.topic') = ?"; args.append(topic) }
        sql += newestFirst ? " ORDER BY seq DESC LIMIT ?" : " ORDER BY seq LIMIT ?"
        args.append(limit)
        // A handful of distinct SQL texts: cached, so polling does not re-prepare them.
        // A cursor, not fetchAll: its rows are views on the statement, so an event whose data
        // is cached is never copied out of SQLite (fetchAll copied every column of every row;
        // `observe` reads 20 recent events per call, nearly all of them cache hits).
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: StatementArguments(args))
        var events: [WorldEvent] = []
        events.reserveCapacity(min(limit, 256))
        while let row = try rows.next() {
            let seq: Int64 = row[0]
            // Called (if at all) before the cursor moves on, while `row` is still current.
            let decode = { (try? JSONCodec.decode(row[4] as String)) ?? JSONValue.null }
            events.append(WorldEvent(seq: seq, timeMicros: row[1], type: row[2], principal: row[3],
                                     data: cache?.data(seq, decode) ?? decode()))
        }
        return events
    }
}

/// The decoded `data` of recently read events, by seq. Committed events never change
/// (and reads only ever see committed rows), so an entry cannot go stale; hundreds of
/// agents observing the same recent events then share one JSON parse per event.
public final class EventDataCache: Sendable {
    /// The entries, and the ring of their seqs in insertion order (`next` is the oldest).
    private struct Entries {
        var bySeq: [Int64: JSONValue] = [:]
        var ring: [Int64]
        var next = 0
    }
    private let entries: NIOLockedValueBox<Entries>

    public init(capacity: Int = 4096) { entries = NIOLockedValueBox(Entries(ring: Array(repeating: -1, count: max(1, capacity)))) }

    func data(_ seq: Int64, _ decode: () -> JSONValue) -> JSONValue {
        if let hit = entries.withLockedValue({ $0.bySeq[seq] }) { return hit }
        // Decoded outside the lock: readers of other events do not wait for this parse.
        let value = decode()
        entries.withLockedValue { e in
            if e.bySeq.updateValue(value, forKey: seq) == nil {
                if e.ring[e.next] >= 0 { e.bySeq[e.ring[e.next]] = nil }  // evict the oldest insertion
                e.ring[e.next] = seq
                e.next = (e.next + 1) % e.ring.count
            }
        }
        return value
    }
}
