import EcologyCore
@testable import EcologyKernel
import EcologyStore
@testable import EcologySupervisor
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

/// The disk holding the world fills up while a supervisor runs agents on it: a real tmpfs
/// of a few MiB mounted by the test, filled by agents writing big artifacts and by a
/// filler file, until SQLite answers SQLITE_FULL.
final class DiskFullFaultTests: XCTestCase {
    static func config() -> WorldConfig {
        // alpha sleeps until the test says "go", then writes and reports; beta burns 0.5 s
        // of CPU when told to, which happens while the disk is full.
        var c = WorldConfig.test(agents: [
            .scripted("alpha", [Step.call("sleep", ["event": ["type": "custom", "topic": "go"]]),
                                Step.call("write", ["artifact_id": "alpha.after", "content": "written after the disk was freed"],
                                          report: "after")]),
            .scripted("beta", [Step.call("sleep", ["event": ["type": "custom", "topic": "burn"]]), Step.burn(0.5)]),
        ])
        // No refill, so every CPU-ms charged shows in the balance.
        c.resources.compute = BucketConfig(ratePerSecond: 0, capacity: 100_000, initial: 100_000)
        // The principals' own disk quota is not what this test is about: the host's disk is.
        c.resources.diskQuotaBytes = 1 << 30
        c.mint.periodSeconds = 3600
        return c
    }

