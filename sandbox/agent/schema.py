"""The kernel actions as OpenAI function-calling tools, and the JSON Schema subset of tool interfaces.

The llm mind offers exactly these tools and checks every call the model makes
against them before anything reaches the kernel, so a malformed call is reported
back to the model precisely instead of failing somewhere else. The checker is the
supervisor's (`JSONSchema`) rewritten: the same subset, refusals and mismatches.
"""
import json
import re

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


# ---------------------------------------------------------------------------------------
# The JSON Schema subset of tool interfaces, the same as the supervisor's (`JSONSchema`,
# Sources/EcologyCore/JSONSchema*.swift; docs/KERNEL.md, "Tool interfaces"): the same
# keywords, the same refusals in the same order, the same limits, the same mismatches.
# Tests/Fixtures/json-schema-cases.json holds the cases both suites run.

MAX_DEPTH = 32
MAX_SUBSCHEMAS = 1000
MAX_ENUM_VALUES = 1000
MAX_MEMBERS = 64
MAX_PATTERN_LENGTH = 1000
MAX_REPETITION = 1000
MAX_PATTERN_SIZE = 2000
MAX_GROUP_DEPTH = 64

_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
_MAX_SAFE_INTEGER = 2 ** 53 - 1
TYPE_NAMES = ("array", "boolean", "integer", "null", "number", "object", "string")
ANNOTATIONS = {"title": "string", "description": "string", "$comment": "string", "$schema": "string",
               "$id": "string", "default": "any", "examples": "array", "deprecated": "boolean",
               "readOnly": "boolean", "writeOnly": "boolean"}
_SUPPORTED = ("type, enum, const, pattern, minLength, maxLength, minimum, maximum, exclusiveMinimum, "
              "exclusiveMaximum, minItems, maxItems, items, properties, required, additionalProperties, "
              "allOf, anyOf, oneOf, $ref, $defs")


class SchemaError(ValueError):
    """A schema outside the subset, or malformed: `keyword` and `path` name where."""

    def __init__(self, keyword, path, message):
        ValueError.__init__(self, "%s %s" % (path, message))
        self.keyword, self.path = keyword, path


class Mismatch(object):
    """The first way a value does not fit a schema."""

    def __init__(self, keyword, path, message):
        self.keyword, self.path, self.message = keyword, path, message

    def __repr__(self):
        return "Mismatch(%r, %r, %r)" % (self.keyword, self.path, self.message)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(v):
    """A number as the supervisor's parser reads it: an integer literal beyond Int64 is a double."""
    if isinstance(v, int) and not (_INT64_MIN <= v <= _INT64_MAX):
        return float(v)
    return v


def _int_value(v):
    """JSONValue.intValue: an integer within Int64, or an integral float within ±(2^53 − 1)."""
    if isinstance(v, bool) or not _is_number(v):
        return None
    v = _number(v)
    if isinstance(v, int):
        return v
    if v == v and abs(v) <= _MAX_SAFE_INTEGER and v == int(v):
        return int(v)
    return None


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: _int_value(v) is not None,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _type_name(v):
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if _TYPES[name](v):
            return name
    return type(v).__name__


