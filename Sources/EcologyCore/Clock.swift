import Foundation
import NIOConcurrencyHelpers

/// The source of time for every component. Times are integer microseconds since
/// the Unix epoch so that token-bucket refill is exact.
public protocol WorldClock: Sendable {
    func nowMicros() -> Int64
}

extension WorldClock {
    public var nowSeconds: Double { Double(nowMicros()) / 1_000_000 }
}

/// Wall-clock time for live runs.
public struct SystemClock: WorldClock {
    public init() {}
    public func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }
}

/// Virtual time for tests and deterministic simulation: it moves only when told.
public final class VirtualClock: WorldClock, Sendable {
    private let micros: NIOLockedValueBox<Int64>

    public init(startMicros: Int64 = 1_800_000_000_000_000) { micros = NIOLockedValueBox(startMicros) }

    public func nowMicros() -> Int64 { micros.withLockedValue { $0 } }

    public func advance(seconds: Double) { advance(micros: Int64(seconds * 1_000_000)) }

    public func advance(micros delta: Int64) {
        micros.withLockedValue { $0 += delta }
    }
}

/// Nanoseconds on the monotonic clock: for measuring durations (latencies, benchmarks),
/// never for world time, which is `WorldClock`'s.
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
