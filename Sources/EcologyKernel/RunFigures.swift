import EcologyCore
import GRDB

/// What the mint's rounds did with scrip, summed over some rounds: where new scrip came
/// from (awards, the UBI floor) and what was only moved (payments shared as UBI).
public struct MintRoundTotals: Sendable, Equatable {
    public var rounds: Int64 = 0
    /// The last round counted: the cursor for the next `Kernel.mintRoundTotals(afterRound:)`.
    public var lastRound: Int64 = 0
    /// New scrip created for the owners of winning artifacts (score / mint_ratio).
    public var awarded: Int64 = 0
    /// New scrip created to bring the UBI up to `mint.ubi_floor` per agent.
    public var ubiFloor: Int64 = 0
    /// Winners' payments shared among the agents as UBI: moved, not created.
    public var ubiFromPayments: Int64 = 0
    /// Payments destroyed because there was no agent to share them with.
    public var burned: Int64 = 0
    /// `awarded` per owner.
    public var awardedTo: [String: Int64] = [:]

    public init() {}

    /// Net scrip the rounds added to the supply.
    public var minted: Int64 { awarded.saturatingAdd(ubiFloor).saturatingSubtract(burned) }

    /// Adds later rounds (`later` counted after `lastRound`).
    public mutating func add(_ later: MintRoundTotals) {
        rounds += later.rounds; lastRound = max(lastRound, later.lastRound)
        awarded = awarded.saturatingAdd(later.awarded); ubiFloor = ubiFloor.saturatingAdd(later.ubiFloor)
        ubiFromPayments = ubiFromPayments.saturatingAdd(later.ubiFromPayments); burned = burned.saturatingAdd(later.burned)
        for (owner, amount) in later.awardedTo { awardedTo[owner, default: 0] = awardedTo[owner, default: 0].saturatingAdd(amount) }
    }
}

/// Figures of part of the world's history, for `ecology run`'s status line and summary:
/// what happened in this run, told apart from what the world holds from earlier runs.
/// Each takes a cursor (a mint round, an event seq), so a caller polling once a second
/// reads only what is new.
extension Kernel {
    /// The mint rounds after `round`, summed.
    public func mintRoundTotals(afterRound round: Int64) throws -> MintRoundTotals {
        try readOnly { db in
            var totals = MintRoundTotals()
            totals.lastRound = round
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT round, data FROM mint_rounds WHERE round > ? ORDER BY round"), arguments: [round]) {
                let number: Int64 = row[0]
                let record = (try? JSONCodec.decode(row[1] as String)) ?? .null
                var awarded: Int64 = 0
                for winner in record["winners"]?.arrayValue ?? [] {
                    let amount = winner["minted"]?.intValue ?? 0
                    guard amount != 0 else { continue }
                    awarded = awarded.saturatingAdd(amount)
                    if let owner = winner["owner"]?.stringValue { totals.awardedTo[owner, default: 0] = totals.awardedTo[owner, default: 0].saturatingAdd(amount) }
                }
                // `minted` is the round's net: awards, plus the floor's top-up, minus payments
                // burned for want of recipients (the two never happen in one round).
                let net = record["minted"]?.intValue ?? awarded
                let payments = record["payments"]?.intValue ?? 0
                totals.rounds += 1
                totals.lastRound = number
                totals.awarded = totals.awarded.saturatingAdd(awarded)
                totals.ubiFloor = totals.ubiFloor.saturatingAdd(max(0, net.saturatingSubtract(awarded)))
                totals.burned = totals.burned.saturatingAdd(max(0, awarded.saturatingSubtract(net)))
                if (record["ubi_recipients"]?.intValue ?? 0) > 0 { totals.ubiFromPayments = totals.ubiFromPayments.saturatingAdd(payments) }
            }
            return totals
        }
    }

    /// The number of the last resolved mint round (0 before the first).
    public func lastMintRound() throws -> Int64 {
        try readOnly { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(round), 0) FROM mint_rounds")) ?? 0 }
    }

    /// Events per type after `seq` (archived events are not counted; see `eventArchive`).
    public func eventCounts(afterSeq seq: Int64) throws -> [String: Int64] {
        try readOnly { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db.cachedStatement(sql: "SELECT type, COUNT(*) FROM events WHERE seq > ? GROUP BY type"),
                                                              arguments: [seq]).map { ($0[0] as String, $0[1] as Int64) })
        }
    }

    /// Agents created (spawned through `genesis_store.create`, or by bootstrap) after
    /// event `seq`, and the last seq looked at: the cursor for the next call.
    public func agentsCreated(afterSeq seq: Int64) throws -> (ids: [String], throughSeq: Int64) {
        try readOnly { db in
            let last = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM events")) ?? 0
            let ids = try String.fetchAll(db.cachedStatement(sql: """
                SELECT json_extract(data,'$.artifact_id') FROM events
                WHERE type = 'artifact_written' AND seq > ? AND seq <= ?
                  AND json_extract(data,'$.kind') = 'agent' AND json_extract(data,'$.created') = 1
                ORDER BY seq
                """), arguments: [seq, last])
            return (ids, max(seq, last))
        }
    }
}
