@testable import EcologySandbox
import EcologyCore
import Foundation
import EcologyTestSupport
import NIOConcurrencyHelpers
import XCTest

/// The slot pool hands every concurrent caller its own slot (own memory limit, own uid).
final class CgroupPoolTests: XCTestCase {
    /// A pool on this host's hierarchy; skips (saying why) where cgroups are not writable.
    func makePool() throws -> (CgroupLayout, CgroupPool) {
        let layout = CgroupLayout.detect()
        guard layout.version != .none, getuid() == 0 else {
            throw XCTSkip("needs writable cgroups (root with cgroup v1 or v2); this host: \(layout.reason)")
        }
        do { return (layout, try CgroupPool(layout: layout, pids: 8, cpuPercent: 100)) } catch {
            throw XCTSkip("cgroup hierarchy not writable here: \(error)")
        }
    }

    func testConcurrentAcquiresGetDistinctSlots() throws {
        let (_, pool) = try makePool()
        defer { pool.destroy() }
        let handed = NIOLockedValueBox<[Int]>([])
        // Fresh slots are created concurrently: 200 agents start at once in `ecology run`.
        DispatchQueue.concurrentPerform(iterations: 48) { _ in
            let slot = try! pool.acquire(memoryBytes: 64 << 20)
            handed.withLockedValue { $0.append(slot.index) }
        }
        let indexes = handed.withLockedValue { $0 }
        XCTAssertEqual(indexes.count, 48)
        XCTAssertEqual(Set(indexes).count, 48, "two callers were handed the same slot: \(indexes.sorted())")
    }

    /// The supervisor runs in a CPU cgroup of its own with 8× the default weight, beside
    /// (not above) the children's pools, so a crowd of busy agents cannot starve the ledger
    /// they all wait on, while the children keep their usual weight against other processes.
    func testSupervisorRunsInABoostedCPUGroupBesideThePools() throws {
        let (layout, pool) = try makePool()
        defer { pool.destroy() }
        let now = CgroupLayout.detect()
        let key = layout.version == .v1 ? "cpu" : "unified"
        let mine = try XCTUnwrap(now.ownDirs[key], "no \(key) hierarchy")
        XCTAssertTrue(mine.hasSuffix("/" + CgroupPool.supervisorGroupName), "this process is in \(mine)")
        let file = layout.version == .v1 ? "cpu.shares" : "cpu.weight"
        let want = layout.version == .v1 ? CgroupPool.supervisorCPUShares : CgroupPool.supervisorCPUWeight
        XCTAssertEqual(try String(contentsOfFile: mine + "/" + file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), String(want))
        let base = try XCTUnwrap(pool.baseDirs[key])
        XCTAssertFalse(base.hasPrefix(mine + "/"), "pools must not live inside the supervisor's group: \(base)")
        XCTAssertEqual((base as NSString).deletingLastPathComponent, CgroupPool.poolParent(mine))
    }

    /// A supervisor started by another (a CLI or test child) inherits the parent's boosted
    /// group; its pools and its own group must still go beside, never inside, it.
    func testPoolsNeverNestInsideABoostedGroup() {
        XCTAssertEqual(CgroupPool.poolParent("/sys/fs/cgroup/cpu/ecology-12-supervisor"), "/sys/fs/cgroup/cpu")
        XCTAssertEqual(CgroupPool.poolParent("/sys/fs/cgroup/cpu/ecology-12-supervisor/ecology-34-supervisor"), "/sys/fs/cgroup/cpu")
        XCTAssertEqual(CgroupPool.poolParent("/a/b"), "/a/b")
        XCTAssertEqual(CgroupPool.poolParent("/a/ecology-x-supervisor"), "/a/ecology-x-supervisor", "only pid-named groups")
        XCTAssertEqual(CgroupPool.poolParent("/a/ecology-12-3"), "/a/ecology-12-3", "a pool is not a supervisor group")
    }
}

/// The zygote holds no cgroup descriptors between spawns: every fork copies the zygote's
/// whole descriptor table and every child closes it again, so descriptors kept per slot
/// (five per slot on v1) made every spawn's cost grow with the number of agents.
final class ZygoteDescriptorTests: XCTestCase {
    func testZygoteKeepsNoSlotDescriptorsBetweenSpawns() throws {
        let e = try SandboxedExecutor(config: WorldConfig(), options: .init(warmChildren: 0))
        defer { e.shutdown() }
        guard e.layers.cgroup != .none else { throw XCTSkip("needs cgroups (root): \(e.layers.cgroupDetail)") }
        // Eight overlapping executions occupy eight distinct slots.
        let ok = FreshChildTests.Results()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let o = e.execute(request("import time\ndef run():\n    time.sleep(0.3)\n    return 1\n"), kernelCalls: noCalls)
            ok.add("1", (try? o.result.get())?.intValue.map { String($0) }, "\(o.result)")
        }
        for (want, got, result) in ok.all { XCTAssertEqual(got, want, result) }
        let zygotes = ProcessTree.descendants(of: getpid()).filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.contains("zygote.py") == true
        }
        XCTAssertFalse(zygotes.isEmpty, "no zygote process found below the test process")
        for z in zygotes {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(z)/fd")) ?? []
            let cgroupFDs = fds.filter {
                ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(z)/fd/\($0)")) ?? "").hasSuffix("cgroup.procs")
            }
            XCTAssertEqual(cgroupFDs.count, 0, "zygote \(z) holds \(cgroupFDs.count) cgroup.procs descriptors (of \(fds.count))")
            XCTAssertLessThan(fds.count, 16, "zygote \(z) holds \(fds.count) descriptors")
        }
    }

}
