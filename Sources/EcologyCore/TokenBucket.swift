/// A token bucket for flow resources (compute, llm_rate).
///
/// The balance refills continuously at `ratePerSecond` up to `capacity` and may go
/// negative (debt). To keep refill exact with integer arithmetic, the balance is
/// held in *scaled units*: one unit = `scale` scaled units, and one microsecond of
/// refill adds exactly `ratePerSecond` scaled units. No rounding ever happens.
///
/// Rates, capacities and amounts reach here from the config and from agents
/// (`transfer_quota`), so no operation may trap: the scaled balance saturates at the
/// Int64 bounds (a bucket holds at most `maxUnits` units), and callers that must
/// conserve an amount (transfers) check `canCredit` first and refuse what does not fit.
public struct TokenBucket: Sendable, Equatable, Codable {
    /// Scaled units per unit: rate (units/s) × elapsed (µs) = scaled units.
    public static let scale: Int64 = 1_000_000
    /// The most whole units a bucket can hold: Int64.max scaled units (9,223,372,036,854).
    public static let maxUnits: Int64 = Int64.max / scale

    public var ratePerSecond: Int64
    public var capacity: Int64
    public private(set) var scaledBalance: Int64
    public private(set) var updatedAtMicros: Int64

    public init(ratePerSecond: Int64, capacity: Int64, balance: Int64, nowMicros: Int64) {
        self.ratePerSecond = max(0, ratePerSecond)
        self.capacity = max(0, capacity)
        self.scaledBalance = balance.saturatingMultiply(Self.scale)
        self.updatedAtMicros = nowMicros
    }

    public init(ratePerSecond: Int64, capacity: Int64, scaledBalance: Int64, updatedAtMicros: Int64) {
        self.ratePerSecond = ratePerSecond
        self.capacity = capacity
        self.scaledBalance = scaledBalance
        self.updatedAtMicros = updatedAtMicros
    }

    /// Whole units available now (rounded toward negative infinity).
    public func balance(atMicros now: Int64) -> Int64 {
        var copy = self
        copy.refill(toMicros: now)
        // Floor division without negating (−Int64.min would trap).
        let q = copy.scaledBalance / Self.scale
        return copy.scaledBalance % Self.scale < 0 ? q - 1 : q
    }

    /// Exact balance in scaled units after refill.
    public func scaledBalance(atMicros now: Int64) -> Int64 {
        var copy = self
        copy.refill(toMicros: now)
        return copy.scaledBalance
    }

    /// Applies continuous refill up to `now`. Time never runs backwards here.
    public mutating func refill(toMicros now: Int64) {
        guard now > updatedAtMicros else { return }
        let elapsed = now.saturatingSubtract(updatedAtMicros)
        let cap = capacity.saturatingMultiply(Self.scale)
        if scaledBalance < cap {
            let (gain, overflow) = elapsed.multipliedReportingOverflow(by: ratePerSecond)
            scaledBalance = overflow ? cap : min(cap, scaledBalance.saturatingAdd(gain))
        }
        updatedAtMicros = now
    }

    /// Consumes `units` (possibly into debt). Returns the scaled balance after.
    @discardableResult
    public mutating func consume(units: Int64, atMicros now: Int64) -> Int64 {
        refill(toMicros: now)
        scaledBalance = scaledBalance.saturatingSubtract(units.saturatingMultiply(Self.scale))
        return scaledBalance
    }

    /// Consumes an amount given in scaled units (e.g. CPU microseconds into a CPU-ms bucket).
    public mutating func consume(scaledUnits: Int64, atMicros now: Int64) {
        refill(toMicros: now)
        scaledBalance = scaledBalance.saturatingSubtract(scaledUnits)
    }

    /// Adds units (a transfer in). The capacity caps refill only, not transfers.
    public mutating func credit(units: Int64, atMicros now: Int64) {
        refill(toMicros: now)
        scaledBalance = scaledBalance.saturatingAdd(units.saturatingMultiply(Self.scale))
    }

    /// True when `units` can be credited at `now` exactly (without saturating): what a
    /// transfer checks so that the units it takes from one bucket all arrive in the other.
    public func canCredit(units: Int64, atMicros now: Int64) -> Bool {
        let (scaled, o1) = units.multipliedReportingOverflow(by: Self.scale)
        return !o1 && !scaledBalance(atMicros: now).addingReportingOverflow(scaled).overflow
    }

    /// True when the balance is below zero: the owner is frozen for this resource.
    public func isInDebt(atMicros now: Int64) -> Bool { scaledBalance(atMicros: now) < 0 }

    /// Seconds until the balance is back to zero (0 if not in debt, nil if rate is 0).
    public func secondsUntilSolvent(atMicros now: Int64) -> Double? {
        let b = scaledBalance(atMicros: now)
        if b >= 0 { return 0 }
        guard ratePerSecond > 0 else { return nil }
        return -Double(b) / Double(ratePerSecond) / 1_000_000
    }
}
