"""A test agent for the EcologySupervisor integration tests: runs a fixed program.

The program is the agent's `prompt` (its artifact content), a JSON list of steps run in
order; each step is an object with one of:
  {"call": ACTION, "params": {...}}   one kernel call (e.g. "sleep", "invoke", "llm")
  {"burn": SECONDS}                   burn that much CPU time in this process
  {"exit": CODE}                      exit with CODE (a crash when non-zero)
  {"partial_frame": true}             send a frame's length prefix and a few of its bytes,
                                      then sleep for good (a child killed mid-frame)
  {"raw": HEX}                        write these bytes to the socket as they are (a
                                      malformed frame), then wait for the socket to close
  {"flood": N, "action": A}           send N calls of A without reading a reply, then read
                                      the N replies; the step's reply is {"ids": [...]} in
                                      the order they came, {"ok": all of them ok}
and, optionally, "report": TOPIC: publish a custom event on TOPIC with
{"step": i, "reply": <the call's envelope>} (or {"step": i} for burn) once the step is done.
After the last step the agent sleeps for good (one long sleep at a time), so it makes
no calls the test did not ask for. The supervisor closing the socket ends it with 0.

It uses only sandbox/wire.py (not the agent package), so it is independent of the minds.
"""
import json
import os
import struct
import time

import wire


class Closed(Exception):
    pass


def call(state, action, params):
    state["id"] += 1
    cid = state["id"]
    try:
        wire.send({"type": "call", "id": cid, "action": action, "params": params})
        while True:
            msg = wire.recv()
            if msg.get("type") == "reply" and msg.get("id") == cid:
                return msg.get("response") or {}
    except (wire.ProtocolError, BrokenPipeError, ConnectionResetError) as e:
        raise Closed(str(e))


def flood(state, n, action):
    first = state["id"] + 1
    try:
        for _ in range(n):
            state["id"] += 1
            wire.send({"type": "call", "id": state["id"], "action": action, "params": {}})
        ids, ok = [], True
        while len(ids) < n:
            msg = wire.recv()
            if msg.get("type") == "reply" and first <= msg.get("id", 0) <= state["id"]:
                ids.append(msg["id"])
                ok = ok and bool((msg.get("response") or {}).get("ok"))
        return {"ids": ids, "ok": ok}
    except (wire.ProtocolError, BrokenPipeError, ConnectionResetError) as e:
        raise Closed(str(e))


def burn(seconds):
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass


def main():
    state = {"id": 0}
    try:
        start = wire.recv()
    except wire.ProtocolError:
        return 0
    try:
        program = json.loads(start.get("prompt") or "[]")
    except ValueError:
        program = []
    try:
        for i, step in enumerate(program):
            reply = None
            if "exit" in step:
                return int(step["exit"])
            if step.get("partial_frame"):
                os.write(3, struct.pack(">I", 256) + b'{"type":')
                while True:
                    time.sleep(3600)
            if "raw" in step:
                os.write(3, bytes.fromhex(step["raw"]))
                try:
                    while wire.recv() is not None:
                        pass
                except (wire.ProtocolError, OSError):
                    pass
                return 0
            if "flood" in step:
                reply = flood(state, int(step["flood"]), step.get("action") or "noop")
            if "burn" in step:
                burn(float(step["burn"]))
            if "call" in step:
                reply = call(state, step["call"], step.get("params") or {})
            if step.get("report"):
                data = {"step": i}
                if reply is not None:
                    data["reply"] = reply
                call(state, "invoke", {"artifact_id": "genesis_event_log", "method": "publish",
                                       "args": [step["report"], data]})
        while True:
            call(state, "sleep", {"seconds": 3600})
    except Closed:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
