import XCTest
import Foundation
@testable import EcologySandbox
import EcologyBenchmarks
import EcologyCore
import EcologyHost
import EcologyWire

final class ExecutorResourceTests: XCTestCase {
    func testNoDescriptorOrMemoryLeakOver1000Executions() {
        let e = Shared.executor
        let req = request("def run(i):\n    return i\n", args: [1])
        for _ in 0..<50 { _ = e.execute(req, kernelCalls: noCalls) }
        let fdsBefore = (ProcessStatus.openDescriptors() ?? -1)
        let rssBefore = rssKB()
        for i in 0..<1000 {
            let o = e.execute(request("def run(i):\n    return i\n", args: [.int(Int64(i))]), kernelCalls: noCalls)
            XCTAssertEqual(try? o.result.get(), .int(Int64(i)), "\(o.result)")
            if (try? o.result.get()) != .int(Int64(i)) { break }
        }
        let fdsAfter = (ProcessStatus.openDescriptors() ?? -1)
        let rssAfter = rssKB()
        print("fds \(fdsBefore) -> \(fdsAfter), rss \(rssBefore) KB -> \(rssAfter) KB")
        // The whole test process shares one fd table: URLSession and Dispatch threads left by
        // earlier test classes may open or close a few descriptors meanwhile. A leak in the
        // executor would show as one or more per execution, i.e. ≥ 1000 here.
        XCTAssertLessThan(fdsAfter - fdsBefore, 10, "descriptors leaked: \(fdsBefore) -> \(fdsAfter)")
        XCTAssertLessThan(rssAfter - rssBefore, 20_000, "supervisor RSS grew by more than 20 MB")
    }

