"""The fork-server (zygote) of Ecology's sandbox.

Started once by the supervisor (posix_spawn, scrubbed environment) with a SOCK_SEQPACKET
control socket as fd 3; its source comes on fd 4, compiled as /sandbox/zygote.py (`Zygote.
bootstrap` in Zygote.swift), so no host path is in its command line or code objects, which
every child inherits. It enters the shared sandbox namespaces (net with no interfaces,
ipc, uts, pid, and a mount namespace with a read-only root), pre-imports what children
need, gives up every capability but the few a child's setup needs, sets no_new_privs and
installs its own seccomp filter, and forks one child per `spawn` request, on a socketpair
it makes in the children's network namespace. Each child finishes its own setup (cgroup
slot, private mount and cgroup namespaces with /tmp, rlimits, session, fds, environment,
uid/gid + capabilities, no_new_privs, its own stricter seccomp filter last) and then runs
the runner or an entry script on its socket.

Control records (one JSON object per SEQPACKET record; docs/PROTOCOL.md):
  supervisor -> zygote: init, spawn (+ child socket fd, + its slot's cgroup.procs fds), kill
  zygote -> supervisor: ready, spawned, exited, error
"""
import _signal
import _socket
import base64
import ctypes
import gc
import json
import mmap
import os
import select
import signal
import socket
import struct
import sys
import traceback

import resource  # noqa: E402
import runpy  # noqa: E402

# The sandbox scripts inside the sandbox root. `wire` and `runner` are imported by
# `Zygote.init` from there (from the host directory only when there is no root), so that
# their code objects, and so every traceback a child sends, name /sandbox, not the host.
SANDBOX_ROOT_DIR = "/sandbox"
wire = None
runner = None

CTRL_FD = 3
# The sandbox directory, opened by the supervisor: the zygote copies the scripts from this
# descriptor and never learns the directory's host path (which would stay in its memory,
# and so in every child's).
SANDBOX_DIR_FD = 5
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.syscall.restype = ctypes.c_long
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
libc.setdomainname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP = 0x20000000, 0x40000000, 0x02000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP = 1, 24, 38, 22
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
# What the children's uts namespace calls the machine (a fresh uts namespace starts with a
# copy of the host's names).
SANDBOX_HOSTNAME = b"sandbox"
SECCOMP_MODE_FILTER = 2
SYS_pivot_root, SYS_rt_sigaction, SYS_close_range = 155, 13, 436
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS = 1, 2, 0x20
VIOLATION_MAGIC = 0x5ECC0FF0
VIOLATION_EXIT = 159
SETUP_FAILED_EXIT = 121
PAGE = 4096
REPORT_PAGES = 8192  # one per live child; shared, so only pages in use are resident
REPORT = struct.Struct("<iI")
DECODER = json.JSONDecoder()


def check(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def mount(src, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    check(libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)), "mount %s" % target)


