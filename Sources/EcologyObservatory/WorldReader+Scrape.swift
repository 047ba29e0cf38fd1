import EcologyCore
import EcologyKernel
import EcologyHost
import Foundation

/// `GET /metrics`: bring the event-log counters up to date, read every gauge, emit.
extension WorldReader {
    /// Every state an agent can be in, so each gauge series exists (at 0) from the first scrape.
    static let agentStates = ["running", "sleeping", "frozen", "paused", "parked", "stopped", "crashed", "never started"]

    public func scrape() throws -> String {
        try tally.advance(kernel.database, into: metrics)
        var byState = try agentsByState()
        for s in Self.agentStates where byState[s] == nil { byState[s] = 0 }
        for (state, n) in byState {
            metrics.setGauge("ecology_agents", [("state", state)], Double(n),
                             help: "Live agents by state (parked, paused, frozen, then the supervision status).")
        }
        let supply = try kernel.totalScrip()
        metrics.setGauge("ecology_scrip_supply", [], Double(supply), help: "Scrip held by all principals.")
        let path = kernel.database.path
        metrics.setGauge("ecology_database_bytes", [("file", "db")], Double(HostFiles.size(path)), help: "Size of the world database files, bytes.")
        metrics.setGauge("ecology_database_bytes", [("file", "wal")], Double(HostFiles.size(path + "-wal")), help: "Size of the world database files, bytes.")
        if let rss = ProcessStatus.residentBytes().map(Double.init) {
            metrics.setGauge("ecology_process_resident_bytes", [], rss, help: "Resident set size of this process (the supervisor, or `ecology dashboard`), bytes.")
        }
        if let threads = ProcessStatus.threads().map(Double.init) {
            metrics.setGauge("ecology_process_threads", [], threads, help: "Threads of this process.")
        }
        if let fds = ProcessStatus.openDescriptors().map(Double.init) {
            metrics.setGauge("ecology_process_open_fds", [], fds, help: "Open file descriptors of this process.")
        }
        if let live {
            metrics.setGauge("ecology_actions_per_second", [], live.actionsPerSecond(), help: "Actions per second over the supervisor's last metrics window.")
        }
        if let kpiSource {
            let report = try kpiSource.kpis(window: nil)
            for key in report.keys {
                if let value = report.json[key]?.doubleValue, value.isFinite {
                    metrics.setGauge("ecology_kpi_\(key)", [], value, help: "KPI \(key) over the whole world (formula in docs/KPIS.md).")
                }
            }
        }
        return metrics.exposition()
    }
}
