#!/usr/bin/env python3
"""Seeds for the JSON-schema fuzzer (Corpus/JSONSchemaFuzz/): each seed is a tool's
inputSchema, a newline, then arguments for it.

- the interfaces of the tools the heuristic mind writes (sandbox/agent/tools_library.py),
  with each of their `examples` as the arguments;
- the genesis services' interfaces and the handbook, as a world serves them: read through
  the `ecology` CLI from a fresh world (pass the binary: --ecology .build/debug/ecology),
  with arguments taken from the agent's recorded calls to those methods
  (Corpus/KernelDispatchFuzz, written by record_agent.py).
Deterministic. Usage: python3 Fuzz/Seeds/schema_seeds.py [--ecology PATH]
"""
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile

FUZZ = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(FUZZ)
OUT = os.path.join(FUZZ, "Corpus", "JSONSchemaFuzz")
sys.path[:0] = [os.path.join(ROOT, "sandbox")]

from agent import tools_library  # noqa: E402


def compact(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def emit(tag, schema, instance):
    data = (compact(schema) + "\n" + compact(instance)).encode("utf-8")
    name = "%s-%s" % (tag, hashlib.sha1(data).hexdigest()[:16])
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def library_seeds():
    for entry in tools_library.LIBRARY:
        for tool in entry["tools"]:
            schema = tool["inputSchema"]
            for example in schema.get("examples", []):
                emit("library", schema, example)
                # Positional form, as an invoke's args array.
                emit("library", schema, [example[k] for k in tools_library.parameter_order(schema) if k in example])


def recorded_args():
    """(artifact_id, method) -> args lists the agent really sent."""
    calls = {}
    for path in sorted(glob.glob(os.path.join(FUZZ, "Corpus", "KernelDispatchFuzz", "agent-*"))):
        for line in open(path, "rb").read().splitlines():
            msg = json.loads(line)
            p = msg.get("params") or {}
            if msg.get("action") == "invoke":
                calls.setdefault((p.get("artifact_id"), p.get("method")), []).append(p.get("args", []))
    return calls


def genesis_seeds(ecology):
    calls = recorded_args()
    with tempfile.TemporaryDirectory() as tmp:
        def run(*args):
            out = subprocess.run([ecology, *args, "--data-dir", tmp, "--json"], check=True, capture_output=True, text=True)
            return json.loads(out.stdout)
        subprocess.run([ecology, "init", "--data-dir", tmp], check=True, capture_output=True)
        ids = ["genesis_debt", "genesis_escrow", "genesis_event_log", "genesis_ledger", "genesis_mint",
               "genesis_rights_registry", "genesis_store"]
        for artifact in ids:
            envelope = run("artifact", "read", artifact, "--as", "alpha")
            for tool in envelope["result"]["interface"]["tools"]:
                schema = tool["inputSchema"]
                emit("genesis", schema, {})
                for args in calls.get((artifact, tool["name"]), [])[:3]:
                    emit("genesis", schema, args)


def main():
    os.makedirs(OUT, exist_ok=True)
    library_seeds()
    if "--ecology" in sys.argv:
        genesis_seeds(sys.argv[sys.argv.index("--ecology") + 1])


if __name__ == "__main__":
    main()
