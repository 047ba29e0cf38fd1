"""Python tools the heuristic mind writes as artifacts: real, working code.

Each entry is one artifact: `code` defines a function per tool named as the tool
(sandbox/runner.py calls `fn(*args)` with the invoke's positional args), and
`interface` is the MCP-style `{"tools":[{"name","description","inputSchema"}]}`.
Positional order is the kernel's: the `required` names in order, then optional
properties alphabetically, so every signature below follows that order.
Each inputSchema carries JSON Schema `examples` (the kernel ignores the keyword):
other agents build valid calls from them without knowing the tool.
"""
import json

TEXT_STATS = '''
def text_stats(text):
    """Counts of characters, words, lines and the most common words."""
    words = [w.strip(".,;:!?\\"'()[]{}").lower() for w in text.split()]
    words = [w for w in words if w]
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return {"characters": len(text), "words": len(words), "lines": len(text.splitlines()) if text else 0,
            "unique_words": len(counts), "top_words": [[w, c] for w, c in top]}
'''

SORTER = '''
def sort_values(values, descending=False):
    """Sorts numbers and strings together: numbers first (by value), then strings."""
    def key(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return (1, str(v))
        return (0, v)
    return sorted(values, key=key, reverse=bool(descending))
'''

PRIMES = '''
def _is_prime(n):
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in small:  # deterministic Miller-Rabin for n < 3.3e24
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def is_prime(n):
    """Whether n is prime."""
    return _is_prime(n)


def next_prime(n):
    """The smallest prime greater than n."""
    m = max(n + 1, 2)
    while not _is_prime(m):
        m += 1
    return m
'''

JSON_FORMAT = '''
import json


def format_json(text, indent=2, sort_keys=True):
    """Validates JSON text and pretty-prints it; reports where it is broken."""
    try:
        value = json.loads(text)
    except ValueError as e:
        return {"valid": False, "error": str(e)}
    return {"valid": True, "formatted": json.dumps(value, indent=indent, sort_keys=bool(sort_keys), ensure_ascii=False)}
'''

ROMAN = '''
_NUMERALS = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
             (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def to_roman(n):
    """Roman numeral of 1..3999."""
    if not 1 <= n <= 3999:
        raise ValueError("n must be 1..3999")
    out = []
    for value, numeral in _NUMERALS:
        while n >= value:
            out.append(numeral)
            n -= value
    return "".join(out)


def from_roman(numeral):
    """Integer value of a Roman numeral (validated by re-encoding)."""
    values = dict((s, v) for v, s in _NUMERALS if len(s) == 1)
    total = 0
    s = numeral.upper()
    for i, ch in enumerate(s):
        if ch not in values:
            raise ValueError("not a Roman digit: %r" % ch)
        v = values[ch]
        total += -v if i + 1 < len(s) and values.get(s[i + 1], 0) > v else v
    if not 1 <= total <= 3999 or to_roman(total) != s:
        raise ValueError("not a canonical Roman numeral: %r" % numeral)
    return total
'''

CAESAR = '''
def caesar(text, shift):
    """Shifts letters by `shift` places (negative shifts decode); keeps everything else."""
    out = []
    for ch in text:
        if "a" <= ch <= "z":
            out.append(chr((ord(ch) - 97 + shift) % 26 + 97))
        elif "A" <= ch <= "Z":
            out.append(chr((ord(ch) - 65 + shift) % 26 + 65))
        else:
            out.append(ch)
    return "".join(out)
'''

DESCRIBE = '''
import statistics


def describe(values):
    """Count, mean, median, min, max and population standard deviation of numbers."""
    if not values:
        raise ValueError("values must not be empty")
    return {"count": len(values), "mean": statistics.fmean(values), "median": statistics.median(values),
            "min": min(values), "max": max(values), "stdev": statistics.pstdev(values)}
'''

SLUGIFY = '''
import re


def slugify(text, max_length=64):
    """Lower-case words joined by hyphens, for IDs and URLs."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].rstrip("-")
'''

CHECKSUM = '''
import hashlib


def checksum(text, algorithm="sha256"):
    """Hex digest of the UTF-8 text (sha256, sha1 or md5)."""
    if algorithm not in ("sha256", "sha1", "md5"):
        raise ValueError("algorithm must be sha256, sha1 or md5")
    return hashlib.new(algorithm, text.encode("utf-8")).hexdigest()
'''

