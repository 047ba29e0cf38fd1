import XCTest
import Foundation
@testable import EcologySandbox
import EcologyCore

/// Real attacks, each contained with its documented code (docs/THREAT_MODEL.md), each
/// followed by a benign execution to prove the executor keeps serving.
final class HostileCodeTests: XCTestCase {
    override func setUp() {
        super.setUp()
        XCTAssertEqual(getuid(), 0, "the hostile suite needs root (namespaces, cgroups, uid drop); CI runs as root")
    }

    func testLayersAreActiveOnThisHost() {
        let l = Shared.executor.layers
        print("sandbox layers:", JSONCodec.string(l.json))
        for ns in ["net", "pid", "mount", "ipc", "uts", "rootfs", "seccomp_report"] {
            XCTAssertEqual(l.namespaces[ns], true, "\(ns) layer inactive: \(l.warnings)")
        }
        XCTAssertNotEqual(l.cgroup, .none, l.cgroupDetail)
    }

    func testNetworkSocketCreation() {
        let o = run("import socket\ndef run():\n    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n    s.connect(('127.0.0.1', 22))\n    return 'connected'\n")
        assertCode(o, .sandboxViolation)
        XCTAssertEqual(o.violatedSyscall, "socket")
        assertStillServes()
    }

    func testUnixSocketAndSocketpairAreBlocked() {
        let o = run("import socket\ndef run():\n    a, b = socket.socketpair()\n    return 'made'\n")
        assertCode(o, .sandboxViolation)
        XCTAssertEqual(o.violatedSyscall, "socketpair")
        assertStillServes()
    }

    func testReadEtcShadow() {
        let o = run("def run():\n    return open('/etc/shadow').read()\n")
        assertCode(o, .executionError)  // absent from the sandbox root: FileNotFoundError
        guard case .failure(let e) = o.result else { return }
        XCTAssertTrue(e.message.contains("FileNotFoundError"), e.message)
        assertStillServes()
    }

    func testReadProcOneEnviron() {
        let o = run("def run():\n    return open('/proc/1/environ', 'rb').read().decode('latin1')\n")
        assertCode(o, .executionError)  // pid 1 is the zygote (root, hidepid=2): invisible
        assertStillServes()
    }

    func testSupervisorEnvironmentIsNotVisible() {
        setenv("ECOLOGY_TEST_SECRET", "hunter2", 1)
        let code = """
        import os
        def run():
            try:
                raw = open('/proc/self/environ', 'rb').read().decode()
            except OSError as e:
                raw = 'unreadable: %s' % e.strerror
            return {'env': dict(os.environ), 'self': raw}
        """
        let o = run(code)
        let v = try? o.result.get()
        XCTAssertNotNil(v, "\(o.result)")
        XCTAssertFalse(JSONCodec.string(v ?? .null).contains("hunter2"))
        XCTAssertEqual(v?["env"]?["PATH"], "/usr/bin:/bin")
    }