def preload(profile):
    """Imports, once here, what the children of this zygote will use: free in every child.

    Every child also inherits (in its RSS, and in the page tables each fork copies and each
    exit tears down) all the memory a preload keeps resident, so each profile preloads only
    what its children use. "user_code" (the zygote of artifact and contract executions):
    the standard modules tools commonly import; rarely used heavy ones are left to the
    children that import them (dataclasses, with inspect, ast, dis and tokenize, kept 0.8 MB
    resident in every child for ~11 ms saved in the few that import it). "agent" (the
    zygote of agent children, which run the agent runtime, not user code): only what the
    runtime imports; the user-code set (hashlib with libcrypto, decimal, statistics,
    typing, ...) would add about 1 MB to every agent's RSS for nothing.
    """
    if profile == "agent":
        # pkgutil (with re, typing, enum, weakref): runpy.run_path imports it to start the
        # entry script; imported here, its pages are shared instead of private to each agent.
        import pkgutil, random  # noqa: E401,F401
        return
    import collections, datetime, decimal, fractions, functools, hashlib, heapq, io, itertools  # noqa: E401,F401
    import math, operator, random, re, statistics, string, textwrap, time, typing  # noqa: E401,F401
    import bisect, copy, enum  # noqa: E401,F401


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def bpf_program(b64):
    """A seccomp program from the supervisor (compiled by libseccomp in Swift): the
    buffer (kept alive with the program) and the sock_fprog pointing at it."""
    raw = base64.b64decode(b64)
    buf = ctypes.create_string_buffer(raw, len(raw))
    return buf, SockFprog(len(raw) // 8, ctypes.addressof(buf))


def confine(capabilities, program):
    """Keeps only `capabilities` (effective and permitted; the inheritable, ambient and
    bounding sets empty: the zygote never execs), sets no_new_privs and installs `program`
    (a (buffer, sock_fprog) pair). Irreversible, and inherited by every process forked after."""
    if os.getuid() == 0:
        for cap in range(64):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                break
        mask = 0
        for cap in capabilities:
            mask |= 1 << cap
        # Only what this process has: capset cannot add to the permitted set, and a host
        # that withheld a capability (a container) already shows as a degraded layer.
        have = (CapData * 2)()
        check(libc.capget(ctypes.byref(CapHeader(LINUX_CAPABILITY_VERSION_3, 0)), have), "capget")
        mask &= have[0].permitted | (have[1].permitted << 32)
        data = (CapData * 2)(CapData(mask & 0xFFFFFFFF, mask & 0xFFFFFFFF, 0),
                             CapData(mask >> 32, mask >> 32, 0))
        check(libc.capset(ctypes.byref(CapHeader(LINUX_CAPABILITY_VERSION_3, 0)), data), "capset")
        check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities")
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(program[1]), 0, 0), "seccomp")


class KSigaction(ctypes.Structure):
    _fields_ = [("handler", ctypes.c_void_p), ("flags", ctypes.c_ulong),
                ("restorer", ctypes.c_void_p), ("mask", ctypes.c_ulong)]


def sigsys_handler_code(pointer_addr):
    """x86_64 machine code for handler(sig, siginfo *si, ctx): load the report address from
    pointer_addr (a private word the zygote sets before each fork, so every child has its own),
    store si->si_syscall and a magic word there (a page shared with the zygote), then
    exit_group(159). Async-signal-safe by construction: no libc, no Python."""
    return (b"\x8b\x46\x18"                                   # mov eax, [rsi+0x18]
            + b"\x48\xbf" + struct.pack("<Q", pointer_addr)   # movabs rdi, pointer_addr
            + b"\x48\x8b\x3f"                                 # mov rdi, [rdi]
            + b"\x89\x07"                                     # mov [rdi], eax
            + b"\xc7\x47\x04" + struct.pack("<I", VIOLATION_MAGIC)  # mov dword [rdi+4], magic
            + b"\xbf" + struct.pack("<I", VIOLATION_EXIT)     # mov edi, 159
            + b"\xb8\xe7\x00\x00\x00"                         # mov eax, 231 (exit_group)
            + b"\x0f\x05"                                     # syscall
            + b"\x0f\x0b")                                    # ud2


