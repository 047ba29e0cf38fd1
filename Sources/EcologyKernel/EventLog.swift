import EcologyCore
import GRDB

/// Appends to the event log. Every state change writes its event in the same transaction.
public struct EventLog: Sendable {
    let clock: any WorldClock

    @discardableResult
    func append(_ db: Database, _ type: String, principal: String?, _ data: JSONValue) throws -> Int64 {
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
                             principal: String? = nil, topic: String? = nil, newestFirst: Bool = false) throws -> [WorldEvent] {
        var sql = "SELECT seq, time, type, principal, data FROM events WHERE seq > ?"
        var args: [any DatabaseValueConvertible] = [afterSeq]
        if let type { sql += " AND type = ?"; args.append(type) }
        if let principal { sql += " AND principal = ?"; args.append(principal) }
        if let topic { sql += " AND type = 'custom' AND json_extract(data, '$.topic') = ?"; args.append(topic) }
        sql += newestFirst ? " ORDER BY seq DESC LIMIT ?" : " ORDER BY seq LIMIT ?"
        args.append(limit)
        // A handful of distinct SQL texts: cached, so polling does not re-prepare them.
        return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: StatementArguments(args)).map {
            WorldEvent(seq: $0[0], timeMicros: $0[1], type: $0[2], principal: $0[3],
                       data: (try? JSONCodec.decode($0[4] as String)) ?? .null)
        }
    }
}