    func testDiskFullIsAClearErrorAndTheWorldServesOnOnceSpaceIsFreed() throws {
        let disk = try makeTmpfs(bytes: 4 << 20)
        let w = try SandboxWorld(config: Self.config(), directory: disk.directory)
        let s = startSupervisor(w)
        waitUntil("both agents asleep", timeout: 15) { w.events("agent_sleeping").count >= 2 }
        try XCTUnwrapOK(w.writeTool("beta", "beta.double", code: "def run(x):\n    return x * 2\n", params: ["x"]))
        let before = w.ledger()
        let betaPid = try XCTUnwrap(w.events("agent_started", principal: "beta").last?.data["pid"]?.intValue).int32
        let betaCPUBefore = processCPUMicros(betaPid) ?? 0
        let betaComputeBefore = w.compute("beta")
        // beta is woken now but held stopped until the disk is full, so all of its burn
        // falls in windows that cannot be written.
        XCTAssertEqual(kill(betaPid, SIGSTOP), 0)
        try w.kernel.recordEvent("custom", principal: "operator", ["topic": "burn", "data": [:]])

        // Leave ~256 KiB, then write 16 KiB artifacts until the disk is full.
        let filler = disk.fill()
        XCTAssertGreaterThan(filler.bytes, 0)
        XCTAssertEqual(truncate(filler.url.path, off_t(max(0, filler.bytes - (256 << 10)))), 0)
        let big = String(repeating: "0123456789abcdef", count: 1024)
        var committed: [String] = []
        var smallCommitted: [String] = []
        var full: KernelError?
        for i in 0..<400 {
            let who = i % 2 == 0 ? "alpha" : "beta"
            let id = "\(who).fill-\(i)"
            switch w.act(who, "write", ["artifact_id": .string(id), "content": .string(big + "\(i)")]) {
            case .ok: committed.append(id)
            case .failure(let e): full = e
            }
            if full != nil { break }
        }
        let error = try XCTUnwrap(full, "the disk never filled: \(committed.count) writes of 16 KiB committed on a 4 MiB tmpfs")
        XCTAssertGreaterThan(committed.count, 0, "some writes fit before the disk filled")
        assertDiskFull(error, "a write on a full disk")

        // A full disk is not all or nothing: a big write keeps failing, while a small one
        // may still fit in the pages the failed ones gave back. Each action is committed
        // whole or refused with the disk-full error, never half done.
        for i in 0..<5 {
            assertDiskFull(w.act("alpha", "write", ["artifact_id": .string("alpha.big-\(i)"), "content": .string(big + big)]).error,
                           "a 32 KiB write")
        }
        var transfers: Int64 = 0
        for i in 0..<10 {
            switch w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 1]) {
            case .ok: transfers += 1
            case .failure(let e): assertDiskFull(e, "transfer #\(i)")
            }
            let id = "alpha.small-\(i)"
            switch w.act("alpha", "write", ["artifact_id": .string(id), "content": .string("small \(i)")]) {
            case .ok: smallCommitted.append(id)
            case .failure(let e): assertDiskFull(e, "small write #\(i)")
            }
        }
        // User code still runs; if its charge cannot be written, the compute hold stays
        // until the charge is (below), so the payer cannot spend that compute twice.
        let invokedOnFullDisk = w.invoke("alpha", "beta.double", "run", [21])
        if let e = invokedOnFullDisk.error { assertDiskFull(e, "an invoke whose charge cannot be written") }
        else { XCTAssertEqual(invokedOnFullDisk.value, 42) }
        XCTAssertEqual(kill(betaPid, SIGCONT), 0)
        XCTAssertTrue(w.act("alpha", "observe", [:]).isOK, "observe reads: it works on a full disk")
        XCTAssertEqual(try XCTUnwrapOK(w.act("beta", "read", ["artifact_id": .string(committed[0])]))["content"]?.stringValue, big + "0")

        // The supervisor neither crashed nor wedged: its windows keep running (their writes
        // fail and are logged) and its agents are still there; beta burns its CPU meanwhile.
        waitUntil("beta's burn", timeout: 30) { (processCPUMicros(betaPid) ?? 0) - betaCPUBefore >= 450_000 }
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(s.supervisor.sessionCount, 2, "both agent sessions survive the full disk")
        XCTAssertTrue(w.events("agent_crashed").isEmpty, "no agent crashed because the disk filled")

        // Free the space: the same supervisor and kernel serve again at once.
        try FileManager.default.removeItem(at: filler.url)
        try XCTUnwrapOK(w.act("alpha", "write", ["artifact_id": "alpha.recovered", "content": "space again"]))
        XCTAssertEqual(w.scrip("alpha"), 100 - transfers, "only the transfers answered ok moved scrip")
        _ = try XCTUnwrapOK(w.invoke("alpha", "genesis_ledger", "transfer", ["beta", 5]))
        XCTAssertEqual(w.scrip("beta"), 105 + transfers)
        XCTAssertEqual(try XCTUnwrapOK(w.invoke("alpha", "beta.double", "run", [4])), 8)
        XCTAssertEqual(w.kernel.computeReservations.held(by: "alpha"), 0, "every compute hold of the full disk was settled and released")
        try w.kernel.recordEvent("custom", principal: "operator", ["topic": "go", "data": [:]])
        waitUntil("alpha to act after the disk was freed", timeout: 15) { !w.reports("after", by: "alpha").isEmpty }
        XCTAssertEqual(w.reports("after", by: "alpha").first?.data["data"]?["reply"]?["ok"], true)
        // The CPU beta burnt while the windows could not be written is charged once they can.
        let betaCPU = ((processCPUMicros(betaPid) ?? 0) - betaCPUBefore) / 1000
        waitUntil("beta charged for the CPU it burnt on the full disk", timeout: 5) { betaComputeBefore - w.compute("beta") >= betaCPU - 50 }
        s.stop()
        w.assertInvariants("after the disk was full")
        for id in ["alpha", "beta"] {
            XCTAssertEqual(before[id]?.filter { $0.hasPrefix("disk_quota") }, w.ledger()[id]?.filter { $0.hasPrefix("disk_quota") })
        }

        // Nothing answered ok was lost: every committed artifact is there, byte for byte,
        // also through a fresh connection to the file.
        let reopened = Kernel(database: try WorldDatabase(path: w.database.path), config: Self.config())
        XCTAssertTrue(try reopened.checkInvariants().ok)
        for (n, id) in committed.enumerated() {
            let index = Int(id.split(separator: "-").last ?? "") ?? n
            let got = reopened.handle(action: "read", params: ["artifact_id": .string(id)], context: .principal("alpha"))
            XCTAssertEqual(got.value?["content"]?.stringValue, big + "\(index)", "\(id) was answered ok and must be there")
        }
        for (i, id) in smallCommitted.enumerated() {
            XCTAssertNotNil(reopened.handle(action: "read", params: ["artifact_id": .string(id)], context: .principal("alpha")).value,
                            "\(id) (#\(i)) was answered ok and must be there")
        }
        XCTAssertNotNil(reopened.handle(action: "read", params: ["artifact_id": "alpha.after"], context: .principal("alpha")).value)
    }

    private func assertDiskFull(_ error: KernelError?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let error else { return XCTFail("\(what) succeeded on a full disk", file: file, line: line) }
        XCTAssertEqual(error.code, .internal, "\(what): \(error)", file: file, line: line)
        XCTAssertEqual(error.details?["storage"], "full", "\(what): \(error)", file: file, line: line)
        XCTAssertTrue(error.message.contains("disk holding the world is full"), "\(what): \(error.message)", file: file, line: line)
    }
}
