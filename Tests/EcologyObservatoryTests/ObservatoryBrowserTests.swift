import EcologyCore
import EcologyKernel
@testable import EcologyObservatory
import Foundation
import XCTest

/// The dashboard in a real browser: headless Chromium opens the page of a world whose
/// agents keep acting, and the test reads what the page rendered.
final class ObservatoryBrowserTests: XCTestCase {
    /// Where the screenshot goes: `.build/observatory-dashboard.png` in the package, else a temp dir.
    static func screenshotPath(_ name: String) -> String {
        let build = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build")
        let dir = FileManager.default.fileExists(atPath: build.path) ? build : FileManager.default.temporaryDirectory
        return dir.appendingPathComponent(name).path
    }

    func testDashboardShowsLiveWorldInChromium() throws {
        guard let chromium = HeadlessBrowser.executable() else {
            // CI installs Debian's chromium (.ci/run) and sets ECOLOGY_REQUIRE_BROWSER=1, so there this fails instead.
            let message = "Chromium is not installed (apt-get install chromium): the real-browser test of the dashboard did not run"
            if ProcessInfo.processInfo.environment["ECOLOGY_REQUIRE_BROWSER"] == "1" { XCTFail(message); return }
            throw XCTSkip(message)
        }
        let w = try ObservatoryTestWorld()
        for agent in ["alpha", "beta", "gamma", "delta", "epsilon"] { try w.writeTool(agent, "\(agent).tool", price: 2) }
        for i in 0..<20 { w.actOnce(i) }
        let acting = ActingThread(world: w)
        acting.start()
        defer { acting.stop() }

        let browser = try HeadlessBrowser(executable: chromium)
        try browser.navigate("http://127.0.0.1:\(w.port)/")
        XCTAssertTrue(try browser.waitUntil("document.querySelectorAll('#agents-table tbody tr').length === 5"), "five agent rows")
        let rows = try browser.evaluate("[...document.querySelectorAll('#agents-table tbody tr')].map(r => r.dataset.agent).sort().join(',')")
        XCTAssertEqual(rows, "alpha,beta,delta,epsilon,gamma")
        XCTAssertTrue(try browser.waitUntil("Number(document.querySelector('.chart[data-key=invokes_per_second]')?.dataset.points || 0) > 0 && !!document.querySelector('.chart[data-key=invokes_per_second] polyline')"),
                      "the tool-calls chart has points")
        XCTAssertTrue(try browser.waitUntil("document.querySelectorAll('#graph-view svg line.edge').length > 0"), "the tool-use graph has edges")
        // New events arrive through the stream while the page is open.
        XCTAssertTrue(try browser.waitUntil("parseInt(document.getElementById('events-count').textContent) >= 5"), "live events arrived")
        let first = try browser.evaluate("Number(document.querySelector('#events-table tbody tr').dataset.seq)").intValue ?? 0
        XCTAssertTrue(try browser.waitUntil("Number(document.querySelector('#events-table tbody tr').dataset.seq) > \(first)"), "and keep arriving")
        let card = try browser.evaluate("document.getElementById('cards').textContent")
        XCTAssertTrue(card.stringValue?.contains("Scrip supply") == true, "\(card)")
        let overviewShot = Self.screenshotPath("observatory-dashboard.png")
        try browser.screenshot(to: overviewShot)
        print("dashboard screenshot: \(overviewShot)")

        // One agent's page: its statement adds up to its balance.
        _ = try browser.evaluate("location.hash = 'agent=beta'; true")
        XCTAssertTrue(try browser.waitUntil("document.getElementById('agent-title').textContent === 'Agent beta'"), "the agent page opened")
        XCTAssertTrue(try browser.waitUntil("!!document.querySelector('#statement .statement[data-balanced]')"), "the statement rendered")
        XCTAssertEqual(try browser.evaluate("document.querySelector('#statement .statement').dataset.balanced"), "yes",
                       "every resource's movements sum to its balance")
        let agentShot = Self.screenshotPath("observatory-agent.png")
        try browser.screenshot(to: agentShot)
        print("agent screenshot: \(agentShot)")
    }
}

/// Keeps the world's agents acting (a transfer, a paid tool call, a note) every 100 ms.
final class ActingThread: @unchecked Sendable {
    // Safe: `stopped` is only touched while `lock` is held; `world` is used by this thread
    // only, between `start` and `stop` (which joins it).
    private let lock = NSLock()
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)
    let world: ObservatoryTestWorld
    init(world: ObservatoryTestWorld) { self.world = world }

    func start() {
        Thread.detachNewThread { [self] in
            var i = 100
            while !isStopped { world.actOnce(i); i += 1; usleep(100_000) }
            done.signal()
        }
    }

    private var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }
    func stop() { lock.lock(); stopped = true; lock.unlock(); done.wait() }
}