FIBONACCI = '''
def fibonacci(n):
    """The first n Fibonacci numbers (n <= 200)."""
    if not 0 <= n <= 200:
        raise ValueError("n must be 0..200")
    out, a, b = [], 0, 1
    for _ in range(n):
        out.append(a)
        a, b = b, a + b
    return out
'''

GCD_LCM = '''
import math


def gcd_lcm(a, b):
    """Greatest common divisor and least common multiple of two integers."""
    g = math.gcd(a, b)
    return {"gcd": g, "lcm": abs(a * b) // g if g else 0}
'''

BASE_CONVERT = '''
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def to_base(n, base):
    """n written in base 2..36."""
    if not 2 <= base <= 36:
        raise ValueError("base must be 2..36")
    if n == 0:
        return "0"
    sign, n, out = ("-" if n < 0 else ""), abs(n), []
    while n:
        n, r = divmod(n, base)
        out.append(_DIGITS[r])
    return sign + "".join(reversed(out))
'''

PALINDROME = '''
def is_palindrome(text):
    """Whether the letters and digits of text read the same both ways (case ignored)."""
    s = [c.lower() for c in text if c.isalnum()]
    return s == s[::-1]
'''

# Calls back into the kernel from inside the sandbox: runner.py gives tool code `invoke`.
CATALOG = '''
def catalog(limit=10):
    """Tools in the world with their owners, prices and methods (asks genesis_store)."""
    found = invoke("genesis_store", "list", {"kind": "tool", "limit": limit})
    out = []
    for a in found:
        names = [t.get("name") for t in ((a.get("interface") or {}).get("tools") or [])]
        out.append({"id": a.get("id"), "owner": a.get("owner_id"), "price": a.get("price"), "methods": names})
    return out
'''


HISTOGRAM = '''
def histogram(values, bins=5):
    """Counts of numbers in equal-width bins between their minimum and maximum."""
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not nums:
        return {"bins": [], "counts": []}
    lo, hi = min(nums), max(nums)
    bins = max(1, min(50, int(bins)))
    width = (hi - lo) / bins or 1
    counts = [0] * bins
    for v in nums:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    return {"bins": [[lo + i * width, lo + (i + 1) * width] for i in range(bins)], "counts": counts}
'''

ACRONYM = '''
def acronym(text):
    """The initials of the words of text, upper-cased."""
    return "".join(w[0].upper() for w in text.split() if w[:1].isalpha())
'''


def _schema(props, required, examples):
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False, "examples": examples}


def _tool(name, description, props, required, examples):
    return {"name": name, "description": description, "inputSchema": _schema(props, required, examples)}


STR = {"type": "string"}
INT = {"type": "integer"}

