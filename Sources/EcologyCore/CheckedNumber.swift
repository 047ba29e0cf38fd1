/// Conversions and arithmetic that never trap, for numbers that came from outside the
/// supervisor: an agent's action, tool code, an interface's `inputSchema`, a contract's
/// content, a frame, the config, the CLI, an LLM provider's reply.
///
/// Swift traps (kills the whole supervisor) on `Int64(someDouble)` when the double is
/// NaN, infinite or outside Int64, and on `+ - *` that overflow. Every such operation on
/// untrusted data goes through here instead: `exact` where an integer is required (the
/// caller answers INVALID_ARGS for nil), `clamped`/`saturating` where a bound is the
/// documented meaning (a cache TTL, a timer), `checked` where overflow must be refused.
public enum CheckedNumber {
    /// The longest duration accepted from outside (the config, the CLI), in seconds:
    /// 100 years of 365 days. In nanoseconds it still fits Int64, so no deadline, timer or
    /// `Int(seconds)` built from such a duration can overflow.
    public static let maxDurationSeconds: Int64 = 3_153_600_000

    /// The largest integer every double up to which is exact (2^53 − 1, JavaScript's
    /// `Number.MAX_SAFE_INTEGER`). A JSON number written with a fraction or an exponent
    /// is a double; beyond this bound its integral value may not be what was written
    /// (`-9223372036854775809` parses to exactly −2^63), so it is no integer.
    public static let maxSafeInteger: Double = 9_007_199_254_740_991

    /// 2^63 as a Double: the first double that no longer fits Int64.
    static let twoToThe63: Double = 9_223_372_036_854_775_808.0

    /// The Int64 that `value` denotes exactly, or nil (fractional, NaN, ±infinity, or outside Int64).
    public static func exact(_ value: Double) -> Int64? { Int64(exactly: value) }

    /// `value` rounded toward zero and clamped into Int64; NaN is 0.
    public static func clamped(_ value: Double) -> Int64 {
        if value.isNaN { return 0 }
        if value >= twoToThe63 { return .max }
        if value < -twoToThe63 { return .min }
        return Int64(value)  // |value| < 2^63 here (or exactly -2^63): cannot trap
    }

    /// `value` rounded toward zero and clamped into Int; NaN is 0.
    public static func clampedInt(_ value: Double) -> Int { Int(clamping: clamped(value)) }

    /// Microseconds in `seconds` (rounded toward zero), saturating at the Int64 bounds; NaN is 0.
    public static func micros(fromSeconds seconds: Double) -> Int64 { clamped(seconds * 1_000_000) }

    /// `a + b`, or INVALID_ARGS naming `what` when the sum does not fit Int64.
    public static func sum(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws -> Int64 {
        let (v, overflow) = a.addingReportingOverflow(b)
        if overflow { throw KernelError.invalid("\(what()) would overflow (\(a) + \(b) exceeds 64-bit integers)") }
        return v
    }

    /// `a × b`, or INVALID_ARGS naming `what` when the product does not fit Int64.
    public static func product(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws -> Int64 {
        let (v, overflow) = a.multipliedReportingOverflow(by: b)
        if overflow { throw KernelError.invalid("\(what()) would overflow (\(a) × \(b) exceeds 64-bit integers)") }
        return v
    }
}

extension Int64 {
    /// `self + other`, clamped to the Int64 bounds instead of trapping.
    public func saturatingAdd(_ other: Int64) -> Int64 {
        let (v, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : v
    }

    /// `self - other`, clamped to the Int64 bounds instead of trapping.
    public func saturatingSubtract(_ other: Int64) -> Int64 {
        let (v, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : v
    }

    /// `self × other`, clamped to the Int64 bounds instead of trapping.
    public func saturatingMultiply(_ other: Int64) -> Int64 {
        let (v, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : v
    }
}