class Zygote:
    def __init__(self):
        self.ctrl = socket.socket(fileno=CTRL_FD)
        self.layers = {}
        self.warnings = []
        self.filters = {}
        self.children = {}  # pid -> (id, report page index)
        self.by_id = {}
        self.env = {}
        self.tmp_root = None
        self.can_trap = os.uname().machine == "x86_64"
        self.report_ptr = None  # the word the SIGSYS reporter reads its report address from
        self.report_scratch = 0  # where the reporter writes when the zygote itself traps
        self.null_fd = None
        # The children's report pages: one shared region, a page per live child. Each child
        # unmaps every page but its own (no child can write another's report).
        self.reports = mmap.mmap(-1, REPORT_PAGES * PAGE, flags=mmap.MAP_SHARED)
        self.reports_addr = ctypes.addressof(ctypes.c_char.from_buffer(self.reports))
        self.free_reports = list(range(REPORT_PAGES - 1, -1, -1))

    # --- start-up -------------------------------------------------------------------------

    def send(self, msg):
        self.ctrl.send(json.dumps(msg, separators=(",", ":")).encode())

    def init(self):
        data = self.ctrl.recv(1 << 20)
        cfg = json.loads(data)
        preload(cfg.get("preload", "user_code"))
        self.env = cfg.get("env", {})
        for kind, b64 in cfg["filters"].items():
            self.filters[kind] = bpf_program(b64)
        self.own_filter = bpf_program(cfg["zygote_filter"])
        self.waiter_filter = bpf_program(cfg["waiter_filter"])
        self.keep_capabilities = [int(c) for c in cfg.get("keep_capabilities", [])]
        # The supervisor's frame limit (limits.max_frame_bytes), so that children accept
        # and send every frame the supervisor does, whatever the config says.
        self.max_frame = int(cfg.get("max_frame_bytes", 1 << 20))
        want = cfg.get("namespaces", {})
        for name, flag in (("net", CLONE_NEWNET), ("ipc", CLONE_NEWIPC), ("uts", CLONE_NEWUTS),
                           ("mount", CLONE_NEWNS), ("pid", CLONE_NEWPID)):
            if want.get(name, True):
                ok = libc.unshare(flag) == 0
                self.layers[name] = ok
                if not ok:
                    self.warnings.append("%s namespace: %s" % (name, os.strerror(ctypes.get_errno())))
            else:
                self.layers[name] = False
        if self.layers.get("uts"):
            # The new uts namespace starts with the host's names: replace them.
            check(libc.sethostname(SANDBOX_HOSTNAME, len(SANDBOX_HOSTNAME)), "sethostname")
            check(libc.setdomainname(b"(none)", 6), "setdomainname")
        # A child unshares a cgroup namespace once in its slot: its /proc/self/cgroup then
        # reads "/", not the supervisor's cgroup path (which names the supervisor's pid).
        self.layers["cgroupns"] = bool(self.layers.get("mount")) and os.path.exists("/proc/self/ns/cgroup")
        if self.layers.get("pid"):
            self.become_pid1()
        if self.layers.get("mount"):
            try:
                self.build_root()
            except OSError as e:
                self.warnings.append("read-only root: %s" % e)
                self.layers["rootfs"] = False
            else:
                self.layers["rootfs"] = True
        # Without a root of their own the children see the host anyway: only then is the
        # host path of the scripts needed (to import them).
        base = SANDBOX_ROOT_DIR if self.layers.get("rootfs") else os.readlink("/proc/self/fd/%d" % SANDBOX_DIR_FD)
        os.close(SANDBOX_DIR_FD)
        self.import_scripts(base)
        if self.layers.get("net"):
            self.layers["net"] = self.no_interfaces_up()
        self.layers["seccomp_report"] = self.can_trap
        self.inheritable_setup()
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.wake_w)
        gc.collect()
        gc.freeze()
        # Give the C heap's free pages back (what start-up freed: compile buffers, the init
        # record, ...): every child inherits, and pays to copy and to tear down, the page
        # tables of everything resident here, and agents count it in their RSS.
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)
        # Last: from here on the zygote holds only what a child's setup needs, and every
        # child inherits its filter beneath the child's own.
        confine(self.keep_capabilities, self.own_filter)
        self.layers["zygote_confined"] = True
        self.send({"type": "ready", "pid": os.getpid(), "layers": self.layers, "warnings": self.warnings})

    def import_scripts(self, base):
        """The sandbox scripts the children run, imported from `base` (/sandbox inside the
        root) and found there by entry scripts' own imports too."""
        global wire, runner
        sys.path.insert(0, base)
        self.script_dir = base
        import wire as wire_module
        import runner as runner_module
        wire, runner = wire_module, runner_module
        wire.MAX_FRAME = self.max_frame

    def inheritable_setup(self):
        """Per-process state every child inherits through fork, set up once here instead
        of in each child (each step it saves is a few dozen copy-on-write faults per child):
        the scrubbed environment, a /dev/null descriptor and the SIGSYS reporter. (The
        capabilities, no_new_privs and the zygote's filter follow in `confine`.)"""
        os.environ.clear()
        os.environ.update(self.env)
        self.null_fd = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        if self.can_trap:
            # A private word holding the report address (set before each fork: copy-on-write
            # gives each child its own value), then the handler code, read+exec only.
            page = libc.mmap(None, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            if page in (None, ctypes.c_void_p(-1).value):
                raise OSError(ctypes.get_errno(), "mmap reporter pages")
            self.report_ptr = ctypes.c_uint64.from_address(page)
            self.report_scratch = page + 8
            self.report_ptr.value = self.report_scratch  # the zygote's own (a violation of its filter)
            code = sigsys_handler_code(page)
            ctypes.memmove(page + 4096, code, len(code))
            check(libc.mprotect(page + 4096, 4096, PROT_READ | PROT_EXEC), "mprotect")
            act = KSigaction(page + 4096, 0x4 | 0x04000000, page + 4096 + len(code) - 2, 0)  # SA_SIGINFO | SA_RESTORER
            check(libc.syscall(SYS_rt_sigaction, signal.SIGSYS, ctypes.byref(act), None, 8), "rt_sigaction")

    def become_pid1(self):
        """After unshare(CLONE_NEWPID) the next child is pid 1 of the new namespace: that
        child becomes the server; this process only waits for it (and cleans up)."""
        pid = os.fork()
        if pid:
            self.ctrl.close()
            signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
            # This process only waits: no capability, and a filter of a dozen syscalls. It
            # must never return into the server's start-up, even if confining fails.
            try:
                confine([], self.waiter_filter)
            except BaseException:
                os.kill(pid, signal.SIGKILL)
                os._exit(1)
            while True:
                try:
                    _, status = os.waitpid(pid, 0)
                    break
                except InterruptedError:
                    continue
            os._exit(os.waitstatus_to_exitcode(status) & 0xff)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def no_interfaces_up(self):
        """The fresh netns has only a down loopback; verify that nothing routes."""
        try:
            return sorted(n for _, n in socket.if_nameindex()) == ["lo"]
        except OSError:
            return True

    def build_root(self):
        """A tmpfs root with read-only binds of /usr (+ merged-usr links), a few /dev
        nodes, a copy of the sandbox scripts and a fresh /proc; then pivot_root and make /
        read-only."""
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        root = "/tmp/.ecology-sandbox-root"
        os.makedirs(root, exist_ok=True)
        mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=0755")
        for d in ("usr", "dev", "proc", "tmp", "sandbox", "etc", ".oldroot"):
            os.mkdir(os.path.join(root, d))
        os.chmod(os.path.join(root, "tmp"), 0o1777)

        def bind_ro(src, dst, nodev=True):
            mount(src, dst, None, MS_BIND | MS_REC)
            flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | (MS_NODEV if nodev else 0)
            mount(None, dst, None, flags)

        bind_ro("/usr", root + "/usr")
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = "/" + name
            if os.path.islink(host):
                os.symlink(os.readlink(host), os.path.join(root, name))
            elif os.path.isdir(host):
                os.mkdir(os.path.join(root, name))
                bind_ro(host, os.path.join(root, name))
        for node in ("null", "zero", "urandom", "random"):
            target = os.path.join(root, "dev", node)
            open(target, "w").close()
            mount("/dev/" + node, target, None, MS_BIND)
            mount(None, target, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC)
        # The scripts are copied, not bound: a bind mount's root is the host path of the
        # directory, and every child reads it in /proc/self/mountinfo.
        copy_tree(SANDBOX_DIR_FD, root + "/sandbox")
        if self.layers.get("pid"):
            mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
            mask_host_proc(root + "/proc", root + "/dev/null")
        os.chdir(root)
        check(libc.syscall(SYS_pivot_root, b".", b".oldroot"), "pivot_root")
        os.chdir("/")
        check(libc.umount2(b"/.oldroot", MNT_DETACH), "umount old root")
        os.rmdir("/.oldroot")
        mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)

    # --- serving --------------------------------------------------------------------------

    def serve(self):
        poller = select.poll()
        poller.register(CTRL_FD, select.POLLIN)
        poller.register(self.wake_r, select.POLLIN)
        while True:
            try:
                events = poller.poll()
            except InterruptedError:
                continue
            for fd, _ in events:
                if fd == self.wake_r:
                    try:
                        while os.read(self.wake_r, 256):
                            pass
                    except BlockingIOError:
                        pass
                    self.reap()
                elif fd == CTRL_FD:
                    self.control()
            self.reap()

    def control(self):
        try:
            data, fds, _, _ = socket.recv_fds(self.ctrl, 1 << 16, 64)
        except InterruptedError:
            return
        if not data:
            self.shutdown()
        # raw_decode: the C scanner without json.loads' wrappers (fewer zygote pages touched,
        # and each page the zygote touches after a fork is copied: that is most of its cost).
        msg = DECODER.raw_decode(data.decode())[0]
        t = msg.get("type")
        if t == "spawn":
            # The zygote keeps no descriptor beyond the spawn: every fork copies its whole fd
            # table and every child closes it again.
            self.spawn(msg, fds)
            for fd in fds:
                os.close(fd)
        elif t == "kill":
            pid = self.by_id.get(msg["id"])
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                except OSError:
                    # e.g. EPERM without CAP_KILL: keep serving (an `error` record would tell the
                    # supervisor the child had ended; its wall deadline and cgroup kill remain).
                    pass
        else:
            for fd in fds:
                os.close(fd)
            self.send({"type": "error", "id": msg.get("id"), "message": "unknown control message %r" % t})

    def shutdown(self):
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass  # they die with pid 1 anyway
        os._exit(0)

    def spawn(self, msg, fds):
        """fds: the child's cgroup slot's `cgroup.procs` files (`cgroup_fds` of them)."""
        cid = msg.get("id")
        if type(cid) is not int or msg.get("kind") not in self.filters:
            self.send({"type": "error", "id": cid, "message": "spawn needs an integer id and a known kind"})
            return
        if msg.get("cgroup_fds", 0) != len(fds):
            # A short SCM_RIGHTS list would start the child outside its cgroup: refuse.
            self.send({"type": "error", "id": cid, "message": "spawn carried %d cgroup.procs fds, expected %r"
                       % (len(fds), msg.get("cgroup_fds", 0))})
            return
        if not self.free_reports:
            self.send({"type": "error", "id": cid, "message": "too many live children (%d)" % REPORT_PAGES})
            return
        # The child's socket is made here, in the children's network namespace: a socket
        # answers socket ioctls (SIOCGIFCONF, SIOCGIFHWADDR, ...) about the namespace it was
        # made in, so one made by the supervisor would describe the host's interfaces.
        try:
            pair = _socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError as e:
            self.send({"type": "error", "id": cid, "message": "socketpair failed: %s" % e})
            return
        supervisor_fd, sock_fd = pair[0].detach(), pair[1].detach()
        page = self.free_reports.pop()
        if self.report_ptr is not None:
            self.report_ptr.value = self.reports_addr + page * PAGE  # the child's reporter writes here
        try:
            pid = os.fork()
        except OSError as e:
            self.free_reports.append(page)
            os.close(supervisor_fd)
            os.close(sock_fd)
            self.send({"type": "error", "id": cid, "message": "fork failed: %s" % e})
            return
        if pid == 0:
            child_main(self, msg, sock_fd, fds, page)
        if self.report_ptr is not None:
            self.report_ptr.value = self.report_scratch
        os.close(sock_fd)
        self.children[pid] = (cid, page)
        self.by_id[cid] = pid
        # Records of integers are formatted directly: json.dumps would touch (copy) far more pages.
        data = b'{"type":"spawned","id":%d,"pid":%d}' % (cid, pid)
        rights = (socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", supervisor_fd))
        try:  # SCM_CREDENTIALS carries the pid; the kernel translates it into the supervisor's namespace
            self.ctrl.sendmsg([data], [rights, (socket.SOL_SOCKET, socket.SCM_CREDENTIALS, struct.pack("iII", pid, 0, 0))])
        except OSError:
            try:
                self.ctrl.sendmsg([data], [rights])
            except OSError:
                pass  # the supervisor is gone; the child sees EOF on its socket
        os.close(supervisor_fd)

    def reap(self):
        while True:
            try:
                pid, status, ru = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            except InterruptedError:
                continue
            if pid == 0:
                return
            entry = self.children.pop(pid, None)
            if entry is None:
                continue  # an orphan re-parented to pid 1
            cid, page = entry
            self.by_id.pop(cid, None)
            off = page * PAGE
            nr, magic = REPORT.unpack_from(self.reports, off)
            REPORT.pack_into(self.reports, off, 0, 0)
            self.free_reports.append(page)
            out = b'{"type":"exited","id":%d,"pid":%d,"utime_us":%d,"stime_us":%d,"maxrss_kb":%d' % (
                cid, pid, int(ru.ru_utime * 1e6), int(ru.ru_stime * 1e6), ru.ru_maxrss)
            if os.WIFSIGNALED(status):
                out += b',"signal":%d' % os.WTERMSIG(status)
            else:
                out += b',"exit_code":%d' % os.WEXITSTATUS(status)
            if magic == VIOLATION_MAGIC:
                out += b',"syscall":%d' % nr
            try:
                self.ctrl.send(out + b"}")
            except (BrokenPipeError, ConnectionResetError):
                self.shutdown()  # the supervisor is gone: nobody is left to report to


# Files and directories of /proc that describe the host rather than the child and that any
# uid may read: the kernel command line, disks and partitions, modules, devices and
# interrupts, uids holding keys, timer lists, sysctls (the host's boot id, core_pattern,
# ...), bus, irq, driver and filesystem details. Masked like a container runtime does:
# /dev/null over a file, an empty read-only tmpfs over a directory. Files only root may
# read (kcore, kmsg, slabinfo, ...) are unreadable to children anyway, and each mask is a
# mount every child's mount namespace copies, so they are left alone. cpuinfo, meminfo,
# loadavg, uptime, stat and version stay (accepted: docs/SANDBOX.md).
MASKED_PROC_FILES = ("cmdline", "partitions", "diskstats", "swaps", "modules", "devices", "interrupts",
                     "key-users", "timer_list", "sched_debug", "config.gz", "mdstat")
MASKED_PROC_DIRS = ("sys", "fs", "bus", "irq", "driver", "acpi", "scsi", "tty")


def mask_host_proc(proc, null):
    for name in MASKED_PROC_FILES:
        target = os.path.join(proc, name)
        if os.path.isfile(target):
            mount(null, target, None, MS_BIND)
            mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name in MASKED_PROC_DIRS:
        target = os.path.join(proc, name)
        if os.path.isdir(target) and not os.path.islink(target):
            mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=1,mode=0555")


def copy_tree(src_fd, dst):
    """Copies the sandbox scripts (without bytecode caches or hidden files) from the
    directory open as `src_fd` into the root, by descriptor: no host path is ever formed."""
    for entry in os.scandir(src_fd):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        target = os.path.join(dst, entry.name)
        if entry.is_dir(follow_symlinks=False):
            os.mkdir(target, 0o755)
            sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=src_fd)
            try:
                copy_tree(sub, target)
            finally:
                os.close(sub)
        elif entry.is_file(follow_symlinks=False):
            fd = os.open(entry.name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=src_fd)
            with open(fd, "rb") as f, open(target, "wb") as out:
                out.write(f.read())
            os.chmod(target, 0o644)


