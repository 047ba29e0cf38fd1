/// An OTP-style restart intensity: at most `intensity` restarts within `periodSeconds`;
/// one more crash in that window parks the agent. Between restarts the delay doubles
/// from `backoffSeconds` (capped), so a crash loop costs little. Pure: time is passed in.
public struct RestartPolicy: Sendable, Equatable {
    public enum Decision: Sendable, Equatable {
        case restart(afterSeconds: Double)
        case park
    }

    public let intensity: Int
    public let periodSeconds: Double
    public let backoffSeconds: Double
    public let maxBackoffSeconds: Double
    private(set) var crashes: [Double] = []

    public init(intensity: Int, periodSeconds: Double, backoffSeconds: Double, maxBackoffSeconds: Double = 10) {
        self.intensity = intensity; self.periodSeconds = periodSeconds
        self.backoffSeconds = backoffSeconds; self.maxBackoffSeconds = maxBackoffSeconds
    }

    /// Records a crash at `now` (seconds) and decides what to do.
    public mutating func recordCrash(at now: Double) -> Decision {
        crashes = crashes.filter { now - $0 < periodSeconds } + [now]
        if crashes.count > intensity { return .park }
        let exponent = Double(crashes.count - 1)
        return .restart(afterSeconds: min(maxBackoffSeconds, backoffSeconds * pow2(exponent)))
    }

    public var recentCrashes: Int { crashes.count }

    private func pow2(_ e: Double) -> Double { var r = 1.0; for _ in 0..<Int(e) { r *= 2 }; return r }
}