    func testSQLiteFileOutsideTheSandbox() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-hostile-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("world.sqlite").path
        try Data("SQLite format 3\0 secret ledger".utf8).write(to: URL(fileURLWithPath: db))
        let o = run("def run(p):\n    return open(p, 'rb').read().decode('latin1')\n", args: [.string(db)])
        assertCode(o, .executionError)
        XCTAssertFalse(JSONCodec.string(o.result.failureDetails).contains("secret ledger"))
        // Writing next to it fails too.
        let w = run("def run(p):\n    open(p + '.evil', 'w').write('x')\n    return 'wrote'\n", args: [.string(db)])
        assertCode(w, .executionError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: db + ".evil"))
        assertStillServes()
    }

    func testWritingOutsideTmp() {
        for path in ["/usr/evil", "/evil", "/sandbox/evil.py", "/dev/evil"] {
            let o = run("def run(p):\n    open(p, 'w').write('x')\n    return 'wrote'\n", args: [.string(path)])
            assertCode(o, .executionError)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/usr/evil"))
        assertStillServes()
    }

    func testTmpIsPrivateAndSizeCapped() {
        let first = run("def run():\n    open('/tmp/mark', 'w').write('x')\n    return 1\n")
        XCTAssertEqual(try? first.result.get(), 1)
        let second = run("import os\ndef run():\n    return os.path.exists('/tmp/mark')\n")
        XCTAssertEqual(try? second.result.get(), false)
        let fill = run("def run():\n    with open('/tmp/big', 'wb') as f:\n        for _ in range(64):\n            f.write(b'x' * (1 << 20))\n    return 'filled'\n")
        assertCode(fill, .executionError)
        assertStillServes()
    }

    func testForkBomb() {
        let o = run("import os\ndef run():\n    while True:\n        os.fork()\n")
        assertCode(o, .sandboxViolation)
        XCTAssertEqual(o.violatedSyscall, "clone")
        assertStillServes()
    }

    func testThreadBombIsCappedByPids() {
        let code = """
        import threading, time
        def run():
            n = 0
            try:
                for _ in range(200):
                    threading.Thread(target=time.sleep, args=(0.5,), daemon=True).start()
                    n += 1
            except RuntimeError as e:
                return {'threads': n, 'error': str(e)}
            return {'threads': n}
        """
        let o = run(code)
        let v = try? o.result.get()
        XCTAssertNotNil(v?["error"], "\(o.result)")
        XCTAssertLessThan(v?["threads"]?.intValue ?? 999, 16)
        assertStillServes()
    }

    func testMemoryBomb() {
        let o = run("def run():\n    a = []\n    while True:\n        a.append(bytearray(8 << 20))\n", memory: 64 << 20)
        assertCode(o, .outOfMemory)
        assertStillServes()
    }

    func testBusyLoopHitsTheTimeout() {
        let o = run("def run():\n    while True:\n        pass\n", timeout: 0.5)
        assertCode(o, .timeout)
        XCTAssertGreaterThan(o.cpuMicros, 200_000, "CPU is measured for killed runs too")
        assertStillServes()
    }

    func testSleepForever() {
        let t0 = Date()
        let o = run("import time\ndef run():\n    time.sleep(3600)\n", timeout: 0.3)
        assertCode(o, .timeout)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 3)
        assertStillServes()
    }

    func testGiganticReturnValue() {
        let o = run("def run():\n    return 'x' * (5 << 20)\n", maxOutput: 65_536)
        assertCode(o, .executionError)
        guard case .failure(let e) = o.result else { return }
        XCTAssertTrue(e.message.contains("output limit"), e.message)
        assertStillServes()
    }

    func testExecOfShell() {
        let o = run("import os\ndef run():\n    os.execv('/bin/sh', ['sh', '-c', 'id'])\n")
        assertCode(o, .sandboxViolation)
        XCTAssertEqual(o.violatedSyscall, "execve")
        let sub = run("import subprocess\ndef run():\n    return subprocess.run(['/bin/sh','-c','id'], capture_output=True).stdout.decode()\n")
        assertCode(sub, .sandboxViolation)
        assertStillServes()
    }

    func testPtrace() {
        let o = run("import ctypes\ndef run():\n    return ctypes.CDLL(None).ptrace(16, 1, 0, 0)\n")  // PTRACE_ATTACH to pid 1
        assertCode(o, .sandboxViolation)
        XCTAssertEqual(o.violatedSyscall, "ptrace")
        assertStillServes()
    }

    func testKillEverythingAndSignalParent() {
        let o = run("import os\ndef run():\n    os.kill(-1, 9)\n    return 'survived'\n")
        assertCode(o, .sandboxViolation)
        XCTAssertEqual(o.violatedSyscall, "kill")
        let p = run("import os, signal\ndef run():\n    os.kill(os.getppid(), signal.SIGKILL)\n    return 'sent'\n")
        assertCode(p, .sandboxViolation)
        let sup = run("import os\ndef run(pid):\n    os.kill(pid, 9)\n    return 'sent'\n", args: [.int(Int64(getpid()))])
        assertCode(sup, .sandboxViolation)
        assertStillServes()
    }

    func testRawSyscallsThroughCtypes() {
        for (nr, name) in [(41, "socket"), (272, "unshare"), (308, "setns"), (165, "mount"), (321, "bpf"),
                           (425, "io_uring_setup"), (319, "memfd_create"), (323, "userfaultfd"), (298, "perf_event_open"),
                           (250, "keyctl"), (135, "personality"), (310, "process_vm_readv")] {
            let o = run("import ctypes\ndef run(nr):\n    return ctypes.CDLL(None).syscall(nr, 0, 0, 0, 0, 0)\n", args: [.int(Int64(nr))])
            assertCode(o, .sandboxViolation)
            XCTAssertEqual(o.violatedSyscall, name)
        }
        // clone with namespace flags, and an x32-numbered syscall.
        let ns = run("import ctypes\ndef run():\n    return ctypes.CDLL(None).syscall(56, 0x40000000 | 0x10000 | 17, 0, 0, 0, 0)\n")
        assertCode(ns, .sandboxViolation)
        let x32 = run("import ctypes\ndef run():\n    return ctypes.CDLL(None).syscall(0x40000000 + 41, 2, 1, 0)\n")
        assertCode(x32, .sandboxViolation)
        // Replacing the SIGSYS reporter is itself a violation.
        let sig = run("import signal\ndef run():\n    signal.signal(signal.SIGSYS, signal.SIG_IGN)\n    return 'replaced'\n")
        assertCode(sig, .sandboxViolation)
        assertStillServes()
    }

    func testRecursiveInvokeBombStopsAtDepthFive() {
        let maxDepth = 5
        let counter = Counter()
        let code = "def run(n):\n    return invoke('self', 'run', n + 1)\n"
        @Sendable func handler(depth: Int) -> KernelCallHandler {
            return { action, params in
                counter.increment()
                guard depth < maxDepth else {
                    return .failure(KernelError(.invalidArgs, "maximum invoke depth \(maxDepth) exceeded"))
                }
                let nested = Shared.executor.execute(
                    request(code, args: params["args"]?.arrayValue ?? [], depth: depth + 1), kernelCalls: handler(depth: depth + 1))
                return Envelope(nested.result)
            }
        }
        let o = Shared.executor.execute(request(code, args: [0], depth: 0), kernelCalls: handler(depth: 0))
        assertCode(o, .executionError)
        guard case .failure(let e) = o.result else { return }
        XCTAssertTrue(e.message.contains("EXECUTION_ERROR") || e.message.contains("INVALID_ARGS"), e.message)
        XCTAssertEqual(counter.value, maxDepth + 1)
        assertStillServes()
    }

    func testFrameFloodsAndCorruption() {
        let cases: [(String, String)] = [
            ("oversized length", "os.write(3, b'\\x7f\\xff\\xff\\xff')"),
            ("garbage json", "os.write(3, struct.pack('>I', 7) + b'garbage')"),
            ("non-object", "os.write(3, struct.pack('>I', 5) + b'[1,2]')"),
            ("invalid utf-8", "os.write(3, struct.pack('>I', 4) + b'{\\xff\\xfe}')"),
            ("reply to unknown id", "d = b'{\"type\":\"reply\",\"id\":99,\"response\":{\"ok\":true,\"result\":1}}'\n    os.write(3, struct.pack('>I', len(d)) + d)"),
            ("unknown type", "d = b'{\"type\":\"teleport\",\"id\":1}'\n    os.write(3, struct.pack('>I', len(d)) + d)"),
            ("result with wrong id", "d = b'{\"type\":\"result\",\"id\":5,\"response\":{\"ok\":true,\"result\":1}}'\n    os.write(3, struct.pack('>I', len(d)) + d)"),
            ("truncated then exit", "os.write(3, struct.pack('>I', 100) + b'{\"type\"')\n    os._exit(0)"),
            ("close mid-call", "d = b'{\"type\":\"call\",\"id\":1,\"action\":\"read\",\"params\":{}}'\n    os.write(3, struct.pack('>I', len(d)) + d)\n    os._exit(0)"),
        ]
        for (name, body) in cases {
            let code = "import os, struct, time\ndef run():\n    \(body)\n    time.sleep(10)\n"
            let calls: KernelCallHandler = { _, _ in usleep(20_000); return .ok(nil) }
            let o = run(code, timeout: 5, calls: calls)
            if case .failure(let e) = o.result { XCTAssertEqual(e.code, .protocolError, "\(name): \(e)") }
            else { XCTFail("\(name): succeeded") }
        }
        // A flood of valid calls is served and then still ends cleanly.
        let flood = run("def run():\n    for i in range(2000):\n        kernel_call('noop')\n    return 'done'\n", calls: { _, _ in .ok(nil) })
        XCTAssertEqual(try? flood.result.get(), "done")
        assertStillServes()
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

extension Result where Success == JSONValue, Failure == KernelError {
    var failureDetails: JSONValue {
        if case .failure(let e) = self { return e.json }
        return .null
    }
}
