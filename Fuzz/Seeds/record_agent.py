#!/usr/bin/env python3
"""Seeds for the frame, JSON and kernel-dispatch fuzzers from a real agent's behaviour.

Runs the heuristic mind (sandbox/agent) against the in-memory world of its own tests
(sandbox/tests/fake_world.py) and keeps every frame the child sent, byte for byte as
sandbox/wire.py framed it, and every reply envelope. Writes:

  Corpus/FrameDecoderFuzz/agent-*     runs of consecutive frames (length prefix + JSON)
  Corpus/KernelDispatchFuzz/agent-*   runs of consecutive frame payloads, one per line
  Corpus/JSONParserFuzz/agent-*       single payloads and replies

Deterministic (seeded minds, virtual time): running it again gives the same files.
Usage: python3 Fuzz/Seeds/record_agent.py   (from the repository root or anywhere)
"""
import hashlib
import json
import os
import struct
import sys

FUZZ = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SANDBOX = os.path.join(os.path.dirname(FUZZ), "sandbox")
sys.path[:0] = [SANDBOX]

import wire  # noqa: E402
from tests.fake_supervisor import FakeSupervisor  # noqa: E402
from tests.fake_world import FakeWorld  # noqa: E402

# The kernel fuzzer serves a call as agent number `id mod 5` of the default configuration.
AGENTS = ["alpha", "beta", "gamma", "delta", "epsilon"]


class RecordingSupervisor(FakeSupervisor):
    """Keeps every message the child sent, in order (calls, traces, anything else)."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.messages = []
        original = wire.recv

        def recv(fd=wire.SOCK_FD):
            msg = original(fd=fd)
            if fd == self.ours.fileno():
                self.messages.append(msg)
            return msg
        wire.recv = recv
        self._restore = lambda: setattr(wire, "recv", original)


def payload(msg):
    """The bytes sandbox/wire.py sends for `msg` (without the length prefix)."""
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def frame(msg):
    data = payload(msg)
    return struct.pack(">I", len(data)) + data


def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def record(agent, seed, calls):
    sup = RecordingSupervisor(FakeWorld(agents=(agent,)), agent_id=agent, max_calls=calls)
    try:
        sup.run_agent(seed=seed)
    finally:
        sup._restore()
    index = AGENTS.index(agent)
    messages = []
    for n, msg in enumerate(sup.messages):
        if msg.get("type") == "call":
            msg = dict(msg, id=5 * n + index)  # served as `agent` by the kernel fuzzer
        messages.append(msg)
    return messages, sup.replies


def main():
    corpus = os.path.join(FUZZ, "Corpus")
    runs = [("alpha", 7, 400), ("beta", 11, 250), ("gamma", 3, 150)]
    for agent, seed, calls in runs:
        messages, replies = record(agent, seed, calls)
        tag = "%s-%d" % (agent, seed)
        # Kernel dispatch: 12 consecutive payloads per seed, every 24 messages, so each
        # seed starts from a different point of the agent's life.
        for start in range(0, len(messages), 24):
            chunk = messages[start:start + 12]
            write(os.path.join(corpus, "KernelDispatchFuzz"), "agent-%s-%04d" % (tag, start),
                  b"\n".join(payload(m) for m in chunk) + b"\n")
        # Frames: runs of 6 consecutive frames as they crossed the socket.
        for start in range(0, len(messages), 40):
            write(os.path.join(corpus, "FrameDecoderFuzz"), "agent-%s-%04d" % (tag, start),
                  b"".join(frame(m) for m in messages[start:start + 6]))
        # JSON: a few payloads and replies of each shape (action, message type, reply outcome).
        kept = {}
        for m in messages + replies:
            data = payload(m)
            shape = (m.get("action"), m.get("type"), m.get("ok"), (m.get("params") or {}).get("method"))
            if kept.get(shape, 0) >= 2 or len(data) > 4096:
                continue
            kept[shape] = kept.get(shape, 0) + 1
            write(os.path.join(corpus, "JSONParserFuzz"), "agent-" + hashlib.sha1(data).hexdigest()[:16], data)

if __name__ == "__main__":
    main()