# key -> artifact recipe. `price` is scrip per call; `keywords` help others find it by search.
LIBRARY = [
    {"key": "textstats", "price": 2, "code": TEXT_STATS, "keywords": "text statistics words count",
     "tools": [_tool("text_stats", "Character, word and line counts and the top words of a text.",
                     {"text": {"type": "string", "maxLength": 20000}}, ["text"],
                     [{"text": "the quick brown fox jumps over the lazy dog the end"},
                      {"text": "markets clear when buyers and sellers agree\nscrip flows"}])]},
    {"key": "sorter", "price": 1, "code": SORTER, "keywords": "sort list numbers strings",
     "tools": [_tool("sort_values", "Sort a list of numbers and strings (numbers first).",
                     {"values": {"type": "array", "maxItems": 10000}, "descending": {"type": "boolean"}}, ["values"],
                     [{"values": [5, 3, 9, 1, 7]}, {"values": ["pear", "apple", 3, 1.5], "descending": True}])]},
    {"key": "primes", "price": 2, "code": PRIMES, "keywords": "prime number checker math",
     "tools": [_tool("is_prime", "Whether an integer is prime (deterministic Miller-Rabin).",
                     {"n": INT}, ["n"], [{"n": 97}, {"n": 7919}, {"n": 1000001}]),
               _tool("next_prime", "The smallest prime greater than n.", {"n": INT}, ["n"], [{"n": 100}, {"n": 7920}])]},
    {"key": "jsonfmt", "price": 1, "code": JSON_FORMAT, "keywords": "json formatter validator pretty",
     "tools": [_tool("format_json", "Validate JSON text and pretty-print it with sorted keys.",
                     {"text": {"type": "string", "maxLength": 100000}, "indent": {"type": "integer", "minimum": 0, "maximum": 8},
                      "sort_keys": {"type": "boolean"}}, ["text"],
                     [{"text": "{\"b\": 1, \"a\": [1, 2]}"}, {"text": "{\"open\": true", "indent": 4}])]},
    {"key": "roman", "price": 1, "code": ROMAN, "keywords": "roman numerals converter",
     "tools": [_tool("to_roman", "Roman numeral of an integer 1..3999.", {"n": {"type": "integer", "minimum": 1, "maximum": 3999}},
                     ["n"], [{"n": 1994}, {"n": 2024}]),
               _tool("from_roman", "Integer value of a Roman numeral.", {"numeral": STR}, ["numeral"],
                     [{"numeral": "MCMXCIV"}, {"numeral": "XLII"}])]},
    {"key": "caesar", "price": 1, "code": CAESAR, "keywords": "caesar cipher encode text",
     "tools": [_tool("caesar", "Shift letters by a number of places (negative decodes).",
                     {"text": STR, "shift": INT}, ["text", "shift"],
                     [{"text": "Hello, World", "shift": 3}, {"text": "Khoor", "shift": -3}])]},
    {"key": "describe", "price": 2, "code": DESCRIBE, "keywords": "statistics mean median numbers",
     "tools": [_tool("describe", "Count, mean, median, min, max and standard deviation of numbers.",
                     {"values": {"type": "array", "items": {"type": "number"}, "minItems": 1}}, ["values"],
                     [{"values": [2, 4, 4, 4, 5, 5, 7, 9]}, {"values": [1.5, 2.5, 10]}])]},
    {"key": "slugify", "price": 1, "code": SLUGIFY, "keywords": "slug text url identifier",
     "tools": [_tool("slugify", "Lower-case words joined by hyphens.",
                     {"text": STR, "max_length": {"type": "integer", "minimum": 1, "maximum": 128}}, ["text"],
                     [{"text": "Hello, World: Ecology 101!"}, {"text": "A Tool For Everyone", "max_length": 10}])]},
    {"key": "checksum", "price": 1, "code": CHECKSUM, "keywords": "hash checksum sha256 digest",
     "tools": [_tool("checksum", "Hex digest of a text (sha256, sha1 or md5).",
                     {"text": STR, "algorithm": {"type": "string", "enum": ["sha256", "sha1", "md5"]}}, ["text"],
                     [{"text": "abc"}, {"text": "ecology", "algorithm": "md5"}])]},
    {"key": "fibonacci", "price": 1, "code": FIBONACCI, "keywords": "fibonacci sequence numbers",
     "tools": [_tool("fibonacci", "The first n Fibonacci numbers.", {"n": {"type": "integer", "minimum": 0, "maximum": 200}},
                     ["n"], [{"n": 10}, {"n": 30}])]},
    {"key": "gcdlcm", "price": 1, "code": GCD_LCM, "keywords": "gcd lcm divisor math",
     "tools": [_tool("gcd_lcm", "Greatest common divisor and least common multiple.", {"a": INT, "b": INT}, ["a", "b"],
                     [{"a": 12, "b": 18}, {"a": 21, "b": 6}])]},
    {"key": "base", "price": 1, "code": BASE_CONVERT, "keywords": "base converter binary hex",
     "tools": [_tool("to_base", "Write an integer in base 2..36.", {"n": INT, "base": {"type": "integer", "minimum": 2, "maximum": 36}},
                     ["n", "base"], [{"n": 255, "base": 16}, {"n": 10, "base": 2}])]},
    {"key": "palindrome", "price": 1, "code": PALINDROME, "keywords": "palindrome text checker",
     "tools": [_tool("is_palindrome", "Whether a text reads the same both ways (letters and digits).",
                     {"text": STR}, ["text"], [{"text": "A man, a plan, a canal: Panama"}, {"text": "ecology"}])]},
    {"key": "catalog", "price": 1, "code": CATALOG, "keywords": "catalog directory tools list",
     "tools": [_tool("catalog", "Tools in the world with owners, prices and methods.",
                     {"limit": {"type": "integer", "minimum": 1, "maximum": 50}}, [], [{"limit": 5}, {}])]},
]

