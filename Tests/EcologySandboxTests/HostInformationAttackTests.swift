import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import EcologySandbox
import EcologyCore

/// Class 4 of issue 9: a child learns nothing of the host. Hostile tool code tries every
/// route to the host's identity (its interfaces, MACs and addresses through socket ioctls
/// on the inherited socket; its name through uname; its paths through mountinfo, cgroup,
/// the command line and tracebacks; its processes through the socket's credentials), and
/// the test compares what comes back with what the supervisor side knows of the host.
final class HostInformationAttackTests: XCTestCase {
    override func setUp() {
        super.setUp()
        XCTAssertEqual(getuid(), 0, "the hostile suite needs root (namespaces, cgroups, uid drop); CI runs as root")
    }

    // MARK: - what the host is (read here, on the supervisor side)

    /// The host's interface names (but lo), MACs (but all-zero) and IPv4/IPv6 addresses (but loopback).
    struct HostNetwork {
        var names: [String] = []
        var macs: [String] = []
        var addresses: [String] = []
        var all: [String] { names + macs + addresses }
    }

    static let host: HostNetwork = {
        var h = HostNetwork()
        if let list = if_nameindex() {
            var p = list
            while p.pointee.if_index != 0, let name = p.pointee.if_name {
                let n = String(cString: name)
                if n != "lo" { h.names.append(n) }
                p += 1
            }
            if_freenameindex(list)
        }
        for n in h.names {
            let mac = (Posix.readFile("/sys/class/net/\(n)/address") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if !mac.isEmpty && mac != "00:00:00:00:00:00" { h.macs.append(mac) }
        }
        var ifap: UnsafeMutablePointer<ifaddrs>?
        if getifaddrs(&ifap) == 0, let first = ifap {
            var p: UnsafeMutablePointer<ifaddrs>? = first
            while let a = p {
                if let sa = a.pointee.ifa_addr, sa.pointee.sa_family == UInt16(AF_INET) || sa.pointee.sa_family == UInt16(AF_INET6) {
                    var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                    let len = socklen_t(sa.pointee.sa_family == UInt16(AF_INET) ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
                    if getnameinfo(sa, len, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                        let s = String(cString: text).split(separator: "%").first.map(String.init) ?? ""
                        if !s.isEmpty && s != "127.0.0.1" && s != "::1" { h.addresses.append(s) }
                    }
                }
                p = a.pointee.ifa_next
            }
            freeifaddrs(first)
        }
        return h
    }()

    /// The child's whole answer (value or error, with details) as one string.
    func everything(_ o: ExecutionOutcome) -> String {
        switch o.result {
        case .success(let v): return JSONCodec.string(v)
        case .failure(let e): return JSONCodec.string(e.json)
        }
    }

    func assertNothingOfTheHost(_ o: ExecutionOutcome, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let text = everything(o)
        for secret in Self.host.all {
            XCTAssertFalse(text.contains(secret), "\(what): the child learned \(secret): \(text.prefix(600))", file: file, line: line)
        }
    }

    func testTheHostHasSomethingToHide() {
        // Without a non-loopback interface the attacks below would prove nothing.
        XCTAssertFalse(Self.host.names.isEmpty, "no host interface found")
        print("host network (supervisor side):", Self.host.all)
    }

    // MARK: - socket ioctls on the inherited socket

    /// SIOCGIFCONF on fd 3 lists every interface and address of the network namespace the
    /// socket was made in: the host's, when the supervisor made the socketpair.
    func testInterfaceListThroughTheInheritedSocket() {
        let code = """
        import array, fcntl, struct
        def run():
            buf = array.array('B', bytes(8192))
            req = struct.pack('iL', len(buf), buf.buffer_info()[0])
            n = struct.unpack('iL', fcntl.ioctl(3, 0x8912, req))[0]   # SIOCGIFCONF
            raw = buf.tobytes()[:n]
            out = []
            for i in range(0, n, 40):                                  # struct ifreq
                name = raw[i:i + 16].split(b'\\0')[0].decode()
                ip = '.'.join(str(b) for b in raw[i + 20:i + 24])
                out.append([name, ip])
            return out
        """
        let o = run(code)
        assertNothingOfTheHost(o, "SIOCGIFCONF")
        assertCode(o, .sandboxViolation)
        XCTAssertEqual(o.violatedSyscall, "ioctl")
        assertStillServes()
    }

    /// Name, MAC and address of each interface by index, through a socket object made from fd 3.
    func testMACAndAddressByIndexThroughSocketFromFD() {
        let code = """
        import fcntl, socket, struct
        def run():
            s = socket.fromfd(3, socket.AF_UNIX, socket.SOCK_STREAM)
            found = []
            for index in range(1, 32):
                try:
                    r = fcntl.ioctl(s.fileno(), 0x8910, struct.pack('16si20x', b'', index))   # SIOCGIFNAME
                except OSError:
                    continue
                name = r[:16].split(b'\\0')[0]
                req = struct.pack('16s24x', name)
                hw = fcntl.ioctl(s.fileno(), 0x8927, req)[18:24]                              # SIOCGIFHWADDR
                try:
                    ip = socket.inet_ntoa(fcntl.ioctl(s.fileno(), 0x8915, req)[20:24])       # SIOCGIFADDR
                except OSError:
                    ip = None
                idx = struct.unpack('i', fcntl.ioctl(s.fileno(), 0x8933, req)[16:20])[0]    # SIOCGIFINDEX
                found.append([name.decode(), ':'.join('%02x' % b for b in hw), ip, idx])
            return found
        """
        let o = run(code)
        assertNothingOfTheHost(o, "SIOCGIFNAME/SIOCGIFHWADDR/SIOCGIFADDR")
        assertCode(o, .sandboxViolation)
        XCTAssertEqual(o.violatedSyscall, "ioctl")
        assertStillServes()
    }

    /// The raw syscall, with the request's upper 32 bits set: the kernel reads the request
    /// as 32 bits, so a filter comparing 64 (or a `!= TIOCSTI` rule) must not be fooled.
    func testRawIoctlWithHighBitsSet() {
        let code = """
        import ctypes, struct
        def run():
            buf = ctypes.create_string_buffer(8192)
            req = ctypes.create_string_buffer(struct.pack('iL', 8192, ctypes.addressof(buf)), 16)
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long
            rc = libc.syscall(ctypes.c_long(16), ctypes.c_long(3), ctypes.c_ulong((1 << 32) | 0x8912), req)
            n = struct.unpack('iL', req.raw)[0]
            return {'rc': rc, 'errno': ctypes.get_errno(), 'names': [buf.raw[i:i + 16].split(b'\\0')[0].decode()
                                                                    for i in range(0, max(n, 0), 40)]}
        """
        let o = run(code)
        assertNothingOfTheHost(o, "raw ioctl with high bits")
        assertCode(o, .sandboxViolation)
        XCTAssertEqual(o.violatedSyscall, "ioctl")
        assertStillServes()
    }

    /// What Python needs still works: isatty, FIONREAD, non-blocking mode, close-on-exec.
    func testTheIoctlsPythonUsesStillWork() {
        let code = """
        import fcntl, os, socket, struct, termios
        def run():
            s = socket.socket(fileno=os.dup(3))
            s.setblocking(False)
            s.setblocking(True)
            os.set_inheritable(3, True)
            os.set_inheritable(3, False)
            pending = struct.unpack('i', fcntl.ioctl(3, termios.FIONREAD, b'\\0' * 4))[0]
            return [os.isatty(0), pending, open('/tmp/f', 'w').write('x')]
        """
        let o = run(code)
        XCTAssertEqual(try? o.result.get(), [false, 0, 1], "\(o.result)")
    }

    /// The root of the fix, seen from the supervisor: the socket a child holds belongs to the
    /// children's network namespace (SIOCGSKNS on our end of the pair names it), not the host's.
    func testTheChildSocketLivesInTheChildNetworkNamespace() throws {
        let agent = try Shared.executor.spawnAgent(entry: "echo_agent.py")
        defer { _ = agent.stop(grace: 1) }
        let hostPid = try XCTUnwrap(agent.hostPid, "the kernel did not report the agent's host pid")
        let nsFD = ioctl(agent.socket, UInt(0x894C))  // SIOCGSKNS: a descriptor of the socket's netns
        XCTAssertGreaterThanOrEqual(nsFD, 0, "SIOCGSKNS: \(Posix.errnoText)")
        defer { if nsFD >= 0 { close(nsFD) } }
        var socketNS = stat(), hostNS = stat(), childNS = stat()
        XCTAssertEqual(fstat(nsFD, &socketNS), 0)
        XCTAssertEqual(stat("/proc/self/ns/net", &hostNS), 0)
        XCTAssertEqual(stat("/proc/\(hostPid)/ns/net", &childNS), 0)
        XCTAssertNotEqual(socketNS.st_ino, hostNS.st_ino, "the child's socket belongs to the host's network namespace")
        XCTAssertEqual(socketNS.st_ino, childNS.st_ino, "the child's socket is not in the child's network namespace")
    }

    // MARK: - other routes

    /// A fresh uts namespace starts with a copy of the host's names.
    func testHostNameIsNotVisible() throws {
        var name = [CChar](repeating: 0, count: 256)
        XCTAssertEqual(gethostname(&name, name.count), 0)
        let hostName = String(cString: name)
        let code = """
        import os, socket
        def read(p):
            try:
                return open(p).read().strip()
            except OSError as e:
                return 'unreadable: %s' % e.strerror
        def run():
            return [os.uname().nodename, socket.gethostname(), read('/proc/sys/kernel/hostname'),
                    read('/proc/sys/kernel/domainname')]
        """
        let o = run(code)
        let names = try XCTUnwrap(try? o.result.get(), "\(o.result)").arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertEqual(names.count, 4, "\(o.result)")
        for n in names { XCTAssertNotEqual(n, hostName, "the child reads the host's name: \(names)") }
        XCTAssertEqual(names.first, "sandbox")
    }

    /// mountinfo names each mount's root inside its filesystem: a bind mount of the sandbox
    /// directory showed its host path.
    func testMountTablesNameNoHostPath() throws {
        let hostDir = Shared.executor.sandboxDir
        let code = """
        def run():
            return {'mountinfo': open('/proc/self/mountinfo').read(), 'mounts': open('/proc/self/mounts').read()}
        """
        let o = run(code)
        let text = everything(o)
        XCTAssertNotNil(try? o.result.get(), "\(o.result)")
        XCTAssertFalse(text.contains(hostDir), "the mount table shows the host path \(hostDir): \(text.prefix(2000))")
        let parent = (hostDir as NSString).deletingLastPathComponent
        if parent.count > 1 { XCTAssertFalse(text.contains(parent), "the mount table shows \(parent)") }
    }

    /// /proc/self/cgroup names the cgroup path, which holds the supervisor's pid
    /// (`ecology-<pid>-<n>/slot-<i>`) and whatever the host put above it.
    func testCgroupPathIsNotVisible() throws {
        let o = run("def run():\n    return open('/proc/self/cgroup').read()\n")
        let text = try XCTUnwrap(try? o.result.get(), "\(o.result)").stringValue ?? ""
        XCTAssertFalse(text.isEmpty)
        XCTAssertFalse(text.contains("ecology-"), "the child sees its cgroup path: \(text)")
        XCTAssertFalse(text.contains(String(getpid())), "the child sees the supervisor's pid in \(text)")
    }

    /// The command line, sys.argv, module files and tracebacks a child inherits from the
    /// zygote must not name the host directory the sandbox scripts come from.
    func testCommandLineModulesAndTracebacksNameNoHostPath() throws {
        let hostDir = Shared.executor.sandboxDir
        let code = """
        import sys, traceback
        def run():
            files = [getattr(m, '__file__', None) or '' for m in list(sys.modules.values())]
            codes = []
            f = sys._getframe()
            while f is not None:
                codes.append(f.f_code.co_filename)
                f = f.f_back
            return {'cmdline': open('/proc/self/cmdline', 'rb').read().decode('latin1'),
                    'argv': sys.argv, 'orig_argv': getattr(sys, 'orig_argv', []), 'path': sys.path,
                    'files': files, 'frames': codes, 'stack': traceback.format_stack()}
        """
        let o = run(code)
        XCTAssertNotNil(try? o.result.get(), "\(o.result)")
        let text = everything(o)
        XCTAssertFalse(text.contains(hostDir), "the child sees the host path \(hostDir): \(text.prefix(3000))")
        // And a failing tool's traceback, which the invoker receives.
        let failing = run("import json\ndef run():\n    return json.loads('{')\n")
        assertCode(failing, .executionError)
        XCTAssertFalse(everything(failing).contains(hostDir), "a traceback names \(hostDir): \(everything(failing))")
        assertStillServes()
    }

    /// Files of /proc that describe the host, not the child, and that any uid may read: the
    /// kernel command line, partitions and disks, modules, sysctls (the boot id, ...).
    func testHostDescribingProcFilesAreMasked() throws {
        let paths = ["/proc/cmdline", "/proc/partitions", "/proc/diskstats", "/proc/devices", "/proc/interrupts",
                     "/proc/sys/kernel/random/boot_id", "/proc/sys/kernel/core_pattern", "/proc/sys/kernel/hostname"]
        let code = """
        def run(paths):
            out = {}
            for p in paths:
                try:
                    out[p] = open(p).read()
                except OSError as e:
                    out[p] = None
            return out
        """
        let o = run(code, args: [.array(paths.map(JSONValue.string))])
        let v = try XCTUnwrap(try? o.result.get(), "\(o.result)")
        for p in paths {
            guard let host = Posix.readFile(p), !host.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { continue }
            let seen = v[p]?.stringValue ?? ""
            XCTAssertFalse(seen.contains(host.trimmingCharacters(in: .whitespacesAndNewlines)),
                           "the child reads the host's \(p): \(seen.prefix(300))")
        }
        XCTAssertNotNil(try? run("def run():\n    return open('/proc/self/status').read()\n").result.get(),
                        "the child's own /proc entries must stay readable")
    }

    /// Everything a child inherits from its zygote is in its memory: a child reading all of
    /// it (every readable mapping, read with ctypes) must not find the host path of the sandbox directory,
    /// e.g. left over from the zygote's init record.
    func testInheritedMemoryHoldsNoHostPath() throws {
        let hostDir = Shared.executor.sandboxDir
        let code = """
        import ctypes
        def run(head, tail, marker_head, marker_tail):
            # The needle travels in two halves and is never joined in memory: the scan finds
            # an occurrence of the head and compares what follows with the tail.
            head, tail = head.encode(), tail.encode()
            planted = (marker_head + marker_tail).encode()   # proves the scan sees the heap
            hits, scanned, found_planted = [], 0, False
            maps = open('/proc/self/maps').read().splitlines()   # read before the scan allocates more
            for line in maps:
                parts = line.split()
                if 'r' not in parts[1] or (len(parts) > 5 and parts[5] in ('[vvar]', '[vsyscall]', '[vvar_vclock]')):
                    continue
                lo, hi = (int(x, 16) for x in parts[0].split('-'))
                data = ctypes.string_at(lo, hi - lo)   # the child's own memory, read directly
                scanned += len(data)
                found_planted = found_planted or planted in data
                i = data.find(head)
                while i >= 0:
                    if data[i + len(head):i + len(head) + len(tail)] == tail:
                        hits.append([line[:90], data[max(0, i - 60):i + len(head) + len(tail) + 20].decode('latin1')])
                    i = data.find(head, i + 1)
            return {'scanned': scanned, 'hits': hits, 'planted': found_planted}
        """
        let half = hostDir.index(hostDir.startIndex, offsetBy: hostDir.count / 2)
        let o = run(code, args: [.string(String(hostDir[..<half])), .string(String(hostDir[half...])),
                                 "ecology-planted-", "marker-1729"], timeout: 20)
        let v = try XCTUnwrap(try? o.result.get(), "\(o.result)")
        XCTAssertGreaterThan(v["scanned"]?.intValue ?? 0, 1 << 20, "the scan read almost nothing: \(v)")
        XCTAssertEqual(v["planted"], true, "the scan does not see the child's own heap")
        XCTAssertEqual(v["hits"]?.arrayValue?.count, 0, "the child's memory holds \(hostDir): \(JSONCodec.string(v["hits"] ?? .null).prefix(2000))")
    }

    /// The socket's metadata and the child's /proc and /sys describe only the sandbox.
    /// (A regression guard: these routes were already closed before issue 9.)
    func testSocketMetadataAndProcNetDescribeOnlyTheSandbox() throws {
        let code = """
        import os, socket, struct
        def run():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0, os.dup(3))
            pid, uid, gid = struct.unpack('3i', s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
            def read(p):
                try:
                    return open(p).read()
                except OSError as e:
                    return 'unreadable: %s' % e.strerror
            return {'peer': [pid, uid, gid], 'name': repr(s.getsockname()), 'peername': repr(s.getpeername()),
                    'fdinfo': read('/proc/self/fdinfo/3'), 'net_dev': read('/proc/net/dev'),
                    'route': read('/proc/net/route'), 'arp': read('/proc/net/arp'), 'unix': read('/proc/net/unix'),
                    'if_inet6': read('/proc/net/if_inet6'), 'sys': os.path.exists('/sys/class/net')}
        """
        let o = run(code)
        let v = try XCTUnwrap(try? o.result.get(), "\(o.result)")
        assertNothingOfTheHost(o, "socket metadata and /proc/net")
        let peer = v["peer"]?.arrayValue?.compactMap(\.intValue) ?? []
        XCTAssertEqual(peer.count, 3)
        XCTAssertFalse(peer.first.map { $0 == Int64(getpid()) } ?? true, "SO_PEERCRED names the supervisor: \(peer)")
        XCTAssertEqual(v["sys"], false, "/sys is visible")
        let netDev = v["net_dev"]?.stringValue ?? ""
        XCTAssertTrue(netDev.contains("lo:"), "the child's /proc/net/dev: \(netDev)")
        assertStillServes()
    }
}
