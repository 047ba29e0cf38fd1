"""The agent child's runtime: the kernel-call client on fd 3 and the main loop.

Protocol (frames of sandbox/wire.py on the inherited socket):
  supervisor -> child  {"type":"start","id":0,"agent_id","mind","prompt","seed","model"?,...}
  child -> supervisor  {"type":"call","id":N,"action":A,"params":{...}}
  supervisor -> child  {"type":"reply","id":N,"response":{"ok":true,"result":...} | {"ok":false,"error":{...}}}
  child -> supervisor  {"type":"trace","kind":K,"data":{...}}   (no id, no reply)
Calls are strictly one at a time. When the supervisor closes the socket the child
exits 0; an uncaught exception is traced (kind "crash") and the child exits 1, so
the supervisor restarts it with backoff.
"""
import gc
import json
import sys
import traceback

import wire

TRACE_TEXT_LIMIT = 2000
# Every few steps the loop hands freed malloc pages back to the kernel (and less often
# collects garbage cycles first): replies of very different sizes (a 20-event observe,
# a one-line balance) leave freed holes in the heap that would otherwise stay resident
# for the agent's whole life. Measured at 200 agents: about 1.7 MB less RSS per agent.
TRIM_EVERY_STEPS = 4
COLLECT_EVERY_STEPS = 64
EXIT_CLEAN, EXIT_CRASH, EXIT_PROTOCOL = 0, 1, 2


class SocketClosed(Exception):
    """The supervisor closed the socket: the child's life is over, cleanly."""


class Reply:
    """One response envelope: `ok` and `result`, or the error's code, message, details, retry_after."""

    __slots__ = ("ok", "result", "code", "message", "details", "retry_after")

    def __init__(self, envelope):
        envelope = envelope if isinstance(envelope, dict) else {}
        self.ok = envelope.get("ok") is True
        self.result = envelope.get("result") if self.ok else None
        err = envelope.get("error") if not self.ok else None
        err = err if isinstance(err, dict) else {}
        self.code = None if self.ok else str(err.get("code") or "PROTOCOL_ERROR")
        self.message = "" if self.ok else str(err.get("message") or "malformed envelope")
        self.details = err.get("details")
        ra = err.get("retry_after")
        self.retry_after = float(ra) if isinstance(ra, (int, float)) and not isinstance(ra, bool) else None

    def envelope(self):
        if self.ok:
            return {"ok": True, "result": self.result}
        return {"ok": False, "error": {"code": self.code, "message": self.message, "details": self.details,
                                       "retry_after": self.retry_after}}

    def __repr__(self):
        return "Reply(ok)" if self.ok else "Reply(%s: %s)" % (self.code, self.message[:80])


class Kernel:
    """The child's only door to the world: kernel calls over the socket, one at a time."""

    def __init__(self, fd=wire.SOCK_FD):
        self.fd = fd
        self.next_id = 0

    def _send(self, msg):
        try:
            wire.send(msg, fd=self.fd)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise SocketClosed(str(e))

    def _recv(self):
        try:
            return wire.recv(fd=self.fd)
        except ConnectionResetError as e:
            raise SocketClosed(str(e))
        except wire.ProtocolError as e:
            if str(e) == "socket closed":
                raise SocketClosed(str(e))
            raise

    def receive_start(self):
        msg = self._recv()
        if msg.get("type") != "start":
            raise wire.ProtocolError("expected a start frame, got %r" % msg.get("type"))
        return msg

    def call(self, action, params=None):
        """Performs one action and returns its Reply; error envelopes are values, not exceptions."""
        self.next_id += 1
        cid = self.next_id
        self._send({"type": "call", "id": cid, "action": action, "params": params or {}})
        while True:
            msg = self._recv()
            if msg.get("type") == "reply" and msg.get("id") == cid:
                return Reply(msg.get("response"))
            if msg.get("type") == "reply":
                raise wire.ProtocolError("reply %r while waiting for %d" % (msg.get("id"), cid))
            # Any other frame (a future notice from the supervisor) is not an answer: skip it.

    def invoke(self, artifact_id, method, *args):
        return self.call("invoke", {"artifact_id": artifact_id, "method": method, "args": list(args)})

    def sleep(self, seconds=None, event=None, balance=None):
        params = {}
        if seconds is not None:
            params["seconds"] = round(float(seconds), 3)
        if event:
            params["event"] = event
        if balance:
            params["balance"] = balance
        return self.call("sleep", params)

    def trace(self, kind, data):
        self._send({"type": "trace", "kind": kind, "data": bounded(data)})


def bounded(value, limit=TRACE_TEXT_LIMIT, depth=0):
    """A JSON-safe copy with long strings cut and deep nesting flattened, so traces stay small."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "…"
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if depth > 6:
        return bounded(json.dumps(value, default=str), limit)
    if isinstance(value, dict):
        return {str(k): bounded(v, limit, depth + 1) for k, v in list(value.items())[:50]}
    if isinstance(value, (list, tuple)):
        return [bounded(v, limit, depth + 1) for v in list(value)[:50]]
    return bounded(str(value), limit)


def make_mind(kernel, start):
    mind = str(start.get("mind") or "heuristic")
    if mind == "llm":
        from agent.llm_mind import LLMMind
        return LLMMind(kernel, start)
    if mind == "heuristic":
        from agent.heuristic import HeuristicMind
        return HeuristicMind(kernel, start)
    if mind.startswith("adversary:"):
        from agent.adversaries import make_adversary
        return make_adversary(kernel, start, mind[len("adversary:"):])
    raise ValueError("unknown mind %r (expected heuristic, llm or adversary:KIND)" % mind)


def run(fd=wire.SOCK_FD, max_steps=None):
    """Receives the start frame, then runs the mind until the socket closes. Returns the exit code."""
    kernel = Kernel(fd)
    try:
        start = kernel.receive_start()
        mind = make_mind(kernel, start)
        mind.boot()
        steps = 0
        while max_steps is None or steps < max_steps:
            mind.step()
            steps += 1
            if steps % TRIM_EVERY_STEPS == 0:
                release_free_memory(collect=steps % COLLECT_EVERY_STEPS == 0)
        return EXIT_CLEAN
    except SocketClosed:
        return EXIT_CLEAN
    except wire.ProtocolError as e:
        _report(kernel, "protocol", e)
        return EXIT_PROTOCOL
    except Exception as e:  # noqa: BLE001 - anything else is a bug: trace it, exit non-zero, get restarted
        _report(kernel, "crash", e)
        return EXIT_CRASH


_malloc_trim = None


def release_free_memory(collect=True):
    """Returns free malloc pages to the kernel (glibc), after collecting cycles if asked."""
    global _malloc_trim
    if collect:
        gc.collect()
    if _malloc_trim is None:
        try:
            import ctypes
            _malloc_trim = ctypes.CDLL(None).malloc_trim
        except (ImportError, OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


def _report(kernel, kind, error):
    try:
        kernel.trace(kind, {"error": "%s: %s" % (type(error).__name__, error),
                            "traceback": traceback.format_exc()[-TRACE_TEXT_LIMIT:]})
    except (SocketClosed, OSError, wire.ProtocolError):
        pass  # the socket is gone too; the exit code tells the rest


def main():
    """Entry point of sandbox/agent_main.py (the socket is fd 3)."""
    code = run()
    sys.stdout.flush()
    return code
