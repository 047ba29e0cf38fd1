import EcologyCore
import EcologyHost
import EcologyKernel
import EcologySandbox
import EcologyStore
import EcologySupervisor
import Foundation

/// `ecology bench soak`: the real supervisor with K heuristic agents for N minutes, sampled
/// once a minute — supervisor RSS, open descriptors, threads, WAL and database size,
/// action latency and throughput — with the least-squares slope per hour of each over
/// the run. A world that leaks shows a slope that does not go to zero; retention
/// (`RetentionSettings`) is what keeps traces, memories and tombstones flat, so the
/// database's growth per hour is what remains (by default: the event log, which is
/// the audit trail and is only pruned when the operator asks).
///
/// Everything here is the benchmark's own work, on its own thread or in the status
/// callback once a minute: nothing is added to the supervisor's or the kernel's paths.
public enum SoakBenchmark {
    /// One minute of the run.
    struct Sample {
        var minute = 0
        var elapsedSeconds = 0.0
        var rssBytes: Int64 = 0
        var rssAnonBytes: Int64 = 0
        var heap = ProcessStatus.Heap.empty
        var openFDs = 0
        var threads = 0
        var walBytes: Int64 = 0
        var dbBytes: Int64 = 0
        var archiveBytes: Int64 = 0
        var actions: Int64 = 0
        var actionsPerSecond = 0.0
        var probeActions = 0
        var p50ActionMs = 0.0
        var p99ActionMs = 0.0
        var agentsRunning = 0
        var agentRSSMeanBytes: Int64 = 0
        var rows: [String: Int64] = [:]

        /// `Int64(Int)` cannot trap on the 64-bit hosts Ecology runs on; the counts are the probe's own.
        var json: JSONValue {
            .object([
                "minute": .int(Int64(minute)), "elapsed_seconds": .number(SupervisorBenchmarks.round3(elapsedSeconds)),
                "rss_mb": .number(mb(rssBytes)), "rss_anon_mb": .number(mb(rssAnonBytes)),
                "heap_in_use_mb": .number(mb(heap.inUseBytes)), "heap_free_retained_mb": .number(mb(heap.retainedFreeBytes)),
                "open_fds": .int(Int64(openFDs)), "threads": .int(Int64(threads)),
                "wal_bytes": .int(walBytes), "db_bytes": .int(dbBytes), "archive_bytes": .int(archiveBytes),
                "actions": .int(actions), "actions_per_second": .number(actionsPerSecond.rounded()),
                "probe_actions": .int(Int64(probeActions)),
                "p50_action_ms": .number(p50ActionMs), "p99_action_ms": .number(p99ActionMs),
                "agents_running": .int(Int64(agentsRunning)), "agent_rss_mean_mb": .number(mb(agentRSSMeanBytes)),
                "rows": .object(rows.mapValues(JSONValue.int)),
            ])
        }

        /// The figures whose slope the report gives, by the name the report uses.
        var series: [(String, Double)] {
            [("rss_mb", mb(rssBytes)), ("rss_anon_mb", mb(rssAnonBytes)), ("heap_in_use_mb", mb(heap.inUseBytes)),
             ("heap_free_retained_mb", mb(heap.retainedFreeBytes)), ("open_fds", Double(openFDs)), ("threads", Double(threads)),
             ("wal_bytes", Double(walBytes)), ("db_bytes", Double(dbBytes)), ("p99_action_ms", p99ActionMs),
             ("actions_per_second", actionsPerSecond), ("agent_rss_mean_mb", mb(agentRSSMeanBytes))]
                + rows.keys.sorted().map { ("\($0)_rows", Double(rows[$0] ?? 0)) }
        }
    }

    /// The principal the latency probe acts as: a configured agent the supervisor never
    /// starts (paused before the run), so the probe's actions are real kernel actions of
    /// a real principal without a mind of its own competing for them.
    static let probeID = "soak-probe"

