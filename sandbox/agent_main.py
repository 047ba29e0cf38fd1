"""Entry script of an agent child: the zygote runs it (kind "agent") with the socket on fd 3.

Also runnable directly for development: `python3 sandbox/agent_main.py 3<>SOCKET`.
"""
import os
import sys

# After the zygote's pivot_root the scripts live at /sandbox; find them from this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from agent.runtime import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
