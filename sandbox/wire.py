"""Frames on the child's socket (fd 3): 4-byte big-endian length + UTF-8 JSON object.

Plain os.read/os.write on the inherited fd: the fewest syscalls the seccomp filter must allow.
"""
import json
import os
import struct

SOCK_FD = 3
MAX_FRAME = 1 << 20


class ProtocolError(Exception):
    """The supervisor's side of the socket broke the protocol or closed it."""


def send(msg, fd=SOCK_FD):
    data = json.dumps(msg, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    if len(data) > MAX_FRAME:
        raise ProtocolError("frame of %d bytes exceeds %d" % (len(data), MAX_FRAME))
    buf = memoryview(struct.pack(">I", len(data)) + data)
    while buf:
        n = os.write(fd, buf)
        buf = buf[n:]


def _read_exact(fd, n):
    chunks = []
    while n:
        b = os.read(fd, min(n, 1 << 16))
        if not b:
            raise ProtocolError("socket closed")
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def recv(fd=SOCK_FD):
    (n,) = struct.unpack(">I", _read_exact(fd, 4))
    if n > MAX_FRAME:
        raise ProtocolError("frame of %d bytes exceeds %d" % (n, MAX_FRAME))
    try:
        msg = json.loads(_read_exact(fd, n).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError("malformed frame: %s" % e)
    if not isinstance(msg, dict):
        raise ProtocolError("frame is not a JSON object")
    return msg
