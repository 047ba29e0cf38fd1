import XCTest
import Foundation
@testable import EcologySandbox
import EcologyCore

/// Every execution runs in its own fresh, fully sandboxed child, whether that child was
/// forked ahead of time (the executor keeps a few ready per execution shape) or on demand.
final class FreshChildTests: XCTestCase {
    /// Leaves traces in the process, /tmp and the interpreter; a reused child would see them.
    static let probe = """
    import os, builtins
    def run():
        seen_file = os.path.exists('/tmp/ecology-marker')
        open('/tmp/ecology-marker', 'w').write('x')
        seen_global = hasattr(builtins, 'ecology_marker')
        builtins.ecology_marker = 1
        status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines() if ':' in l)
        return {'pid': os.getpid(), 'seen_file': seen_file, 'seen_global': seen_global,
                'status': {k: v.strip() for k, v in status.items()
                           if k.startswith('Cap') or k in ('NoNewPrivs', 'Seccomp', 'Uid', 'Gid', 'Groups')},
                'env': dict(os.environ)}
    """

    func checkFreshAndConfined(_ executor: SandboxedExecutor, runs: Int, file: StaticString = #filePath, line: UInt = #line) {
        var pids = Set<Int64>()
        for i in 0..<runs {
            let o = executor.execute(request(Self.probe), kernelCalls: noCalls)
            guard let v = try? o.result.get() else { XCTFail("run \(i): \(o.result)", file: file, line: line); return }
            if let pid = v["pid"]?.intValue { pids.insert(pid) }
            XCTAssertEqual(v["seen_file"], .bool(false), "run \(i) saw an earlier run's /tmp", file: file, line: line)
            XCTAssertEqual(v["seen_global"], .bool(false), "run \(i) saw an earlier run's interpreter", file: file, line: line)
            let st = v["status"] ?? .null
            for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
                XCTAssertEqual(st[cap], .string("0000000000000000"), "run \(i): \(cap)", file: file, line: line)
            }
            XCTAssertEqual(st["NoNewPrivs"], "1", file: file, line: line)
            XCTAssertEqual(st["Seccomp"], "2", file: file, line: line)
            XCTAssertEqual(st["Groups"], "", file: file, line: line)
            let uid = st["Uid"]?.stringValue?.split(whereSeparator: \.isWhitespace).compactMap { Int($0) } ?? []
            XCTAssertEqual(uid.count, 4, file: file, line: line)
            XCTAssertTrue(uid.allSatisfy { $0 >= 200_000 }, "run \(i) kept a low uid: \(uid)", file: file, line: line)
            XCTAssertEqual(v["env"], .object(executor.policies[.artifact]!.environment.mapValues(JSONValue.string)),
                           file: file, line: line)
        }
        XCTAssertEqual(pids.count, runs, "a child served more than one execution: \(pids.sorted())", file: file, line: line)
    }

    func testEveryExecutionGetsAFreshConfinedChild() {
        // Enough runs that most are served by children forked ahead of time.
        checkFreshAndConfined(Shared.executor, runs: 12)
    }

    func testChildrenForkedOnDemandAreTheSame() throws {
        let e = try SandboxedExecutor(config: WorldConfig(), options: .init(warmChildren: 0))
        defer { e.shutdown() }
        checkFreshAndConfined(e, runs: 4)
    }

    /// The SIGSYS reporter of each child writes to that child's own report page.
    func testConcurrentViolationsAreReportedPerChild() {
        let cases = [("socket", 41), ("mount", 165), ("bpf", 321), ("keyctl", 250)]
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            let (name, nr) = cases[i % cases.count]
            let o = Shared.executor.execute(request("import ctypes\ndef run(nr):\n    return ctypes.CDLL(None).syscall(nr, 0, 0, 0, 0, 0)\n",
                                                    args: [.int(Int64(nr))]), kernelCalls: noCalls)
            results.add(name, o.violatedSyscall, "\(o.result)")
        }
        XCTAssertEqual(results.all.count, 16)
        for (want, got, result) in results.all { XCTAssertEqual(got, want, result) }
        assertStillServes()
    }

    /// Each child keeps only its own report page of the zygote's shared region: a hostile
    /// child cannot forge a violation report for a sibling (checked while siblings live).
    func testChildMapsOnlyItsOwnReportPage() {
        let code = """
        import time
        def run():
            time.sleep(0.05)
            shared = 0
            for line in open('/proc/self/maps'):
                if '/dev/zero' in line:
                    start, end = line.split()[0].split('-')
                    shared += int(end, 16) - int(start, 16)
            return shared
        """
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            let o = Shared.executor.execute(request(code), kernelCalls: noCalls)
            results.add("4096", (try? o.result.get())?.intValue.map { String($0) }, "\(o.result)")
        }
        for (want, got, result) in results.all { XCTAssertEqual(got, want, result) }
    }

    /// A ready child that died before it was used is replaced, not handed an execution.
    func testDeadReadyChildIsNotUsed() throws {
        let e = try SandboxedExecutor(config: WorldConfig(), options: .init(warmChildren: 2))
        defer { e.shutdown() }
        for _ in 0..<3 { XCTAssertEqual(try? e.execute(request("def run():\n    return 1\n"), kernelCalls: noCalls).result.get(), .int(1)) }
        // Kill every process of the executor's slots that is not running anything (the ready ones).
        let killed = e.killIdleChildrenForTesting()
        XCTAssertGreaterThan(killed, 0)
        for _ in 0..<5 { XCTAssertEqual(try? e.execute(request("def run():\n    return 2\n"), kernelCalls: noCalls).result.get(), .int(2)) }
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var all: [(String, String?, String)] = []
        func add(_ want: String, _ got: String?, _ result: String) { lock.lock(); all.append((want, got, result)); lock.unlock() }
    }
}
