"""The runtime's framing on the socket, one call at a time, and how the child ends."""
import os
import socket
import struct
import subprocess
import sys
import threading
import unittest

import wire
from agent import runtime
from tests.fake_supervisor import FakeSupervisor
from tests.fake_world import FakeWorld

SANDBOX = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class AgentThread:
    """runtime.run on a thread, with the test holding the supervisor's end of the socket."""

    def __init__(self):
        self.ours, self.theirs = socket.socketpair()
        self.code = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.code = runtime.run(fd=self.theirs.fileno())

    def start(self, **fields):
        msg = {"type": "start", "id": 0, "agent_id": "alpha", "mind": "heuristic", "prompt": "p", "seed": 1}
        msg.update(fields)
        wire.send(msg, fd=self.ours.fileno())
        self.thread.start()
        return self

    def recv(self):
        return wire.recv(fd=self.ours.fileno())

    def recv_call(self):
        while True:
            msg = self.recv()
            if msg.get("type") != "trace":
                return msg

    def reply(self, cid, response):
        wire.send({"type": "reply", "id": cid, "response": response}, fd=self.ours.fileno())

    def close_and_wait(self):
        self.ours.shutdown(socket.SHUT_RDWR)
        self.ours.close()
        self.thread.join(10)
        self.theirs.close()
        return self.code


class RuntimeTests(unittest.TestCase):
    def test_calls_are_framed_numbered_and_answered_one_at_a_time(self):
        a = AgentThread().start()
        first = a.recv_call()
        self.assertEqual(first["type"], "call")
        self.assertEqual(first["id"], 1)
        self.assertEqual(first["action"], "invoke")
        self.assertEqual(first["params"], {"artifact_id": "genesis_store", "method": "get_metadata", "args": ["alpha"]})
        # A reply split across writes, byte by byte, is still one frame.
        body = b'{"type":"reply","id":1,"response":{"ok":true,"result":{"created_by":"genesis"}}}'
        for b in struct.pack(">I", len(body)) + body:
            os.write(a.ours.fileno(), bytes([b]))
        busy = {"ok": False, "error": {"code": "INTERNAL", "message": "db busy", "details": None, "retry_after": None}}
        # The heuristic mind's boot: the roster, its own artifacts, its first firm; errors do not stop it.
        for n, method in ((2, "list_agents"), (3, "list_by_owner"), (4, "get_metadata")):
            call = a.recv_call()
            self.assertEqual((call["id"], call["action"], call["params"]["method"]), (n, "invoke", method))
            a.reply(n, busy)
        last = a.recv_call()
        self.assertEqual((last["id"], last["action"]), (5, "observe"))
        self.assertEqual(a.close_and_wait(), runtime.EXIT_CLEAN)

    def test_exits_cleanly_when_the_socket_closes_while_waiting_for_a_reply(self):
        a = AgentThread().start()
        a.recv_call()
        self.assertEqual(a.close_and_wait(), 0)

    def test_exits_cleanly_when_the_socket_closes_before_start(self):
        ours, theirs = socket.socketpair()
        ours.close()
        self.assertEqual(runtime.run(fd=theirs.fileno()), 0)
        theirs.close()

    def test_an_uncaught_exception_is_traced_then_exits_non_zero(self):
        a = AgentThread().start(mind="telepathy")
        trace = a.recv()
        self.assertEqual(trace["type"], "trace")
        self.assertEqual(trace["kind"], "crash")
        self.assertIn("unknown mind 'telepathy'", trace["data"]["error"])
        self.assertIn("Traceback", trace["data"]["traceback"])
        self.assertEqual(a.close_and_wait(), runtime.EXIT_CRASH)

    def test_a_reply_with_the_wrong_id_is_a_protocol_error(self):
        a = AgentThread().start()
        call = a.recv_call()
        a.reply(call["id"] + 5, {"ok": True, "result": {}})
        trace = a.recv()
        self.assertEqual(trace["kind"], "protocol")
        self.assertEqual(a.close_and_wait(), runtime.EXIT_PROTOCOL)

    def test_a_first_frame_that_is_not_start_is_a_protocol_error(self):
        ours, theirs = socket.socketpair()
        wire.send({"type": "reply", "id": 0}, fd=ours.fileno())
        self.assertEqual(runtime.run(fd=theirs.fileno()), runtime.EXIT_PROTOCOL)
        ours.close()
        theirs.close()

    def test_malformed_envelopes_become_error_replies_not_crashes(self):
        r = runtime.Reply("nonsense")
        self.assertFalse(r.ok)
        self.assertEqual(r.code, "PROTOCOL_ERROR")
        r = runtime.Reply({"ok": False, "error": {"code": "RATE_LIMITED", "message": "m", "retry_after": 2}})
        self.assertEqual((r.code, r.retry_after), ("RATE_LIMITED", 2.0))
        self.assertEqual(runtime.Reply({"ok": True, "result": [1]}).result, [1])

    def test_traces_are_bounded(self):
        data = runtime.bounded({"s": "x" * 10000, "n": float("nan"), "deep": [[[[[[[[1]]]]]]]], "t": (1, 2)})
        self.assertLessEqual(len(data["s"]), runtime.TRACE_TEXT_LIMIT + 1)
        self.assertEqual(data["n"], "nan")
        self.assertEqual(data["t"], [1, 2])

    def test_entry_script_runs_as_a_process_with_the_socket_on_fd_3(self):
        """sandbox/agent_main.py as the zygote runs it (runpy, fd 3): talks, then exits 0 on close."""
        world = FakeWorld()
        sup = FakeSupervisor(world, max_calls=40)
        boot = ("import os,sys,runpy; os.dup2(int(sys.argv[1]), 3); os.close(int(sys.argv[1])); "
                "runpy.run_path(sys.argv[2], run_name='__main__')")
        proc = subprocess.Popen([sys.executable, "-c", boot, str(sup.theirs.fileno()),
                                 os.path.join(SANDBOX, "agent_main.py")],
                                pass_fds=(sup.theirs.fileno(),), cwd="/", env={"PATH": "/usr/bin:/bin"})
        sup.theirs.close()
        sup.start()
        sup.thread.join(30)
        self.assertEqual(proc.wait(30), 0)
        self.assertEqual(len(sup.calls), 40)
        self.assertEqual(sup.unexpected, [])
        self.assertTrue(any(t["kind"] == "decision" for t in sup.traces))


if __name__ == "__main__":
    unittest.main()
