import EcologyCore

/// What the running supervisor knows that the database does not: which agents have a
/// live session right now and the recent action rate. `ecology dashboard` (a stopped
/// world) has none; the observatory then says so instead of showing stale states.
public protocol LiveWorldStatus: Sendable {
    /// Actions per second over the supervisor's last metrics window.
    func actionsPerSecond() -> Double
}

/// The KPI module (the kernel's inspection layer), seen through one function so the
/// observatory does not compute a formula of its own: `/metrics`, the overview and the
/// KPI panel all show what `ecology inspect kpis --json` prints.
public protocol KPISource: Sendable {
    /// The KPIs over the whole world (window nil) or the last `window` seconds, as one
    /// JSON object of numbers, with their keys in documentation order.
    func kpis(window: Double?) throws -> (json: JSONValue, keys: [String])
}

/// An agent's statement (every movement of its scrip, compute, LLM dollars and disk with
/// the event that caused it), from the kernel's inspection layer.
public protocol StatementSource: Sendable {
    func statement(of agent: String, limit: Int?) throws -> JSONValue
}
