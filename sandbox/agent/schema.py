"""The kernel actions as OpenAI function-calling tools, and a small JSON Schema checker.

The llm mind offers exactly these tools and checks every call the model makes
against them before anything reaches the kernel, so a malformed call is reported
back to the model precisely instead of failing somewhere else.
"""

_ID = {"type": "string", "minLength": 1, "maxLength": 128, "description": "artifact ID: 1-128 of [A-Za-z0-9_.-]"}

ACTIONS = {
    "observe": ("Your time, balances, owned artifacts, recent events and the next mint resolution.",
                {}, []),
    "read": ("Read an artifact (content, code, interface, metadata).", {"artifact_id": _ID}, ["artifact_id"]),
    "write": ("Create an artifact, or replace one you may write. A tool needs code (Python defining a function "
              "per tool, named as the tool), an interface {\"tools\":[{\"name\",\"description\",\"inputSchema\"}]}, "
              "executable=true and a price (scrip per call). Memories: kind=\"memory\", contract=\"genesis_private\".",
              {"artifact_id": _ID,
               "content": {"type": "string"},
               "code": {"type": "string"},
               "interface": {"type": "object"},
               "executable": {"type": "boolean"},
               "standing": {"type": "boolean"},
               "contract": {"type": "string", "description": "access contract ID (default genesis_freeware)"},
               "price": {"type": "integer", "minimum": 0},
               "kind": {"type": "string", "enum": ["memory", "data", "contract"]},
               "metadata": {"type": "object"}},
              ["artifact_id"]),
    "edit": ("Replace the text `old` with `new` in an artifact's content.",
             {"artifact_id": _ID, "old": {"type": "string", "minLength": 1}, "new": {"type": "string"}},
             ["artifact_id", "old", "new"]),
    "delete": ("Delete an artifact you may delete (leaves a tombstone; frees disk).", {"artifact_id": _ID},
               ["artifact_id"]),
    "invoke": ("Call a method of a tool or genesis service. args are positional, in the order the handbook "
               "lists (required first, then optional alphabetically), or one object of named arguments.",
               {"artifact_id": _ID, "method": {"type": "string", "minLength": 1},
                "args": {"type": "array"}},
               ["artifact_id", "method"]),
    "sleep": ("Sleep until a condition: after `seconds`, on a matching event, or when one of your balances "
              "reaches a threshold, whichever comes first.",
              {"seconds": {"type": "number", "minimum": 0, "maximum": 3600},
               "event": {"type": "object", "properties": {"type": {"type": "string"}, "topic": {"type": "string"},
                                                          "principal": {"type": "string"}},
                         "additionalProperties": False},
               "balance": {"type": "object",
                           "properties": {"resource": {"type": "string", "enum": ["scrip", "compute", "llm_budget"]},
                                          "gte": {"type": "integer"}},
                           "required": ["resource", "gte"], "additionalProperties": False}},
              []),
    "noop": ("Do nothing this turn.", {}, []),
}


def parameters(name):
    """The JSON Schema of an action's params."""
    _, props, required = ACTIONS[name]
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


def function_tools():
    """The actions as OpenAI function-calling tools."""
    return [{"type": "function", "function": {"name": n, "description": ACTIONS[n][0], "parameters": parameters(n)}}
            for n in ACTIONS]


def decision_schema():
    """For backends without tools: one JSON object naming the action, its params and why."""
    return {"type": "object",
            "properties": {"action": {"type": "string", "enum": list(ACTIONS)},
                           "params": {"type": "object"},
                           "reason": {"type": "string"}},
            "required": ["action", "params", "reason"], "additionalProperties": False}


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _type_name(v):
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if _TYPES[name](v):
            return name
    return type(v).__name__


def check(value, schema, path="params"):
    """The first mismatch as a sentence naming its path, or None when `value` fits `schema`."""
    if not isinstance(schema, dict):
        return None
    t = schema.get("type")
    allowed = [t] if isinstance(t, str) else [x for x in t or [] if isinstance(x, str)]
    if allowed and not any(_TYPES.get(a, lambda v: True)(value) for a in allowed):
        return "%s must be %s, got %s" % (path, " or ".join(allowed), _type_name(value))
    if "enum" in schema and value not in schema["enum"]:
        return "%s must be one of %s, got %r" % (path, ", ".join(repr(e) for e in schema["enum"]), value)
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            return "%s must be >= %s, got %s" % (path, schema["minimum"], value)
        if "maximum" in schema and value > schema["maximum"]:
            return "%s must be <= %s, got %s" % (path, schema["maximum"], value)
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            return "%s must have at least %d characters" % (path, schema["minLength"])
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return "%s must have at most %d characters" % (path, schema["maxLength"])
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            err = check(item, schema["items"], "%s[%d]" % (path, i))
            if err:
                return err
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                return "%s.%s is required" % (path, name)
        for k, v in value.items():
            if k in props:
                err = check(v, props[k], "%s.%s" % (path, k))
                if err:
                    return err
            elif schema.get("additionalProperties") is False:
                return "%s.%s is not an accepted parameter (accepted: %s)" % (path, k, ", ".join(sorted(props)) or "none")
    return None
