"""The agent child's runtime and its two minds (heuristic, llm).

Runs inside the sandboxed agent child: plain standard library, one thread, no
subprocess, no network; the only way out is the socket on fd 3 (see runtime.py).
"""