    public static func run(directory: String, agents: Int, minutes: Int, config: WorldConfig = WorldConfig(),
                           progress: (String) -> Void = { _ in }) throws -> JSONValue {
        var cfg = config
        cfg.agents = (0..<agents).map { AgentSpec(id: String(format: "agent-%03d", $0 + 1)) } + [AgentSpec(id: probeID)]
        let executor = try SandboxedExecutor(config: cfg)
        defer { executor.shutdown() }
        let dbPath = directory + "/soak.sqlite"
        let kernel = Kernel(database: try WorldDatabase(path: dbPath), config: cfg, executor: executor)
        try kernel.bootstrap()
        try kernel.setAgentControl(probeID, pause: true)
        let supervisor = Supervisor(kernel: kernel, executor: executor, gateway: nil)
        let seconds = Double(minutes) * 60
        let started = monotonicNanos()
        let elapsed: @Sendable () -> Double = { Double(monotonicNanos() - started) / 1e9 }

        // The run ends once the last minute is sampled (the status callback comes about once
        // a second, so a little after N minutes), or at a hard stop if sampling stalls.
        let finished = MinuteLatencies.Flag()
        let done: @Sendable () -> Bool = { finished.isSet || elapsed() >= seconds + 30 }
        let probe = MinuteLatencies()
        let probeThread = Thread { runProbe(kernel, until: done, into: probe) }
        probeThread.name = "soak-probe"
        probeThread.start()

        var samples: [Sample] = []
        var lastActions: Int64 = 0, lastTime = 0.0
        supervisor.run(shouldStop: done) { status in
            let now = elapsed()
            guard now >= Double(samples.count + 1) * 60 else { return }
            var s = Sample()
            s.minute = samples.count + 1
            s.elapsedSeconds = now
            s.rssBytes = ProcessStatus.residentBytes() ?? 0
            s.rssAnonBytes = ProcessStatus.anonymousResidentBytes() ?? 0
            s.heap = ProcessStatus.heap()
            s.openFDs = ProcessStatus.openDescriptors() ?? 0
            s.threads = ProcessStatus.threads() ?? 0
            s.walBytes = HostFiles.size(dbPath + "-wal")
            s.dbBytes = HostFiles.size(dbPath)
            s.archiveBytes = HostFiles.directorySize(kernel.eventArchive.directory)
            s.actions = status.actions
            s.actionsPerSecond = Double(status.actions - lastActions) / max(0.001, now - lastTime)
            lastActions = status.actions; lastTime = now
            let lat = probe.take()
            s.probeActions = lat.count
            s.p50ActionMs = SupervisorBenchmarks.pct(lat, 0.5)
            s.p99ActionMs = SupervisorBenchmarks.pct(lat, 0.99)
            s.agentsRunning = status.running + status.sleeping
            let children = supervisor.childResidentBytes()
            s.agentRSSMeanBytes = children.isEmpty ? 0 : children.map(\.rss).reduce(0, +) / Int64(children.count)
            s.rows = (try? rowCounts(kernel)) ?? [:]
            samples.append(s)
            if samples.count >= minutes { finished.set() }
            progress(String(format: "minute %d/%d: %d agents, %.0f actions/s, p99 %.2f ms, RSS %.1f MiB (heap in use %.1f), %d fds, %d threads, WAL %.1f MiB, DB %.1f MiB, %lld events, %lld traces",
                            s.minute, minutes, s.agentsRunning, s.actionsPerSecond, s.p99ActionMs, mb(s.rssBytes), mb(s.heap.inUseBytes), s.openFDs, s.threads,
                            mb(s.walBytes), mb(s.dbBytes), s.rows["events"] ?? 0, s.rows["traces"] ?? 0))
        }
        while !probeThread.isFinished { Thread.sleep(forTimeInterval: 0.05) }
        let report = try kernel.checkInvariants()
        // Slopes from the second fifth of the run on: the first minutes fill caches, the
        // WAL and the agents' first artifacts, which is growth that stops.
        let from = minutes / 5
        let window = samples.filter { $0.minute > from }
        var slopes: [String: JSONValue] = [:]
        if let names = window.first?.series.map(\.0) {
            for (index, name) in names.enumerated() {
                let points = window.map { ($0.elapsedSeconds / 3600, $0.series[index].1) }
                slopes[name] = .number(SupervisorBenchmarks.round3(leastSquaresSlope(points)))
            }
        }
        let growth = leastSquaresSlope(window.map { ($0.elapsedSeconds / 3600, Double($0.dbBytes + $0.walBytes + $0.archiveBytes)) })
        let total = supervisor.status().actions
        // Growth the allocator could hand back is not a leak: trim once at the end and say
        // how much of the resident set was free memory kept in glibc's arenas.
        let rssBeforeTrim = ProcessStatus.residentBytes() ?? 0
        let heapAtEnd = ProcessStatus.heap()
        HeapPolicy.trim()
        let rssAfterTrim = ProcessStatus.residentBytes() ?? 0
        return .object([
            "agents": .int(Int64(agents)), "minutes": .int(Int64(minutes)),
            "actions": .int(total), "actions_per_second": .number((Double(total) / max(0.001, elapsed())).rounded()),
            "samples": .array(samples.map(\.json)),
            "slope_from_minute": .int(Int64(from + 1)),
            "slopes_per_hour": .object(slopes),
            "db_growth_bytes_per_hour": .number(growth.rounded()),
            "db_bytes_per_million_actions": .number(total > 0 ? (Double(samples.last.map { $0.dbBytes + $0.walBytes } ?? 0) / Double(total) * 1e6).rounded() : 0),
            "retention": .object([
                "trace_max_age_seconds": .int(cfg.retention.traceMaxAgeSeconds), "trace_max_per_agent": .int(Int64(cfg.retention.traceMaxPerAgent)),
                "memory_max_age_seconds": .int(cfg.retention.memoryMaxAgeSeconds), "memory_max_per_agent": .int(Int64(cfg.retention.memoryMaxPerAgent)),
                "event_max_age_seconds": .int(cfg.retention.eventMaxAgeSeconds), "event_max_rows": .int(cfg.retention.eventMaxRows),
                "tombstone_retention_seconds": .int(cfg.world.tombstoneRetentionSeconds),
            ]),
            "heap_at_end": .object([
                "rss_mb": .number(mb(rssBeforeTrim)), "heap_in_use_mb": .number(mb(heapAtEnd.inUseBytes)),
                "heap_free_retained_mb": .number(mb(heapAtEnd.retainedFreeBytes)), "rss_after_trim_mb": .number(mb(rssAfterTrim)),
            ]),
            "invariants_ok": .bool(report.ok), "invariant_violations": .array(report.violations.map(JSONValue.string)),
        ])
    }

