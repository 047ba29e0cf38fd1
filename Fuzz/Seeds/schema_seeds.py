#!/usr/bin/env python3
"""Seeds for the JSON-schema fuzzer (Corpus/JSONSchemaFuzz/): each seed is a tool's
inputSchema, a newline, then arguments for it.

- the interfaces of the tools the heuristic mind writes (sandbox/agent/tools_library.py),
  with each of their `examples` as the arguments;
- the genesis services' interfaces (the schemas the handbook's method lists are made
  of), rebuilt from their `ToolSpec` declarations, each with `{}` and with the arguments
  of the agent's recorded calls to that method (Corpus/KernelDispatchFuzz, written by
  record_agent.py: run that first);
- the cases the supervisor's and the agent's validators share
  (Tests/Fixtures/json-schema-cases.json): every accepted schema with each of its valid
  and invalid instances, every refused schema with `null` (inputs over the fuzzer's
  4096-byte limit are left out).
Deterministic. Usage: python3 Fuzz/Seeds/schema_seeds.py
"""
import glob
import hashlib
import json
import os
import re
import sys

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


def genesis_schemas():
    """(service id, method, inputSchema) of every genesis tool, built from its `ToolSpec(...)`
    declaration in Sources/EcologyKernel/Genesis the way `ToolSpec.init` builds it."""
    string = r'"((?:[^"\\]|\\.)*)"'
    tool_re = re.compile(r'ToolSpec\(\s*' + string + r'\s*,\s*' + string + r'\s*(?:,\s*\[(.*?)\]\s*)?\)', re.S)
    param_re = re.compile(r'\(\s*' + string + r'\s*,\s*' + string + r'\s*,\s*' + string + r'\s*,\s*(true|false)\s*\)')
    for path in sorted(glob.glob(os.path.join(ROOT, "Sources", "EcologyKernel", "Genesis", "*Service.swift"))):
        source = open(path, encoding="utf-8").read()
        service = re.search(r'static let id = "([a-z_]+)"', source)
        if not service:
            continue
        for m in tool_re.finditer(source):
            params = param_re.findall(m.group(3) or "")
            schema = {"type": "object", "additionalProperties": False,
                      "properties": {n: {"type": t, "description": d} for n, t, d, _ in params},
                      "required": [n for n, _, _, r in params if r == "true"]}
            yield service.group(1), m.group(1), schema


def genesis_seeds():
    calls = recorded_args()
    for service, method, schema in genesis_schemas():
        emit("genesis", schema, {})
        for args in calls.get((service, method), [])[:3]:
            emit("genesis", schema, args)


def fixture_seeds():
    with open(os.path.join(ROOT, "Tests", "Fixtures", "json-schema-cases.json"), encoding="utf-8") as f:
        cases = json.load(f)
    for case in cases["accepted"]:
        for instance in case["valid"] + [bad["instance"] for bad in case["invalid"]]:
            if len(compact(case["schema"]) + compact(instance)) < 4096:
                emit("shared", case["schema"], instance)
    for case in cases["refused"]:
        if len(compact(case["schema"])) < 4096:
            emit("refused", case["schema"], None)


def main():
    os.makedirs(OUT, exist_ok=True)
    library_seeds()
    genesis_seeds()
    fixture_seeds()


if __name__ == "__main__":
    main()
