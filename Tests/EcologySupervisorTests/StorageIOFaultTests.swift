import EcologyCore
@testable import EcologyKernel
import EcologyStore
@testable import EcologySupervisor
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

/// The disk under the world fails while a supervisor runs on it: the world lives on an
/// ext4 image mounted through a loop device, and the test shuts that filesystem down
/// (`EXT4_IOC_SHUTDOWN`, what ext4 itself does on a fatal device error), so every read and
/// write SQLite makes from then on fails with EIO (SQLITE_IOERR_*). The operator's recovery
/// is the real one: stop, remount, start again.
final class StorageIOFaultTests: XCTestCase {
    func testIOErrorsAreAClearErrorAndTheWorldRecoversOnTheNextStart() throws {
        let disk = try makeExt4(megabytes: 24)
        var config = WorldConfig.test(agents: [.scripted("alpha"), .scripted("beta")])
        config.mint.periodSeconds = 3600
        let path = disk.directory.appendingPathComponent("world.sqlite").path

        // Phase one, in its own scope so that nothing holds the failed database afterwards.
        let (committed, expectedScrip) = try failingRun(disk, config)
        XCTAssertGreaterThan(committed.count, 0)

        // The operator's recovery: the disk is back (unmounted and mounted again; ext4
        // replays its journal), and the world opens on it.
        disk.unmountKeepingImage()
        try disk.mountImage()
        let reopened = Kernel(database: try WorldDatabase(path: path), config: config)
        let report = try reopened.checkInvariants()
        XCTAssertTrue(report.ok, "invariants after the I/O failure: \(report.violations)")
        for (id, content) in committed {
            let got = reopened.handle(action: "read", params: ["artifact_id": .string(id)], context: .principal("alpha"))
            XCTAssertEqual(got.value?["content"]?.stringValue, content, "\(id) was answered ok before the failure and must be there")
        }
        for (id, scrip) in expectedScrip {
            let row = try reopened.balances().first { $0["id"]?.stringValue == id }
            XCTAssertEqual(row?["scrip"]?.intValue, scrip, "\(id)'s committed transfers stand")
        }

        // A supervisor serves on the recovered world: agents start, actions commit.
        let w = try SandboxWorld(config: config, directory: disk.directory)
        let s = startSupervisor(w)
        let since = w.lastSeq
        waitUntil("both agents started on the recovered disk", timeout: 15) {
            w.events("agent_started", after: since).count >= 2
        }
        try XCTUnwrapOK(w.act("alpha", "write", ["artifact_id": "alpha.after", "content": "after recovery"]))
        s.stop()
        w.assertInvariants("after recovery")
    }

    /// Runs a supervisor, commits some actions, fails the disk and checks what agents see.
    /// Returns the artifacts and balances that were answered ok before the failure.
    private func failingRun(_ disk: FaultMount, _ config: WorldConfig) throws -> ([(String, String)], [String: Int64]) {
        let w = try SandboxWorld(config: config, directory: disk.directory, removesDirectory: false)
        let s = RunningSupervisor(w)
        defer { s.stop() }
        waitUntil("both agents asleep", timeout: 15) { w.events("agent_sleeping").count >= 2 }

        var committed: [(String, String)] = []
        for i in 0..<20 {
            let id = "alpha.before-\(i)", content = "committed before the disk failed #\(i)"
            try XCTUnwrapOK(w.act("alpha", "write", ["artifact_id": .string(id), "content": .string(content)]))
            committed.append((id, content))
        }
        try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 7]))
        let expected = ["alpha": w.scrip("alpha"), "beta": w.scrip("beta")]
        XCTAssertEqual(expected["beta"], 107)

        try disk.shutDownFilesystem()

        // Each kind of write now fails with a clear storage error, and keeps failing the same way.
        for attempt in 0..<3 {
            assertStorageFault(w.act("alpha", "write", ["artifact_id": .string("alpha.lost-\(attempt)"), "content": "never"]).error, "write #\(attempt)")
            assertStorageFault(w.invoke("beta", "genesis_ledger", "transfer", ["alpha", 1]).error, "transfer #\(attempt)")
            assertStorageFault(w.invoke("alpha", "genesis_event_log", "publish", ["noise", [:]]).error, "publish #\(attempt)")
        }
        // The supervisor keeps running its windows (their writes fail and are logged) with both sessions.
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(s.supervisor.sessionCount, 2, "both agent sessions survive the failed disk")
        return (committed, expected)
    }

    private func assertStorageFault(_ error: KernelError?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let error else { return XCTFail("\(what) succeeded on a failed disk", file: file, line: line) }
        XCTAssertEqual(error.code, .internal, "\(what): \(error)", file: file, line: line)
        let storage = error.details?["storage"]?.stringValue
        XCTAssertTrue(storage == "io_error" || storage == "unavailable", "\(what): \(error)", file: file, line: line)
        XCTAssertTrue(error.message.hasPrefix("storage "), "\(what): \(error.message)", file: file, line: line)
    }
}
