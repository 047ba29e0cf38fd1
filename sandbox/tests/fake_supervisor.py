"""The supervisor's end of an agent child's socket, in-process: a thread answers the
child's calls from a FakeWorld and records every frame, so tests see exactly what
the runtime sent. It closes the socket after `max_calls` calls, which is also how
a test ends an agent's run (the child must then exit cleanly)."""
import socket
import threading

import wire


class FakeSupervisor:
    def __init__(self, world, agent_id="alpha", max_calls=300, llm=None):
        self.world = world
        self.agent_id = agent_id
        self.max_calls = max_calls
        self.ours, self.theirs = socket.socketpair()
        self.calls = []       # (action, params) in the order the child sent them
        self.traces = []      # trace frames
        self.replies = []     # envelopes sent back
        self.unexpected = []  # frames that were neither calls nor traces
        self.thread = None

    def start(self, **fields):
        msg = {"type": "start", "id": 0, "agent_id": self.agent_id, "mind": "heuristic", "prompt": "test agent",
               "seed": 7}
        msg.update(fields)
        wire.send(msg, fd=self.ours.fileno())
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def _serve(self):
        fd = self.ours.fileno()
        try:
            while True:
                try:
                    msg = wire.recv(fd=fd)
                except (wire.ProtocolError, OSError):
                    return
                if msg.get("type") == "trace":
                    self.traces.append(msg)
                    continue
                if msg.get("type") != "call":
                    self.unexpected.append(msg)
                    continue
                if len(self.calls) >= self.max_calls:
                    return
                self.calls.append((msg.get("action"), msg.get("params")))
                response = self.world.handle(self.agent_id, msg.get("action"), msg.get("params"))
                self.replies.append(response)
                wire.send({"type": "reply", "id": msg.get("id"), "response": response}, fd=fd)
        finally:
            self.ours.shutdown(socket.SHUT_RDWR)
            self.ours.close()

    def run_agent(self, **fields):
        """Starts, runs the agent's runtime on this thread until the socket closes; returns its exit code."""
        from agent import runtime
        self.start(**fields)
        try:
            code = runtime.run(fd=self.theirs.fileno())
        finally:
            self.theirs.close()
        self.thread.join(10)
        return code

    def invocations(self):
        """(artifact_id, method, args) of every invoke call."""
        return [(p.get("artifact_id"), p.get("method"), p.get("args")) for a, p in self.calls if a == "invoke"]