    /// The latency probe: an observe, a write (the same small artifact, rewritten) and a
    /// read of it, in turn, every 20 ms, as `probeID` — the three actions agents take most,
    /// timed end to end through `Kernel.handle` while the world is busy.
    static func runProbe(_ kernel: Kernel, until done: @Sendable () -> Bool, into latencies: MinuteLatencies) {
        var step = 0
        while !done() {
            let action: String, params: JSONValue
            switch step % 3 {
            case 0: action = "observe"; params = [:]
            case 1: action = "write"; params = ["artifact_id": "soak-probe-note", "content": .string("probe step \(step)")]
            default: action = "read"; params = ["artifact_id": "soak-probe-note"]
            }
            let t = monotonicNanos()
            _ = kernel.handle(action: action, params: params, context: .principal(probeID))
            latencies.add(Double(monotonicNanos() - t) / 1e6)
            step &+= 1
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Probe latencies of the current minute, handed over and cleared at each sample.
    final class MinuteLatencies: @unchecked Sendable {
        // Safe: every access to `values` holds `lock`.
        private let lock = NSLock()
        private var values: [Double] = []
        func add(_ v: Double) { lock.lock(); values.append(v); lock.unlock() }
        func take() -> [Double] { lock.lock(); defer { values = []; lock.unlock() }; return values.sorted() }

        final class Flag: @unchecked Sendable {
            // Safe: every access to `value` holds `lock`.
            private let lock = NSLock()
            private var value = false
            var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
            func set() { lock.lock(); value = true; lock.unlock() }
        }
    }

    static func rowCounts(_ kernel: Kernel) throws -> [String: Int64] {
        try kernel.database.read { db in
            var out: [String: Int64] = [:]
            for (name, sql) in [("events", "SELECT COUNT(*) FROM events"), ("traces", "SELECT COUNT(*) FROM traces"),
                                ("artifacts", "SELECT COUNT(*) FROM artifacts WHERE deleted_at IS NULL"),
                                ("tombstones", "SELECT COUNT(*) FROM artifacts WHERE deleted_at IS NOT NULL"),
                                ("memories", "SELECT COUNT(*) FROM artifacts WHERE kind = 'memory' AND deleted_at IS NULL")] {
                out[name] = try Int64.fetchOne(db, sql: sql) ?? 0
            }
            return out
        }
    }

    /// The slope of y over x by least squares (0 with fewer than two distinct x).
    static func leastSquaresSlope(_ points: [(Double, Double)]) -> Double {
        guard points.count >= 2 else { return 0 }
        let n = Double(points.count)
        let mx = points.map(\.0).reduce(0, +) / n, my = points.map(\.1).reduce(0, +) / n
        let sxx = points.map { ($0.0 - mx) * ($0.0 - mx) }.reduce(0, +)
        guard sxx > 0 else { return 0 }
        return points.map { ($0.0 - mx) * ($0.1 - my) }.reduce(0, +) / sxx
    }
}

private func mb(_ bytes: Int64) -> Double { SupervisorBenchmarks.round3(Double(bytes) / 1_048_576) }
