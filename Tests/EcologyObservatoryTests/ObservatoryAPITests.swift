import EcologyCore
import EcologyKernel
@testable import EcologyObservatory
import Foundation
import XCTest

/// The JSON API, /metrics and the event stream over a real socket.
final class ObservatoryAPITests: XCTestCase {
    private func json(_ w: ObservatoryTestWorld, _ path: String) throws -> JSONValue {
        let a = try RawHTTP.request(port: w.port, path)
        XCTAssertEqual(a.status, 200, "\(path): \(a.body)")
        XCTAssertEqual(a.headers["content-type"], "application/json")
        return try JSONCodec.decode(a.body)
    }

    func testOverviewAndAgentsShowTheWorld() throws {
        let w = try ObservatoryTestWorld()
        let overview = try json(w, "/api/overview")
        XCTAssertEqual(overview["agents"]?.intValue, 5)
        XCTAssertEqual(overview["scrip_supply"]?.intValue, try w.kernel.totalScrip())
        XCTAssertEqual(overview["live"], true)
        XCTAssertEqual(overview["actions_per_second"]?.doubleValue, 12.5)
        let agents = try json(w, "/api/agents")["agents"]?.arrayValue ?? []
        XCTAssertEqual(agents.compactMap { $0["id"]?.stringValue }, ["alpha", "beta", "delta", "epsilon", "gamma"])
        for a in agents {
            for key in ["scrip", "compute", "llm_budget", "disk_used", "state", "restarts", "paused", "parked"] {
                XCTAssertNotNil(a[key], "agent row has \(key): \(a)")
            }
        }
        let page = try json(w, "/api/agents?limit=2&offset=1")
        XCTAssertEqual(page["agents"]?.arrayValue?.compactMap { $0["id"]?.stringValue }, ["beta", "delta"])
        XCTAssertEqual(page["total"]?.intValue, 5)
    }

    func testAStoppedWorldSaysSoInsteadOfShowingRunningAgents() throws {
        let w = try ObservatoryTestWorld(live: false, control: false)
        try w.kernel.updateAgentState("alpha", status: "running")
        let overview = try json(w, "/api/overview")
        XCTAssertEqual(overview["live"], false)
        XCTAssertEqual(overview["actions_per_second"], .null)
        let alpha = try json(w, "/api/agents")["agents"]?.arrayValue?.first { $0["id"] == "alpha" }
        XCTAssertEqual(alpha?["state"], "stopped", "without a supervisor, a recorded 'running' is stale")
    }

    func testEconomyRoutesReflectActivity() throws {
        let w = try ObservatoryTestWorld()
        try w.writeTool("beta", "beta.tool", price: 3)
        try w.writeTool("gamma", "gamma.bad", price: 0, code: "forbidden")
        for _ in 0..<4 { XCTAssertTrue(w.invoke("alpha", "beta.tool", "run").isOK) }
        w.invoke("alpha", "gamma.bad", "run")
        let graph = try json(w, "/api/graph")
        let edge = graph["edges"]?.arrayValue?.first { $0["from"] == "alpha" && $0["to"] == "beta" }
        XCTAssertEqual(edge?["calls"]?.intValue, 4)
        XCTAssertEqual(edge?["scrip"]?.intValue, 12)
        let sandbox = try json(w, "/api/sandbox")
        XCTAssertEqual(sandbox["violations_by_syscall"]?.arrayValue?.first?["syscall"], "ptrace")
        let market = try json(w, "/api/market")
        XCTAssertEqual(market["tool_prices"]?.arrayValue?.first?["artifact_id"], "beta.tool")
        let series = try json(w, "/api/series?window=600&buckets=10")
        XCTAssertEqual(series["time"]?.arrayValue?.count, 10)
        XCTAssertEqual(series["invokes_per_second"]?.arrayValue?.compactMap(\.doubleValue).reduce(0, +) ?? 0, 5.0 / 60, accuracy: 1e-9,
                       "five invokes in the window, buckets of 60 s")
        XCTAssertEqual(series["scrip_supply"]?.arrayValue?.last?.intValue, try w.kernel.totalScrip())
        XCTAssertNotNil(try json(w, "/api/mint")["rounds"])
        XCTAssertNotNil(try json(w, "/api/debt")["active"])
        let agent = try json(w, "/api/agents/beta")
        XCTAssertEqual(agent["artifacts"]?.arrayValue?.first?["id"], "beta.tool")
    }

