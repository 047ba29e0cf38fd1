import EcologyCore
import EcologyKernel
import Foundation

/// What an agent's `sleep` waits for: any of a duration, an event matching a filter,
/// or a predicate over its own balances. Sleeping costs nothing.
struct WakeCondition: Sendable {
    var deadlineMicros: Int64?
    var eventType: String?
    var eventTopic: String?
    var eventPrincipal: String?
    var balanceResource: String?
    var balanceAtLeast: Int64?
    /// Events with a larger seq than this are new to the sleeper.
    var afterSeq: Int64

    static let maxSleepSeconds = 3600.0

    /// Parses `sleep` params; INVALID_ARGS for anything malformed or a sleep with no way to wake.
    init(params: JSONValue, nowMicros: Int64, afterSeq: Int64) throws {
        self.afterSeq = afterSeq
        guard case .object(let p) = params else { throw KernelError.invalid("sleep params must be an object") }
        let known: Set = ["seconds", "event", "balance"]
        if let bad = p.keys.first(where: { !known.contains($0) }) {
            throw KernelError.invalid("unknown sleep condition '\(bad.prefix(40))'; conditions: seconds, event, balance")
        }
        if let s = p["seconds"], !s.isNull {
            guard let secs = s.doubleValue, secs >= 0, secs <= Self.maxSleepSeconds else {
                throw KernelError.invalid("sleep seconds must be a number from 0 to \(CheckedNumber.clamped(Self.maxSleepSeconds))")
            }
            deadlineMicros = nowMicros.saturatingAdd(CheckedNumber.micros(fromSeconds: secs))
        }
        if let e = p["event"], !e.isNull {
            guard case .object(let f) = e, !f.isEmpty else { throw KernelError.invalid("sleep event must be an object with type, topic or principal") }
            if let bad = f.keys.first(where: { !["type", "topic", "principal"].contains($0) }) {
                throw KernelError.invalid("unknown event filter key '\(bad.prefix(40))'")
            }
            for (k, v) in f where v.stringValue == nil { throw KernelError.invalid("event filter \(k) must be a string") }
            eventType = f["type"]?.stringValue; eventTopic = f["topic"]?.stringValue; eventPrincipal = f["principal"]?.stringValue
        }
        if let b = p["balance"], !b.isNull {
            guard let r = b["resource"]?.stringValue, ["scrip", "compute", "llm_budget"].contains(r),
                  let gte = b["gte"]?.intValue else {
                throw KernelError.invalid("sleep balance must be {\"resource\": scrip|compute|llm_budget, \"gte\": integer}")
            }
            balanceResource = r; balanceAtLeast = gte
        }
        if deadlineMicros == nil && !waitsForEvent && balanceResource == nil {
            throw KernelError.invalid("sleep needs at least one of seconds, event, balance")
        }
    }

    var waitsForEvent: Bool { eventType != nil || eventTopic != nil || eventPrincipal != nil }

    func matches(_ e: WorldEvent) -> Bool {
        guard waitsForEvent, e.seq > afterSeq else { return false }
        if let t = eventType, e.type != t { return false }
        if let topic = eventTopic, e.type != "custom" || e.data["topic"]?.stringValue != topic { return false }
        if let p = eventPrincipal, e.principal != p { return false }
        return true
    }

    /// `balances` is a row of `Kernel.balances()`.
    func balanceSatisfied(_ balances: JSONValue) -> Bool {
        guard let r = balanceResource, let gte = balanceAtLeast else { return false }
        switch r {
        // Exact micro-dollars: dollars × 1e6 as a double rounds (and past 2^63 could not convert).
        case "llm_budget": return (balances["llm_budget_microdollars"]?.intValue ?? Int64.min) >= gte
        default: return (balances[r]?.intValue ?? Int64.min) >= gte
        }
    }
}