LIBRARY += [
    {"key": "histogram", "price": 2, "code": HISTOGRAM, "keywords": "histogram bins numbers distribution",
     "tools": [_tool("histogram", "Counts of numbers in equal-width bins.",
                     {"values": {"type": "array"}, "bins": {"type": "integer", "minimum": 1, "maximum": 50}}, ["values"],
                     [{"values": [1, 2, 2, 3, 9, 4, 4]}, {"values": [0.5, 1.5, 7], "bins": 3}])]},
    {"key": "acronym", "price": 1, "code": ACRONYM, "keywords": "acronym initials text words",
     "tools": [_tool("acronym", "The initials of the words of a text, upper-cased.", {"text": STR}, ["text"],
                     [{"text": "portable network graphics"}, {"text": "as soon as possible"}])]},
]

# Specialization: every tool belongs to one family; an agent is good at one family
# (cheap to write and sell) and must buy the others.
FAMILIES = ("text", "math", "stats", "data")
_FAMILY_OF_KEY = {
    "textstats": "text", "slugify": "text", "caesar": "text", "palindrome": "text", "acronym": "text",
    "primes": "math", "gcdlcm": "math", "fibonacci": "math", "roman": "math",
    "describe": "stats", "sorter": "stats", "histogram": "stats",
    "jsonfmt": "data", "checksum": "data", "base": "data", "catalog": "data",
}
for _entry in LIBRARY:
    _entry["family"] = _FAMILY_OF_KEY[_entry["key"]]

BY_KEY = {entry["key"]: entry for entry in LIBRARY}
KEYS_BY_FAMILY = {f: [e["key"] for e in LIBRARY if e["family"] == f] for f in FAMILIES}


def family_of(artifact_id):
    """The family of a tool written from this library (`<owner>.<key>`), else None."""
    key = artifact_id.split(".", 1)[1] if isinstance(artifact_id, str) and "." in artifact_id else None
    entry = BY_KEY.get(key)
    return entry["family"] if entry else None


# A firm's product: one call that runs a tool of each stage, paid from the firm's own scrip
# (tool code with standing pays for the priced tools it invokes).
BUNDLE = '''
STAGES = %s


def bundle(calls):
    """Calls each stage tool once, in order, with the positional args given for it."""
    if not isinstance(calls, list) or len(calls) != len(STAGES):
        raise ValueError("calls must be a list of %%d argument lists" %% len(STAGES))
    out = []
    for (tool_id, method), args in zip(STAGES, calls):
        if not isinstance(args, list):
            raise ValueError("the args of each call must be a list")
        out.append(invoke(tool_id, method, *args))
    return out
'''


def bundle_code(stages):
    """The code of a bundle over `stages` ([[tool id, method], ...])."""
    return BUNDLE % json.dumps(stages)


def bundle_interface(stages, families):
    """The interface of a bundle; its examples are the stages' own (library tools' examples)."""
    example = []
    for tool_id, method in stages:
        key = tool_id.split(".", 1)[1] if "." in tool_id else ""
        entry = BY_KEY.get(key)
        tool = next((t for t in entry["tools"] if t["name"] == method), None) if entry else None
        args = positional_args(tool["inputSchema"], tool["inputSchema"]["examples"][0]) if tool else []
        example.append(args or [])
    return {"tools": [_tool("bundle", "One call for %s: runs %s in order and returns their results." % (
        " and ".join(families), ", ".join(s[0] for s in stages)),
        {"calls": {"type": "array", "items": {"type": "array"}}}, ["calls"], [{"calls": example}])]}


def interface(entry):
    """The artifact interface of a library entry."""
    return {"tools": entry["tools"]}


def parameter_order(schema):
    """The kernel's positional order: required names in order, then optional ones alphabetically."""
    required = list(schema.get("required") or [])
    optional = sorted(k for k in (schema.get("properties") or {}) if k not in required)
    return required + optional


def positional_args(schema, named):
    """Positional args for a named example, stopping at the last one given (no gaps)."""
    order = parameter_order(schema)
    last = max((i for i, name in enumerate(order) if name in named), default=-1)
    out = []
    for name in order[: last + 1]:
        if name not in named:
            return None  # a gap: an optional before a given one is missing; not expressible positionally
        out.append(named[name])
    return out


def description(entry):
    """The artifact's content: what it does, for people and for full-text search."""
    lines = ["Tool: " + entry["keywords"] + "."]
    for t in entry["tools"]:
        lines.append("- %s(%s): %s" % (t["name"], ", ".join(parameter_order(t["inputSchema"])), t["description"]))
    lines.append("Examples: " + json.dumps([t["inputSchema"]["examples"][0] for t in entry["tools"]], sort_keys=True))
    return "\n".join(lines)