    func testKPIsAreTheKernelsOnTheAPIAndInMetrics() throws {
        let w = try ObservatoryTestWorld()
        try w.writeTool("beta", "beta.tool", price: 3)
        for _ in 0..<3 { XCTAssertTrue(w.invoke("alpha", "beta.tool", "run").isOK) }
        let api = try json(w, "/api/kpis")
        XCTAssertEqual(api["keys"]?.arrayValue?.compactMap(\.stringValue), KPIReport.keys)
        let kernel = try w.kernel.kpis(window: nil)
        XCTAssertEqual(api["kpis"]?["cross_agent_invoke_fraction"]?.doubleValue, kernel.crossAgentInvokeFraction)
        XCTAssertEqual(try json(w, "/api/overview")["kpis"]?["tools_used_by_others"]?.intValue, kernel.toolsUsedByOthers)
        let metrics = try RawHTTP.request(port: w.port, "/metrics").body
        for key in KPIReport.keys { XCTAssertTrue(metrics.contains("ecology_kpi_\(key) "), "ecology_kpi_\(key) in /metrics") }
        XCTAssertTrue(metrics.contains("ecology_kpi_tools_used_by_others 1"), metrics)
        XCTAssertEqual(try RawHTTP.request(port: w.port, "/api/kpis?window=0").status, 400)
    }

    func testInvalidInputIsAClear400() throws {
        let w = try ObservatoryTestWorld()
        for path in ["/api/agents?limit=0", "/api/agents?limit=abc", "/api/agents?limit=100000", "/api/agents?colour=red",
                     "/api/agents?limit=1&limit=2", "/api/events?type=a%20b", "/api/series?window=1e400", "/api/series?buckets=501",
                     "/api/events?after=-5", "/api/stream?after=x"] {
            let a = try RawHTTP.request(port: w.port, path)
            XCTAssertEqual(a.status, 400, "\(path): \(a.body)")
            XCTAssertNotNil(try JSONCodec.decode(a.body)["error"]?.stringValue, path)
        }
        XCTAssertEqual(try RawHTTP.request(port: w.port, "/api/agents/nobody").status, 404)
        XCTAssertEqual(try RawHTTP.request(port: w.port, "/api/no-such-route").status, 404)
    }

    func testEventsPaginateWithoutGapsOrRepeats() throws {
        let w = try ObservatoryTestWorld()
        for i in 0..<7 { w.invoke("alpha", "genesis_ledger", "transfer", ["beta", .int(Int64(i + 1))]) }
        var after: Int64 = 0, seen: [Int64] = []
        for _ in 0..<100 {
            let page = try json(w, "/api/events?after=\(after)&limit=3&type=transfer")
            let seqs = page["events"]?.arrayValue?.compactMap { $0["seq"]?.intValue } ?? []
            if seqs.isEmpty { break }
            seen += seqs
            after = page["next_after"]?.intValue ?? after
        }
        XCTAssertEqual(seen, seen.sorted())
        XCTAssertEqual(Set(seen).count, seen.count)
        let all = try w.kernel.recentEvents(limit: 1000, type: "transfer").map(\.seq)
        XCTAssertEqual(seen, all)
    }