    func testConcurrentExecutionsFromManyThreads() {
        let ok = Counter()
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            let o = Shared.executor.execute(request("def run(i):\n    return i * i\n", args: [.int(Int64(i))]), kernelCalls: noCalls)
            if (try? o.result.get()) == .int(Int64(i * i)) { ok.increment() }
        }
        XCTAssertEqual(ok.value, 16)
    }

    func testBenchmark() throws {
        let r = try SandboxBenchmark.run(iterations: 200, executor: Shared.executor)
        print("sandbox benchmark:", r.keys.sorted().map { "\($0)=\(String(format: "%.2f", r[$0]!))" }.joined(separator: " "))
        XCTAssertEqual(r["errors"], 0)
        XCTAssertGreaterThan(r["exec_per_second"] ?? 0, 0)
    }

    func testHostProbe() {
        let r = HostProbe.run()
        print(r.description)
        XCTAssertTrue(r.executes, r.description)
        XCTAssertTrue(r.seccompEnforced, r.description)
    }

    func testAgentChildLifecycle() throws {
        let agent = try Shared.executor.spawnAgent(entry: "echo_agent.py")
        XCTAssertGreaterThan(agent.pid, 0)
        var decoder = FrameDecoder()
        func roundTrip(_ msg: JSONValue) throws -> JSONValue {
            XCTAssertTrue(Posix.sendAll(agent.socket, Frame.encode(msg), deadline: Posix.now() + 5))
            var buf = [UInt8](repeating: 0, count: 65_536)
            while true {
                if let f = try decoder.next() { return f }
                guard Posix.poll(agent.socket, events: Int16(POLLIN), deadline: Posix.now() + 5) != 0 else {
                    throw SandboxError("agent did not answer")
                }
                let n = buf.withUnsafeMutableBytes { recv(agent.socket, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { throw SandboxError("agent closed") }
                decoder.append(buf[0..<n])
            }
        }
        XCTAssertEqual(try roundTrip(["type": "echo", "id": 1, "value": "hi"])["value"], "hi")
        let before = agent.cpuMicros()
        _ = try roundTrip(["type": "burn", "id": 2, "seconds": 0.3])
        let after = agent.cpuMicros()
        XCTAssertGreaterThanOrEqual(after - before, 150_000, "cpu \(before) -> \(after)")
        // Frozen: no answer; thawed: answers again.
        XCTAssertTrue(agent.freeze())
        XCTAssertTrue(Posix.sendAll(agent.socket, Frame.encode(["type": "echo", "id": 3, "value": "x"]), deadline: Posix.now() + 1))
        XCTAssertEqual(Posix.poll(agent.socket, events: Int16(POLLIN), deadline: Posix.now() + 0.3), 0)
        XCTAssertTrue(agent.thaw())
        XCTAssertEqual(try roundTrip(["type": "echo", "id": 4, "value": "y"])["id"], 3)
        // The agent is sandboxed like an artifact: no network.
        _ = try? roundTrip(["type": "socket", "id": 5])
        let exit = agent.waitExit(timeout: 5)
        XCTAssertEqual(exit?.syscall.map(SeccompCompiler.syscallName), "socket")
        assertStillServes()
    }

    /// Agent children come from a zygote of their own that preloads only what the agent
    /// runtime uses: the user-code preloads (hashlib with libcrypto, decimal, statistics, ...)
    /// would sit in every agent's RSS. Tool executions still find them preloaded.
    func testAgentChildrenDoNotCarryTheToolPreloads() throws {
        let agent = try Shared.executor.spawnAgent(entry: "echo_agent.py")
        defer { _ = agent.stop(grace: 1) }
        XCTAssertTrue(Posix.sendAll(agent.socket, Frame.encode(["type": "modules", "id": 1]), deadline: Posix.now() + 5))
        var decoder = FrameDecoder()
        var buf = [UInt8](repeating: 0, count: 65_536)
        var reply: JSONValue?
        while reply == nil, Posix.poll(agent.socket, events: Int16(POLLIN), deadline: Posix.now() + 5) != 0 {
            let n = buf.withUnsafeMutableBytes { recv(agent.socket, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            decoder.append(buf[0..<n])
            reply = try decoder.next()
        }
        let modules = Set(reply?["value"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        XCTAssertTrue(modules.contains("wire"), "no module list from the agent: \(String(describing: reply))")
        for heavy in ["hashlib", "_hashlib", "decimal", "statistics", "fractions"] {
            XCTAssertFalse(modules.contains(heavy), "an agent child carries the tool preload \(heavy)")
        }
        let tool = Shared.executor.execute(request("import sys\ndef run():\n    return 'hashlib' in sys.modules\n"), kernelCalls: noCalls)
        XCTAssertEqual(try? tool.result.get(), .bool(true), "tool children lost their preloads: \(tool.result)")
    }

    func testAgentStopAndKill() throws {
        let a = try Shared.executor.spawnAgent(entry: "echo_agent.py")
        let e = a.stop(grace: 2)
        XCTAssertEqual(e?.exitCode, 0, "agent exits on EOF")
        let b = try Shared.executor.spawnAgent(entry: "echo_agent.py")
        _ = b.freeze()
        let k = b.kill()
        XCTAssertEqual(k?.signal, SIGKILL)
    }

    /// The supervisor's window can still hold an agent's handle after the child ended and
    /// its slot was released (`AgentSession.finish` drops it only afterwards). Freezing
    /// through that handle must not reach the slot, which the next agent may be in.
    func testEndedAgentCannotFreezeTheNextChildInItsSlot() throws {
        let a = try Shared.executor.spawnAgent(entry: "echo_agent.py")
        XCTAssertEqual(a.stop(grace: 2)?.exitCode, 0, "agent exits on EOF")
        XCTAssertFalse(a.freeze(), "the handle of an ended agent froze its released slot")
        // Slots are reused last-freed first: b is in a's slot.
        let b = try Shared.executor.spawnAgent(entry: "echo_agent.py")
        defer { _ = b.stop(grace: 1) }
        XCTAssertEqual(echo(b, "running", within: 5)?["value"], "running", "the next agent in the slot is frozen")
        // Nor may it thaw the slot's next child, frozen by the supervisor for its own debt.
        XCTAssertTrue(b.freeze())
        XCTAssertFalse(a.thaw(), "the handle of an ended agent thawed its released slot")
        XCTAssertNil(echo(b, "frozen", within: 0.3), "the next agent in the slot was thawed")
        XCTAssertTrue(b.thaw())
    }

    /// The agent's answer to one echo frame, nil if none comes within `seconds`.
    private func echo(_ agent: AgentProcess, _ value: String, within seconds: Double) -> JSONValue? {
        guard Posix.sendAll(agent.socket, Frame.encode(["type": "echo", "id": 1, "value": .string(value)]),
                            deadline: Posix.now() + 5) else { return nil }
        var decoder = FrameDecoder()
        var buf = [UInt8](repeating: 0, count: 65_536)
        let deadline = Posix.now() + seconds
        while Posix.poll(agent.socket, events: Int16(POLLIN), deadline: deadline) != 0 {
            let n = buf.withUnsafeMutableBytes { recv(agent.socket, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            decoder.append(buf[0..<n])
            if let f = try? decoder.next() { return f }
        }
        return nil
    }

    private func rssKB() -> Int {
        let status = Posix.readFile("/proc/self/status") ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}