def _json(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _compare(a, b):
    a, b = _number(a), _number(b)
    return -1 if a < b else (1 if a > b else 0)


def _equal(a, b):
    """JSON equality: numbers by value (1 equals 1.0; true is no number), strings exactly."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return _compare(a, b) == 0
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return len(a) == len(b) and all(k in b and _equal(v, b[k]) for k, v in a.items())
    if a is None or b is None:
        return a is None and b is None
    return type(a) is type(b) and a == b


def _format(bound):
    i = _int_value(bound)
    if i is not None:
        return str(i)
    return repr(float(bound))


class _Node(object):
    __slots__ = ("rejects_everything", "types", "enum", "has_const", "const", "minimum", "maximum",
                 "exclusive_minimum", "exclusive_maximum", "min_length", "max_length", "pattern", "regex",
                 "min_items", "max_items", "items", "properties", "required", "additional", "all_of",
                 "any_of", "one_of", "ref")

    def __init__(self):
        self.rejects_everything = False
        self.types = self.enum = self.regex = self.pattern = None
        self.has_const, self.const = False, None
        self.minimum = self.maximum = self.exclusive_minimum = self.exclusive_maximum = None
        self.min_length = self.max_length = self.min_items = self.max_items = None
        self.items = self.additional = self.ref = None
        self.properties, self.required = {}, []
        self.all_of, self.any_of, self.one_of = [], [], []


class Schema(object):
    """A schema checked against the subset (`compile`); `first_mismatch` validates."""

    def __init__(self, nodes):
        self.nodes = nodes

    def first_mismatch(self, value, path="params"):
        return self._check(value, 0, path)

    def _check(self, value, index, path):
        node = self.nodes[index]
        if node.rejects_everything:
            return Mismatch("false", path, "%s is not allowed here" % path)
        if node.ref is not None:
            m = self._check(value, node.ref, path)
            if m:
                return m
        if node.types is not None and not any(_TYPES[t](value) for t in node.types):
            return Mismatch("type", path, "%s must be %s, got %s" % (path, " or ".join(node.types), _type_name(value)))
        if node.enum is not None and not any(_equal(value, e) for e in node.enum):
            return Mismatch("enum", path, "%s must be one of %s, got %s" % (path, ", ".join(_json(e) for e in node.enum[:20]),
                                                                          _json(value)[:80]))
        if node.has_const and not _equal(value, node.const):
            return Mismatch("const", path, "%s must be %s" % (path, _json(node.const)[:200]))
        if _is_number(value):
            if node.minimum is not None and _compare(value, node.minimum) < 0:
                return Mismatch("minimum", path, "%s must be >= %s, got %s" % (path, _format(node.minimum), value))
            if node.maximum is not None and _compare(value, node.maximum) > 0:
                return Mismatch("maximum", path, "%s must be <= %s, got %s" % (path, _format(node.maximum), value))
            if node.exclusive_minimum is not None and _compare(value, node.exclusive_minimum) <= 0:
                return Mismatch("exclusiveMinimum", path, "%s must be > %s, got %s" % (path, _format(node.exclusive_minimum), value))
            if node.exclusive_maximum is not None and _compare(value, node.exclusive_maximum) >= 0:
                return Mismatch("exclusiveMaximum", path, "%s must be < %s, got %s" % (path, _format(node.exclusive_maximum), value))
        if isinstance(value, str):
            # Code points, as the supervisor counts (Unicode scalars).
            if node.min_length is not None and len(value) < node.min_length:
                return Mismatch("minLength", path, "%s must have at least %d characters" % (path, node.min_length))
            if node.max_length is not None and len(value) > node.max_length:
                return Mismatch("maxLength", path, "%s must have at most %d characters" % (path, node.max_length))
            if node.regex is not None and not node.regex.search(value):
                return Mismatch("pattern", path, "%s must match the pattern %s" % (path, _json(node.pattern)[:200]))
        if isinstance(value, list):
            if node.min_items is not None and len(value) < node.min_items:
                return Mismatch("minItems", path, "%s must have at least %d items" % (path, node.min_items))
            if node.max_items is not None and len(value) > node.max_items:
                return Mismatch("maxItems", path, "%s must have at most %d items" % (path, node.max_items))
            if node.items is not None:
                for i, item in enumerate(value):
                    m = self._check(item, node.items, "%s[%d]" % (path, i))
                    if m:
                        return m
        if isinstance(value, dict):
            for name in node.required:
                if name not in value:
                    return Mismatch("required", "%s.%s" % (path, name), "%s.%s is required" % (path, name))
            if node.properties or node.additional is not None:
                for key in sorted(value):
                    sub = "%s.%s" % (path, key)
                    if key in node.properties:
                        m = self._check(value[key], node.properties[key], sub)
                    elif node.additional is not None:
                        if self.nodes[node.additional].rejects_everything:
                            return Mismatch("additionalProperties", sub, "%s is not an accepted parameter (accepted: %s)"
                                            % (sub, ", ".join(sorted(node.properties)) or "none"))
                        m = self._check(value[key], node.additional, sub)
                    else:
                        m = None
                    if m:
                        return m
        for member in node.all_of:
            m = self._check(value, member, path)
            if m:
                return m
        if node.any_of:
            first = None
            for member in node.any_of:
                m = self._check(value, member, path)
                if m is None:
                    break
                first = first or m
            else:
                return Mismatch("anyOf", path, "%s must match at least one of the anyOf schemas (the first says: %s)"
                                % (path, first.message))
        if node.one_of:
            results = [self._check(value, member, path) for member in node.one_of]
            matches = sum(1 for r in results if r is None)
            if matches == 0:
                return Mismatch("oneOf", path, "%s must match exactly one of the oneOf schemas, matches none (the first says: %s)"
                                % (path, results[0].message))
            if matches > 1:
                return Mismatch("oneOf", path, "%s must match exactly one of the oneOf schemas, matches %d" % (path, matches))
        return None


class _Compiler(object):
    def __init__(self):
        self.nodes, self.references, self.definitions = [], [], {}

    def compile(self, schema, path, depth, via):
        context = via or "schema"
        if depth > MAX_DEPTH:
            raise SchemaError(context, path, "nests subschemas more than %d deep" % MAX_DEPTH)
        if len(self.nodes) >= MAX_SUBSCHEMAS:
            raise SchemaError(context, path, "makes the schema more than %d subschemas" % MAX_SUBSCHEMAS)
        index = len(self.nodes)
        node = _Node()
        self.nodes.append(node)
        if isinstance(schema, bool):
            node.rejects_everything = not schema
            return index
        if not isinstance(schema, dict):
            raise SchemaError(context, path, "must be a schema (an object, or true or false), got %s" % _type_name(schema))
        for key in sorted(schema):
            self._apply(key, schema[key], node, index, path, depth, via is None)
        return index

    def _apply(self, key, value, node, index, path, depth, is_root):
        at = "%s.%s" % (path, key)

        def refuse(message):
            return SchemaError(key, at, message)

        def number():
            if not _is_number(value):
                raise refuse("must be a number, got %s" % _type_name(value))
            return value

        def count():
            n = _int_value(value)
            if n is None or n < 0:
                raise refuse("must be a non-negative integer, got %s" % _json(value)[:40])
            return n

        def subschema(v, p):
            return self.compile(v, p, depth + 1, key)

        def members():
            if not isinstance(value, list) or not value:
                raise refuse("must be a non-empty array of schemas")
            if len(value) > MAX_MEMBERS:
                raise refuse("has %d members; the maximum is %d" % (len(value), MAX_MEMBERS))
            return [subschema(v, "%s[%d]" % (at, i)) for i, v in enumerate(value)]

        if key == "type":
            names = [value] if isinstance(value, str) else (value if isinstance(value, list) else [])
            if not names or not all(isinstance(n, str) for n in names):
                raise refuse("must be a type name or a non-empty array of them")
            seen = []
            for name in names:
                if name not in TYPE_NAMES:
                    raise refuse("names an unknown type '%s'; types: %s" % (name[:40], ", ".join(TYPE_NAMES)))
                if name in seen:
                    raise refuse("names '%s' twice" % name)
                seen.append(name)
            node.types = seen
        elif key == "enum":
            if not isinstance(value, list):
                raise refuse("must be an array")
            if len(value) > MAX_ENUM_VALUES:
                raise refuse("has %d values; the maximum is %d" % (len(value), MAX_ENUM_VALUES))
            node.enum = value
        elif key == "const":
            node.has_const, node.const = True, value
        elif key == "minimum":
            node.minimum = number()
        elif key == "maximum":
            node.maximum = number()
        elif key == "exclusiveMinimum":
            node.exclusive_minimum = number()
        elif key == "exclusiveMaximum":
            node.exclusive_maximum = number()
        elif key == "minLength":
            node.min_length = count()
        elif key == "maxLength":
            node.max_length = count()
        elif key == "minItems":
            node.min_items = count()
        elif key == "maxItems":
            node.max_items = count()
        elif key == "pattern":
            if not isinstance(value, str):
                raise refuse("must be a string, got %s" % _type_name(value))
            try:
                node.regex = compile_pattern(value)
            except PatternError as e:
                raise refuse("is not in the supported regular-expression subset: it %s" % e)
            node.pattern = value
        elif key == "items":
            if isinstance(value, list):
                raise refuse("must be one schema for every item (the array form of draft 4-2019 is not supported)")
            node.items = subschema(value, at)
        elif key == "properties":
            if not isinstance(value, dict):
                raise refuse("must be an object of schemas")
            for name in sorted(value):
                node.properties[name] = subschema(value[name], "%s.%s" % (at, name))
        elif key == "required":
            if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
                raise refuse("must be an array of property names")
            names = []
            for name in value:
                if name in names:
                    raise refuse("names '%s' twice" % name[:64])
                names.append(name)
            node.required = names
        elif key == "additionalProperties":
            node.additional = subschema(value, at)
        elif key == "allOf":
            node.all_of = members()
        elif key == "anyOf":
            node.any_of = members()
        elif key == "oneOf":
            node.one_of = members()
        elif key == "$ref":
            if not isinstance(value, str):
                raise refuse("must be a string, got %s" % _type_name(value))
            self.references.append((index, value, at))
        elif key in ("$defs", "definitions"):
            if not is_root:
                raise refuse("is accepted only at the schema's root (a $ref points into the root)")
            if not isinstance(value, dict):
                raise refuse("must be an object of schemas")
            for name in sorted(value):
                pointer = "#/%s/%s" % (key, name.replace("~", "~0").replace("/", "~1"))
                self.definitions[pointer] = subschema(value[name], "%s.%s" % (at, name))
        else:
            kind = ANNOTATIONS.get(key)
            if kind is None:
                raise refuse("uses '%s', which is not a supported keyword; supported: %s (annotations: %s)"
                             % (key[:64], _SUPPORTED, ", ".join(sorted(ANNOTATIONS))))
            if key == "$id" and not is_root:
                raise refuse("is accepted only at the schema's root")
            if kind == "string" and not isinstance(value, str):
                raise refuse("must be a string, got %s" % _type_name(value))
            if kind == "boolean" and not isinstance(value, bool):
                raise refuse("must be true or false, got %s" % _type_name(value))
            if kind == "array" and not isinstance(value, list):
                raise refuse("must be an array, got %s" % _type_name(value))

    def resolve_references(self):
        for index, target, path in self.references:
            resolved = 0 if target == "#" else self.definitions.get(target)
            if resolved is None:
                known = ", ".join(sorted(self.definitions)[:20]) or "none"
                raise SchemaError("$ref", path, "'%s' does not resolve: a $ref must be '#', '#/$defs/<name>' or "
                                  "'#/definitions/<name>' of this schema (defined: %s)" % (target[:100], known))
            self.nodes[index].ref = resolved

    def refuse_cycles_without_descent(self):
        """A $ref/allOf/anyOf/oneOf cycle that applies a schema to the same value forever."""
        ref_paths = {index: path for index, _, path in self.references}

        def edges(i):
            n = self.nodes[i]
            return ([n.ref] if n.ref is not None else []) + n.all_of + n.any_of + n.one_of

        state = [0] * len(self.nodes)
        for start in range(len(self.nodes)):
            if state[start]:
                continue
            stack = [[start, 0]]
            state[start] = 1
            while stack:
                top = stack[-1]
                out = edges(top[0])
                if top[1] < len(out):
                    to = out[top[1]]
                    top[1] += 1
                    if state[to] == 1:
                        on_cycle = [n for n, _ in stack]
                        on_cycle = on_cycle[on_cycle.index(to):]
                        at = next((ref_paths[n] for n in on_cycle if n in ref_paths), "schema")
                        raise SchemaError("$ref", at, "makes a cycle that applies a schema to the same value again "
                                          "without descending into it (it would never finish)")
                    if state[to] == 0:
                        state[to] = 1
                        stack.append([to, 0])
                else:
                    state[top[0]] = 2
                    stack.pop()


def compile(schema, path="schema"):  # noqa: A001 - the module's verb, as JSONSchema.compile
    """The schema checked against the subset and the limits; raises SchemaError naming the keyword."""
    compiler = _Compiler()
    compiler.compile(schema, path, 0, None)
    compiler.resolve_references()
    compiler.refuse_cycles_without_descent()
    return Schema(compiler.nodes)


def check(value, schema, path="params"):
    """The first mismatch as a sentence naming its path, or None when `value` fits `schema`.
    A schema outside the subset raises SchemaError (these schemas are our own)."""
    mismatch = compile(schema).first_mismatch(value, path)
    return mismatch.message if mismatch else None


# ---------------------------------------------------------------------------------------
# `pattern`: the supervisor's regular-expression subset (SchemaRegex), parsed here with the
# same refusals and size rule, then handed to `re` as an equivalent Python expression. `re`
# backtracks, but it runs in this agent's own sandbox on its own CPU; the supervisor matches
# with an automaton in linear time.

class PatternError(ValueError):
    pass


_DIGIT = [(0x30, 0x39)]
_WORD = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
_SPACE = [(0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029),
          (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF)]
_LINE_TERMINATORS = [(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)]
_LITERAL_ESCAPES = set("\\^$.|?*+()[]{}/-")
_CONTROL_ESCAPES = {"n": 0x0A, "r": 0x0D, "t": 0x09, "f": 0x0C, "v": 0x0B}
_HEX = set("0123456789abcdefABCDEF")


def _normalized(ranges):
    out = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _complement(ranges):
    out, nxt = [], 0
    for lo, hi in ranges:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= 0x10FFFF:
        out.append((nxt, 0x10FFFF))
    return out


class _PatternParser(object):
    # Tree nodes: ("empty",), ("chars", ranges, negated), ("start",), ("end",),
    # ("seq", parts), ("alt", parts), ("rep", node, min, max-or-None).

    def __init__(self, pattern):
        self.s, self.pos, self.depth = pattern, 0, 0

    def peek(self):
        return self.s[self.pos] if self.pos < len(self.s) else None

    def parse_all(self):
        node = self.alternation()
        if self.pos < len(self.s):
            raise PatternError("has an unmatched ')' at character %d" % self.pos)
        return node

    def alternation(self):
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self):
        parts = []
        while self.peek() is not None and self.peek() not in "|)":
            start = self.pos
            parts.append(self.quantifiers(self.atom(), start))
        return parts[0] if len(parts) == 1 else (("seq", parts) if parts else ("empty",))

    def quantifiers(self, atom, start):
        c = self.peek()
        if c == "*":
            self.pos += 1
            result = ("rep", atom, 0, None)
        elif c == "+":
            self.pos += 1
            result = ("rep", atom, 1, None)
        elif c == "?":
            self.pos += 1
            result = ("rep", atom, 0, 1)
        elif c == "{":
            result = self.braces(atom)
        else:
            return atom
        if atom[0] in ("start", "end"):
            raise PatternError("repeats an anchor at character %d" % start)
        if self.peek() is not None and self.peek() in "*+?{":
            raise PatternError("has a quantifier after a quantifier at character %d (lazy and possessive "
                               "quantifiers are not supported)" % self.pos)
        return result

    def braces(self, atom):
        start = self.pos
        self.pos += 1
        lo = self.number()
        if lo is None:
            raise PatternError("has '{' at character %d that is not a repetition {n}, {n,} or {n,m} "
                               "(write \\{ for the character)" % start)
        hi = lo
        if self.peek() == ",":
            self.pos += 1
            hi = self.number()
        if self.peek() != "}":
            raise PatternError("has an unterminated repetition at character %d" % start)
        self.pos += 1
        if hi is not None and hi < lo:
            raise PatternError("has a repetition {%d,%d} whose maximum is below its minimum" % (lo, hi))
        return ("rep", atom, lo, hi)

    def number(self):
        value, digits = 0, 0
        while self.peek() is not None and "0" <= self.peek() <= "9":
            value = value * 10 + ord(self.peek()) - 0x30
            digits += 1
            self.pos += 1
            if value > MAX_REPETITION:
                raise PatternError("repeats more than %d times" % MAX_REPETITION)
        return value if digits else None

    def atom(self):
        start = self.pos
        c = self.s[self.pos]
        self.pos += 1
        if c == "^":
            return ("start",)
        if c == "$":
            return ("end",)
        if c == ".":
            return ("chars", _LINE_TERMINATORS, True)
        if c == "(":
            if self.peek() == "?":
                if self.s[self.pos + 1:self.pos + 2] != ":":
                    raise PatternError("has '(?' at character %d that is not '(?:' (lookaround, named groups and "
                                       "flags are not supported)" % start)
                self.pos += 2
            self.depth += 1
            if self.depth > MAX_GROUP_DEPTH:
                raise PatternError("nests groups more than %d deep" % MAX_GROUP_DEPTH)
            inner = self.alternation()
            self.depth -= 1
            if self.peek() != ")":
                raise PatternError("has an unclosed '(' at character %d" % start)
            self.pos += 1
            return inner
        if c == "[":
            return self.char_class(start)
        if c == "\\":
            ranges, negated = self.escape()
            return ("chars", ranges, negated)
        if c in "*+?{":
            raise PatternError("has a quantifier with nothing to repeat at character %d" % start)
        if c in "]}":
            raise PatternError("has an unescaped '%s' at character %d" % (c, start))
        return ("chars", [(ord(c), ord(c))], False)

    def char_class(self, start):
        negated = False
        if self.peek() == "^":
            negated = True
            self.pos += 1
        ranges, first = [], True
        while True:
            c = self.peek()
            if c is None:
                raise PatternError("has an unclosed '[' at character %d" % start)
            if c == "]" and not first:
                self.pos += 1
                break
            if c == "]":
                raise PatternError("has an empty class '[]' at character %d" % start)
            first = False
            low = self.class_member()
            if self.peek() == "-" and self.pos + 1 < len(self.s) and self.s[self.pos + 1] != "]":
                self.pos += 1
                high = self.class_member()
                lo, hi = _single(low), _single(high)
                if lo is None or hi is None:
                    raise PatternError("has a range with a class as an end at character %d" % self.pos)
                if hi < lo:
                    raise PatternError("has a range '%s'-'%s' that runs backwards" % (chr(lo), chr(hi)))
                ranges.append((lo, hi))
            else:
                ranges.extend(low[0] if not low[1] else _complement(low[0]))
        return ("chars", _normalized(ranges), negated)

    def class_member(self):
        c = self.s[self.pos]
        self.pos += 1
        if c == "\\":
            return self.escape()
        if c == "[":
            raise PatternError("has '[' inside a class at character %d (write \\[)" % (self.pos - 1))
        return ([(ord(c), ord(c))], False)

    def escape(self):
        c = self.peek()
        if c is None:
            raise PatternError("ends with a lone backslash")
        self.pos += 1
        if c in _LITERAL_ESCAPES:
            return ([(ord(c), ord(c))], False)
        if c in _CONTROL_ESCAPES:
            v = _CONTROL_ESCAPES[c]
            return ([(v, v)], False)
        classes = {"d": _DIGIT, "w": _WORD, "s": _SPACE}
        if c.lower() in classes:
            return (classes[c.lower()], c.isupper())
        if c == "u":
            digits = self.s[self.pos:self.pos + 4]
            if len(digits) < 4 or not all(d in _HEX for d in digits):
                raise PatternError("has '\\u' at character %d without four hex digits" % (self.pos - 2))
            v = int(digits, 16)
            if 0xD800 <= v <= 0xDFFF:
                raise PatternError("has '\\u%x', a surrogate, at character %d" % (v, self.pos - 2))
            self.pos += 4
            return ([(v, v)], False)
        raise PatternError("has an unsupported escape '\\%s' at character %d" % (c, self.pos - 2))


def _single(member):
    ranges, negated = member
    if not negated and len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return ranges[0][0]
    return None


def pattern_size(node):
    """The documented size (SchemaRegex.size): repetitions expanded."""
    kind = node[0]
    if kind == "empty":
        return 0
    if kind in ("chars", "start", "end"):
        return 1
    if kind == "seq":
        return sum(pattern_size(p) for p in node[1])
    if kind == "alt":
        return sum(pattern_size(p) for p in node[1]) + len(node[1]) - 1
    _, inner, lo, hi = node
    s = pattern_size(inner)
    if (lo, hi) in ((0, 1), (0, None), (1, None)):
        return s + 1
    times = lo + 1 if hi is None else hi
    return max(1, s * times)


def _python_regex(node):
    kind = node[0]
    if kind == "empty":
        return ""
    if kind == "start":
        return r"\A"
    if kind == "end":
        return r"\Z"
    if kind == "chars":
        _, ranges, negated = node
        body = "".join("\\U%08x" % lo if lo == hi else "\\U%08x-\\U%08x" % (lo, hi) for lo, hi in ranges)
        return "[%s%s]" % ("^" if negated else "", body)
    if kind == "seq":
        return "".join(_python_regex(p) for p in node[1])
    if kind == "alt":
        return "(?:%s)" % "|".join(_python_regex(p) for p in node[1])
    _, inner, lo, hi = node
    suffix = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((lo, hi))
    if suffix is None:
        suffix = "{%d,}" % lo if hi is None else "{%d,%d}" % (lo, hi)
    return "(?:%s)%s" % (_python_regex(inner), suffix)


def compile_pattern(pattern):
    """A `pattern` of the subset as a compiled `re` (search, unanchored); PatternError if outside it."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError("is %d characters long; the maximum is %d" % (len(pattern), MAX_PATTERN_LENGTH))
    tree = _PatternParser(pattern).parse_all()
    size = pattern_size(tree)
    if size > MAX_PATTERN_SIZE:
        raise PatternError("has size %d once its repetitions are expanded; the maximum is %d" % (size, MAX_PATTERN_SIZE))
    return re.compile(_python_regex(tree))
