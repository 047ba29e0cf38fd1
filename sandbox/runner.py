"""Runs one artifact or contract execution inside a sandboxed child.

Protocol (docs/PROTOCOL.md): read the `execute` frame (id 0), run the code, answer with a
`result` frame (id 0). Kernel calls from the code travel as `call` frames and wait for the
matching `reply`; an error reply raises KernelCallError carrying the error code.
"""
import io
import json
import sys
import traceback

import wire

TRACEBACK_LIMIT = 4000
STDOUT_LIMIT = 4000


class KernelCallError(Exception):
    """A kernel call answered with an error envelope."""

    def __init__(self, code, message, details=None, retry_after=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after


class _Bounded(io.TextIOBase):
    """stdout/stderr of user code: keeps the first STDOUT_LIMIT characters."""

    def __init__(self):
        self.parts = []
        self.size = 0

    def writable(self):
        return True

    def write(self, s):
        if self.size < STDOUT_LIMIT:
            self.parts.append(s[: STDOUT_LIMIT - self.size])
            self.size += len(self.parts[-1])
        return len(s)

    def text(self):
        return "".join(self.parts)


class _Kernel:
    def __init__(self, allowed):
        self.allowed = allowed
        self.next_id = 0

    def call(self, action, params):
        if not self.allowed:
            raise KernelCallError("ACCESS_DENIED", "contracts are pure: kernel calls are refused")
        self.next_id += 1
        cid = self.next_id
        wire.send({"type": "call", "id": cid, "action": action, "params": params})
        msg = wire.recv()
        if msg.get("type") != "reply" or msg.get("id") != cid:
            raise wire.ProtocolError("expected reply %d, got %r" % (cid, msg.get("type")))
        resp = msg.get("response") or {}
        if resp.get("ok") is True:
            return resp.get("result")
        err = resp.get("error") or {}
        raise KernelCallError(err.get("code", "INTERNAL"), err.get("message", ""),
                              err.get("details"), err.get("retry_after"))


class _Service:
    """`ledger.balance(...)` is `invoke("genesis_ledger", "balance", ...)`."""

    def __init__(self, invoke, artifact_id):
        self._invoke = invoke
        self._artifact_id = artifact_id

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *args: self._invoke(self._artifact_id, method, *args)


def _api(kernel, depth):
    def kernel_call(action, **params):
        return kernel.call(action, params)

    def invoke(artifact_id, method, *args):
        return kernel.call("invoke", {"artifact_id": artifact_id, "method": method, "args": list(args)})

    def read(artifact_id):
        return kernel.call("read", {"artifact_id": artifact_id})

    def write(artifact_id, content=None, **fields):
        params = dict(fields, artifact_id=artifact_id)
        if content is not None:
            params["content"] = content
        return kernel.call("write", params)

    def edit(artifact_id, **fields):
        return kernel.call("edit", dict(fields, artifact_id=artifact_id))

    def delete(artifact_id):
        return kernel.call("delete", {"artifact_id": artifact_id})

    return {
        "kernel_call": kernel_call, "invoke": invoke, "read": read, "write": write, "edit": edit,
        "delete": delete, "KernelCallError": KernelCallError,
        "ledger": _Service(invoke, "genesis_ledger"), "store": _Service(invoke, "genesis_store"),
        "escrow": _Service(invoke, "genesis_escrow"), "mint": _Service(invoke, "genesis_mint"),
        "event_log": _Service(invoke, "genesis_event_log"), "debt": _Service(invoke, "genesis_debt"),
        "rights": _Service(invoke, "genesis_rights_registry"),
    }


def _error(code, message, **details):
    return {"ok": False, "error": {"code": code, "message": message, "details": details or None, "retry_after": None}}


def _trimmed_traceback():
    tb = traceback.format_exc()
    return tb if len(tb) <= TRACEBACK_LIMIT else "...\n" + tb[-TRACEBACK_LIMIT:]


def _prepare(kind):
    """What an execution of `kind` needs before its code runs: the kernel proxy and the API."""
    kernel = _Kernel(allowed=(kind != "contract"))
    return kind, _api(kernel, 0)


def _warm_up():
    """Runs, before the execute frame arrives, the interpreter paths every execution takes
    (compile, exec, a call, JSON both ways), so the copy-on-write faults they cause on the
    zygote's pages are taken while a child forked ahead of time waits, not during the call.
    Everything it creates is discarded; the child is still fresh for its one execution."""
    env = {"__name__": "warm_up", "__builtins__": __builtins__}
    exec(compile("def f(x, *a):\n    return {'x': [x + 1, a, 0.5, None, True]}\n", "<warm-up>", "exec"), env)
    value = env["f"](1, "s")
    text = json.dumps({"ok": True, "result": value}, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    json.loads(text.encode("utf-8").decode("utf-8"))


def _execute(msg, out, prepared):
    kind = msg.get("kind")
    code = msg.get("code", "")
    method = msg.get("method", "")
    args = msg.get("args", [])
    max_output = int(msg.get("max_output_bytes", wire.MAX_FRAME - 1024))
    artifact_id = msg.get("artifact_id", "?")
    _, api = prepared if prepared[0] == kind else _prepare(kind)
    env = {"__name__": "artifact", "__builtins__": __builtins__,
           "CALLER": msg.get("caller"), "DEPTH": msg.get("depth", 0), "ARTIFACT_ID": artifact_id}
    env.update(api)
    try:
        exec(compile(code, "<artifact %s>" % artifact_id, "exec"), env)
        fn = env.get(method)
        if not callable(fn) or method.startswith("_"):
            return _error("EXECUTION_ERROR", "artifact %s defines no function %r" % (artifact_id, method))
        value = fn(*args)
    except KernelCallError as e:
        return _error("EXECUTION_ERROR", "uncaught kernel error %s: %s" % (e.code, e.message),
                      kernel_error=e.code, traceback=_trimmed_traceback(), stdout=out.text())
    except wire.ProtocolError:
        raise
    except MemoryError:
        return _error("OUT_OF_MEMORY", "the code ran out of memory")
    except BaseException as e:  # user code may raise anything, SystemExit included
        return _error("EXECUTION_ERROR", "%s: %s" % (type(e).__name__, str(e)[:500]),
                      traceback=_trimmed_traceback(), stdout=out.text())
    if kind == "contract":
        if not isinstance(value, dict) or not isinstance(value.get("allowed"), bool):
            return _error("EXECUTION_ERROR", "check_permission must return {\"allowed\": bool, \"reason\": str}")
        value = {"allowed": value["allowed"], "reason": str(value.get("reason", ""))}
    try:
        encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        return _error("EXECUTION_ERROR", "result is not JSON-serialisable: %s" % e)
    # A courtesy (a clear message without sending the bytes): the supervisor measures the
    # result it receives itself (ExecutionLimits.resultError), whatever this code did.
    if len(encoded.encode("utf-8")) > max_output:
        return _error("EXECUTION_ERROR", "result of %d bytes exceeds the output limit of %d bytes"
                      % (len(encoded.encode("utf-8")), max_output), limit="output")
    return {"ok": True, "result": value}


def main(kind=None):
    """Entry point in the sandboxed child (after the zygote's setup). `kind` is the child kind
    the zygote forked it as; a child forked ahead of time prepares for it while it waits."""
    prepared = _prepare(kind)
    _warm_up()
    out = _Bounded()
    sys.stdout = sys.stderr = out
    msg = wire.recv()
    if msg.get("type") != "execute":
        raise wire.ProtocolError("expected execute, got %r" % msg.get("type"))
    response = _execute(msg, out, prepared)
    wire.send({"type": "result", "id": 0, "response": response})