def child_main(z, msg, sock_fd, procs, page):
    """In the forked child: finish the sandbox, then run. Never returns."""
    try:
        setup_child(z, msg, sock_fd, procs, page)
    except BaseException as e:  # report the failed layer on the socket, then die
        try:
            wire.send({"type": "result", "id": 0, "response": {"ok": False, "error": {
                "code": "INTERNAL", "message": "sandbox setup failed: %s" % e,
                "details": {"traceback": traceback.format_exc()[-2000:]}, "retry_after": None}}}, fd=3)
        finally:
            os._exit(SETUP_FAILED_EXIT)
    try:
        entry = msg.get("entry")
        if entry:
            base = z.script_dir  # on sys.path: entry scripts import their siblings (e.g. an `agent` package)
            sys.argv = [entry]
            runpy.run_path(os.path.join(base, entry), run_name="__main__")
        else:
            runner.main(msg.get("kind"))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0
    except BaseException:
        code = 1
    os._exit(code)


def setup_child(z, msg, sock_fd, procs, page):
    # The socket goes to fd 3 first (replacing this process's copy of the control socket),
    # so that even a failed setup reports on the child's own socket.
    if sock_fd != 3:
        os.dup2(sock_fd, 3)
        os.close(sock_fd)
    os.set_inheritable(3, False)
    # _signal, not signal: the enum wrappers would touch (and copy) many more zygote pages.
    _signal.set_wakeup_fd(-1)
    _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
    # Report pages: keep only this child's own.
    if page > 0:
        check(libc.munmap(z.reports_addr, page * PAGE), "munmap reports")
    if page < REPORT_PAGES - 1:
        check(libc.munmap(z.reports_addr + (page + 1) * PAGE, (REPORT_PAGES - 1 - page) * PAGE), "munmap reports")
    kind = msg["kind"]
    # cgroup: the supervisor passed this slot's cgroup.procs fds with the spawn; "0" means
    # "me". They are closed with everything else below.
    for fd in procs:
        os.write(fd, b"0")
    # Namespaces: a private mount namespace with a fresh size-capped /tmp, and a cgroup
    # namespace rooted at the slot just joined (so /proc/self/cgroup reads "/").
    if z.layers.get("mount"):
        check(libc.unshare(CLONE_NEWNS | (CLONE_NEWCGROUP if z.layers.get("cgroupns") else 0)), "unshare(mount)")
        tmp_bytes = int(msg.get("tmp_bytes", 0))
        if tmp_bytes > 0:
            mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "size=%d,mode=1777,nr_inodes=4096" % tmp_bytes)
    os.setsid()
    libc.prctl(PR_SET_PDEATHSIG, _signal.SIGKILL, 0, 0, 0)
    # Descriptors: /dev/null on 0-2, the socket on 3, nothing else.
    for fd in (0, 1, 2):
        os.dup2(z.null_fd, fd)
    if libc.syscall(SYS_close_range, 4, 0xFFFFFFFF, 0) != 0:
        os.closerange(4, 65536)
    # rlimits (after the descriptors are gone, so RLIMIT_NOFILE counts only the child's own)
    lim = msg.get("rlimits", {})
    if lim.get("cpu_seconds"):
        resource.setrlimit(resource.RLIMIT_CPU, (lim["cpu_seconds"], lim["cpu_seconds"] + 1))
    for name, key in (("RLIMIT_NOFILE", "open_files"), ("RLIMIT_FSIZE", "file_size_bytes"),
                      ("RLIMIT_CORE", "core_bytes"), ("RLIMIT_NPROC", "processes"),
                      ("RLIMIT_AS", "address_space_bytes"), ("RLIMIT_MEMLOCK", "memlock_bytes")):
        if key in lim:
            resource.setrlimit(getattr(resource, name), (lim[key], lim[key]))
    # Inherited from the zygote (`inheritable_setup`): the policy's environment, the empty
    # bounding set and the SIGSYS reporter (seccomp TRAP -> handler -> syscall number into
    # this child's report page, whose address the zygote stored for it before the fork).
    # Identity: leave root (which drops every capability).
    uid = int(msg.get("uid", 65534))
    gid = int(msg.get("gid", 65534))
    if os.getuid() == 0:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _, prog = z.filters[kind]
    check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0), "seccomp")


if __name__ == "__main__":
    # A session of its own, before anything forks: the terminal's job-control signals
    # (Ctrl-C's SIGINT, Ctrl-\'s SIGQUIT, Ctrl-Z's SIGTSTP) go to the foreground process
    # group, which the supervisor shares with whatever it posix_spawns. The supervisor
    # alone decides when the sandbox stops (it closes this control socket); a zygote or
    # child that got the terminal's SIGINT would die on its own, printing a traceback.
    # Every process this one forks (pid 1 of the namespace, every child) is in this
    # session too, so none of them can be signalled from the terminal either.
    os.setsid()
    # Everything but the control socket (3) and the sandbox directory (5); fd 4 (this
    # script) is closed by the bootstrap.
    if libc.syscall(SYS_close_range, SANDBOX_DIR_FD + 1, 0xFFFFFFFF, 0) != 0:
        os.closerange(SANDBOX_DIR_FD + 1, 65536)
    z = Zygote()
    z.init()
    z.serve()
