import EcologyCore
import EcologyKernel
import Foundation
import Prometheus

/// The Prometheus metrics of one world (`GET /metrics`), every name `ecology_*`
/// (listed with their meaning in docs/OBSERVATORY.md).
///
/// Three sources, each with its own restart semantics:
/// - **The kernel's observer hook** (`KernelObserver`): actions by action and result code,
///   invokes by target kind, action and invoke latency. Process-lifetime counters: they
///   start at 0 with each supervisor (Prometheus sees a counter reset) and count only the
///   actions this process answered.
/// - **The event log** (`EventTally`): sandbox violations, LLM tokens and dollars, minted
///   scrip, invoke timeouts and OOMs. At start the tally reads the whole log once, then
///   only what was appended since the last scrape, so these counters carry the world's
///   history across restarts (minus events that retention archived before the start).
/// - **Gauges read at scrape**: agents by state, scrip supply, database and WAL size, the
///   process's RSS, threads and fds, and the KPIs.
public final class ObservatoryMetrics: KernelObserver {
    public let registry = PrometheusCollectorRegistry()
    /// Latency buckets, seconds: from a cached read (~100 µs) to a long tool (the CPU limit).
    static let latencyBuckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    public init() {}

    /// The label for an action name: the kernel's own action names, else `other` (an agent
    /// may ask for any name, and every distinct label value is a new time series).
    static func actionLabel(_ action: String) -> String { Kernel.actions.contains(action) ? action : "other" }

    public func kernelHandled(_ outcome: ActionOutcome) {
        let action = Self.actionLabel(outcome.action)
        let code = outcome.code?.rawValue ?? "OK"
        addCounter("ecology_actions_total", [("action", action), ("code", code)], 1,
                   help: "Kernel actions answered by this process, by action and result code (OK or the error code).")
        histogram("ecology_action_latency_seconds", [("action", action)],
                  help: "Wall time the kernel spent answering an action, seconds.").record(outcome.seconds)
        if outcome.action == "invoke" {
            let kind = outcome.target.map { $0.hasPrefix("genesis_") ? "genesis" : "user" } ?? "unknown"
            addCounter("ecology_invokes_total", [("target_kind", kind), ("code", code)], 1,
                       help: "Invokes answered by this process, by target kind (genesis service or user tool) and result code.")
            histogram("ecology_invoke_latency_seconds", [("target_kind", kind)],
                      help: "Wall time of an invoke, seconds (user tools include the sandboxed child).").record(outcome.seconds)
        }
    }

    // The registry returns the existing collector for a name and label set, so these are
    // cheap lookups after the first call.

    private func histogram(_ name: String, _ labels: [(String, String)], help: String) -> ValueHistogram {
        registry.makeValueHistogram(descriptor: MetricNameDescriptor(metricName: name, helpText: help), labels: labels, buckets: Self.latencyBuckets)
    }

    func setGauge(_ name: String, _ labels: [(String, String)] = [], _ value: Double, help: String) {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, helpText: help), labels: labels).set(value)
    }

    func addCounter(_ name: String, _ labels: [(String, String)], _ amount: Double, help: String) {
        let counter = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, helpText: help), labels: labels)
        if amount > 0 { counter.increment(by: amount) }
    }

    /// The text exposition format (version 0.0.4).
    public func exposition() -> String { registry.emitToString() }
}
