@testable import EcologySandbox
import Foundation
import XCTest

/// The slot pool hands every concurrent caller its own slot (own memory limit, own uid).
final class CgroupPoolTests: XCTestCase {
    func testConcurrentAcquiresGetDistinctSlots() throws {
        let layout = CgroupLayout.detect()
        guard layout.version != .none, getuid() == 0 else {
            throw XCTSkip("needs writable cgroups (root with cgroup v1 or v2); this host: \(layout.reason)")
        }
        let pool: CgroupPool
        do { pool = try CgroupPool(layout: layout, pids: 8, cpuPercent: 100, register: { _, _ in }) } catch {
            throw XCTSkip("cgroup hierarchy not writable here: \(error)")
        }
        defer { pool.destroy() }
        let lock = NSLock()
        var indexes: [Int] = []
        // Fresh slots are created concurrently: 200 agents start at once in `ecology run`.
        DispatchQueue.concurrentPerform(iterations: 48) { _ in
            let slot = try! pool.acquire(memoryBytes: 64 << 20)
            lock.lock(); indexes.append(slot.index); lock.unlock()
        }
        XCTAssertEqual(indexes.count, 48)
        XCTAssertEqual(Set(indexes).count, 48, "two callers were handed the same slot: \(indexes.sorted())")
    }

    /// All children together get a small CPU weight against the supervisor's threads, so
    /// a crowd of busy agents cannot starve the ledger they all wait on.
    func testChildrenShareALowCPUWeight() throws {
        let layout = CgroupLayout.detect()
        guard layout.version != .none, getuid() == 0 else {
            throw XCTSkip("needs writable cgroups (root with cgroup v1 or v2); this host: \(layout.reason)")
        }
        let pool: CgroupPool
        do { pool = try CgroupPool(layout: layout, pids: 8, cpuPercent: 100, register: { _, _ in }) } catch {
            throw XCTSkip("cgroup hierarchy not writable here: \(error)")
        }
        defer { pool.destroy() }
        if let cpu = pool.baseDirs["cpu"] {
            XCTAssertEqual(try String(contentsOfFile: cpu + "/cpu.shares", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                           String(CgroupPool.childrenCPUShares))
        } else if let unified = pool.baseDirs["unified"] {
            XCTAssertEqual(try String(contentsOfFile: unified + "/cpu.weight", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                           String(CgroupPool.childrenCPUWeight))
        } else {
            throw XCTSkip("no cpu controller in this hierarchy")
        }
    }
}