    func testMetricsExposeCountersHistogramsAndGauges() throws {
        let w = try ObservatoryTestWorld()
        try w.writeTool("beta", "beta.tool", price: 1)
        try w.writeTool("gamma", "gamma.bad", price: 0, code: "forbidden")
        // Through Kernel.handle, as an agent's call frame arrives: that is what the observer sees.
        XCTAssertTrue(w.act("alpha", "invoke", ["artifact_id": "beta.tool", "method": "run"]).isOK)
        w.act("alpha", "invoke", ["artifact_id": "gamma.bad", "method": "run"])
        w.act("alpha", "read", ["artifact_id": "no-such-thing"])
        let a = try RawHTTP.request(port: w.port, "/metrics")
        XCTAssertEqual(a.status, 200)
        XCTAssertTrue(a.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = a.body
        for needle in ["ecology_actions_total{action=\"write\",code=\"OK\"} 2",
                       "ecology_actions_total{action=\"read\",code=\"NOT_FOUND\"} 1",
                       "ecology_invokes_total{target_kind=\"user\",code=\"OK\"} 1",
                       "ecology_sandbox_violations_total{syscall=\"ptrace\"} 1",
                       "ecology_action_latency_seconds_bucket{action=\"invoke\"",
                       "ecology_invoke_latency_seconds_count{target_kind=\"user\"} 2",
                       "ecology_agents{state=\"never started\"} 5", "ecology_agents{state=\"parked\"} 0",
                       "ecology_scrip_supply \(try w.kernel.totalScrip())", "ecology_database_bytes{file=\"wal\"}",
                       "ecology_process_resident_bytes", "ecology_process_threads", "ecology_process_open_fds"] {
            XCTAssertTrue(text.contains(needle), "missing \(needle) in:\n\(text)")
        }
        // An action name no kernel knows is one label, not a new series per name.
        w.act("alpha", "steal-\(UUID().uuidString)", [:])
        let again = try RawHTTP.request(port: w.port, "/metrics").body
        XCTAssertTrue(again.contains("ecology_actions_total{action=\"other\""), again)
        XCTAssertFalse(again.contains("steal-"))
        // The event-log counters are read once: a second scrape does not double them.
        XCTAssertTrue(again.contains("ecology_sandbox_violations_total{syscall=\"ptrace\"} 1"), again)
    }

    func testEventLogCountersCarryTheWorldsHistoryIntoANewProcess() throws {
        let w = try ObservatoryTestWorld()
        try w.writeTool("gamma", "gamma.bad", price: 0, code: "forbidden")
        for _ in 0..<3 { w.invoke("alpha", "gamma.bad", "run") }
        // A fresh reader, as a restarted supervisor has: it starts from the log, not from zero.
        let fresh = WorldReader(kernel: w.kernel, metrics: ObservatoryMetrics(), live: nil)
        XCTAssertTrue(try fresh.scrape().contains("ecology_sandbox_violations_total{syscall=\"ptrace\"} 3"))
    }

    func testEventStreamFramesEventsAsServerSentEvents() throws {
        let w = try ObservatoryTestWorld()
        let fd = try RawHTTP.connection(port: w.port)
        defer { close(fd) }
        RawHTTP.send(fd, "GET /api/stream?type=transfer HTTP/1.1\r\nHost: 127.0.0.1:\(w.port)\r\n\r\n")
        var received = ""
        var buffer = [UInt8](repeating: 0, count: 8192)
        // Wait for the stream's opening comment, then act: the stream starts at "now".
        while !received.contains("stream of events after seq") {
            let n = read(fd, &buffer, buffer.count)
            XCTAssertGreaterThan(n, 0, "the stream opened: \(received)")
            if n <= 0 { return }
            received += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        XCTAssertTrue(received.lowercased().contains("content-type: text/event-stream"), received)
        w.act("alpha", "write", ["artifact_id": "alpha.skipped", "content": "not a transfer"])
        let seq = w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 2]).isOK ? try w.kernel.lastEventSeq() : -1
        while !received.contains("\n\n", after: "event: world") {
            let n = read(fd, &buffer, buffer.count)
            XCTAssertGreaterThan(n, 0, "an event arrived: \(received)")
            if n <= 0 { return }
            received += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        let message = try XCTUnwrap(received.range(of: "id: ").map { String(received[$0.lowerBound...]) })
        let lines = message.components(separatedBy: "\n")
        XCTAssertEqual(lines[0], "id: \(seq)")
        XCTAssertEqual(lines[1], "event: world")
        XCTAssertTrue(lines[2].hasPrefix("data: "))
        let event = try JSONCodec.decode(String(lines[2].dropFirst(6)))
        XCTAssertEqual(event["type"], "transfer", "the type filter left the write out")
        XCTAssertEqual(event["data"]?["amount"], 2)
    }

    func testABusyPortIsAnErrorNamingItAndTheFlag() throws {
        let w = try ObservatoryTestWorld()
        let second = try ObservatoryServer(reader: w.server.reader, options: .init(address: ObservatoryAddress(host: "127.0.0.1", port: w.port), token: nil))
        XCTAssertThrowsError(try second.start()) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("127.0.0.1:\(w.port)") && text.contains("in use") && text.contains("--http"), text)
        }
    }
}

extension String {
    /// True when `needle` occurs somewhere after the first `marker`.
    func contains(_ needle: String, after marker: String) -> Bool {
        guard let m = range(of: marker) else { return false }
        return self[m.upperBound...].contains(needle)
    }
}
