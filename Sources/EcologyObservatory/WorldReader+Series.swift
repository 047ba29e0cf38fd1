import EcologyCore
import EcologyKernel
import Foundation
import GRDB

/// Time series for the overview charts.
///
/// Most series come **from the event log, bucketed by time**, so a stopped world shows its
/// whole history and a restarted supervisor does not start its charts empty: invokes/s and
/// events/s (counts), velocity (scrip moved by transfers, paid invokes, escrow sales and
/// debt issues and repayments, per agent per minute), scrip supply and frozen agents
/// (today's value, walked back through the mint's `minted` and the freeze/unfreeze events
/// of later buckets). Two have no event to be rebuilt from and are **sampled** by the
/// running observatory (`SeriesSampler`, every `sampleSeconds`): actions/s (most actions,
/// reads and observes, write no event) and the Gini coefficient (a function of every
/// balance at one instant).
extension WorldReader {
    /// At most this many buckets per series.
    public static let maxBuckets: Int64 = 500

    public func series(window: Double, buckets: Int64, sampler: SeriesSampler?) throws -> JSONValue {
        let now = kernel.clock.nowMicros()
        let windowMicros = max(1_000_000, CheckedNumber.clamped(window * 1_000_000))
        let bucketMicros = max(1_000_000, windowMicros / buckets)
        let count = Int(clamping: (windowMicros + bucketMicros - 1) / bucketMicros)
        let start = now - Int64(count) * bucketMicros
        var invokes = [Int64](repeating: 0, count: count), events = invokes, moved = invokes, minted = invokes, frozenDelta = invokes
        let agents = max(1, try kernel.agents().count)
        let (supplyNow, frozenNow) = (try kernel.totalScrip(), try kernel.agents().filter { $0["frozen"]?.boolValue == true }.count)
        try read { db in
            for r in try Row.fetchAll(db, sql: """
                SELECT (time - ?1) / ?2, COUNT(*), SUM(type='invoke'),
                  COALESCE(SUM(CASE type
                    WHEN 'transfer' THEN CASE WHEN json_extract(data,'$.resource')='scrip' THEN json_extract(data,'$.amount') END
                    WHEN 'invoke' THEN json_extract(data,'$.price_paid')
                    WHEN 'escrow_purchase' THEN json_extract(data,'$.price')
                    WHEN 'debt_issued' THEN json_extract(data,'$.amount')
                    WHEN 'debt_repaid' THEN json_extract(data,'$.amount') END), 0),
                  COALESCE(SUM(CASE WHEN type='mint_resolved' THEN json_extract(data,'$.minted') END), 0),
                  SUM(type='agent_frozen') - SUM(type='agent_unfrozen')
                FROM events WHERE time >= ?1 GROUP BY 1
                """, arguments: [start, bucketMicros]) {
                guard let b = Int(exactly: r[0] as Int64), b >= 0, b < count else { continue }
                events[b] = r[1]; invokes[b] = r[2]; moved[b] = r[3]; minted[b] = r[4]; frozenDelta[b] = r[5]
            }
        }
        let bucketSeconds = Double(bucketMicros) / 1_000_000
        var supply = [Int64](repeating: 0, count: count), frozen = supply
        var s = supplyNow, f = Int64(frozenNow)
        for b in stride(from: count - 1, through: 0, by: -1) {
            supply[b] = s; frozen[b] = max(0, f)
            s -= minted[b]; f -= frozenDelta[b]
        }
        let times = (0..<count).map { JSONValue.number(Self.seconds(start + Int64($0 + 1) * bucketMicros)) }
        func rate(_ xs: [Int64]) -> JSONValue { .array(xs.map { .number(Double($0) / bucketSeconds) }) }
        var out: [String: JSONValue] = [
            "bucket_seconds": .number(bucketSeconds), "time": .array(times),
            "invokes_per_second": rate(invokes), "events_per_second": rate(events),
            "velocity_per_agent_minute": .array(moved.map { .number(Double($0) / Double(agents) / (bucketSeconds / 60)) }),
            "scrip_supply": .array(supply.map(JSONValue.int)), "frozen_agents": .array(frozen.map(JSONValue.int)),
        ]
        let samples = sampler?.samples(since: Self.seconds(start)) ?? []
        out["sampled"] = .object(["time": .array(samples.map { .number($0.time) }),
                                  "actions_per_second": .array(samples.map { $0.actionsPerSecond.map(JSONValue.number) ?? .null }),
                                  "gini": .array(samples.map { $0.gini.map(JSONValue.number) ?? .null })])
        return .object(out)
    }
}

/// Samples of what the event log cannot rebuild, taken by the running observatory.
public final class SeriesSampler: @unchecked Sendable {
    public struct Sample: Sendable { public var time: Double; public var actionsPerSecond: Double?; public var gini: Double? }
    // Safe: `ring` is read and written only while `lock` is held.
    private let lock = NSLock()
    private var ring: [Sample] = []
    /// One hour at the default 5 s period.
    public static let capacity = 720

    public init() {}

    public func take(_ reader: WorldReader) {
        let gini = (try? reader.kpiSource?.kpis(window: nil).json["gini"]?.doubleValue) ?? nil
        let sample = Sample(time: WorldReader.seconds(reader.kernel.clock.nowMicros()),
                            actionsPerSecond: reader.live?.actionsPerSecond(), gini: gini)
        lock.lock()
        ring.append(sample)
        if ring.count > Self.capacity { ring.removeFirst(ring.count - Self.capacity) }
        lock.unlock()
    }

    func samples(since: Double) -> [Sample] {
        lock.lock(); defer { lock.unlock() }
        return ring.filter { $0.time >= since }
    }
}
