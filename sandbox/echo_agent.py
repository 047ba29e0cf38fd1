"""A minimal long-lived agent child used by the sandbox tests: answers frames on fd 3.

  {"type":"echo","id":N,"value":V} -> {"type":"echo","id":N,"value":V}
  {"type":"burn","id":N,"seconds":S} -> burns S CPU seconds, then {"type":"burned","id":N}
  {"type":"socket","id":N} -> tries to open a network socket (the sandbox kills it)
  {"type":"modules","id":N} -> {"type":"modules","id":N,"value":[names in sys.modules]}
Exits 0 when the supervisor closes the socket.
"""
import socket
import sys
import time

import wire

while True:
    try:
        msg = wire.recv()
    except wire.ProtocolError:
        raise SystemExit(0)
    t = msg.get("type")
    if t == "echo":
        wire.send({"type": "echo", "id": msg.get("id"), "value": msg.get("value")})
    elif t == "burn":
        start = time.process_time()
        while time.process_time() - start < float(msg.get("seconds", 0)):
            pass
        wire.send({"type": "burned", "id": msg.get("id")})
    elif t == "modules":
        wire.send({"type": "modules", "id": msg.get("id"), "value": sorted(sys.modules)})
    elif t == "socket":
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        wire.send({"type": "error", "id": msg.get("id"), "value": "socket was allowed"})
