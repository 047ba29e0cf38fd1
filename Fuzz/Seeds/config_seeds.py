#!/usr/bin/env python3
"""Seeds for the config-loader fuzzer: the shipped config/ecology.yaml, and every YAML
text the config tests load (accepted and rejected ones alike), written to
Corpus/ConfigLoaderFuzz/. Deterministic. Usage: python3 Fuzz/Seeds/config_seeds.py
"""
import glob
import hashlib
import os
import re

FUZZ = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(FUZZ)
OUT = os.path.join(FUZZ, "Corpus", "ConfigLoaderFuzz")


def swift_string(body):
    """The value of a one-line Swift string literal's body (the escapes the tests use)."""
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def multiline(block):
    """The value of a Swift multi-line literal: indentation of the closing quotes removed."""
    lines = block.split("\n")
    indent = len(lines[-1]) - len(lines[-1].lstrip())
    return "\n".join(l[indent:] for l in lines[:-1]) + "\n"


def texts():
    with open(os.path.join(ROOT, "config", "ecology.yaml"), encoding="utf-8") as f:
        yield "shipped-ecology.yaml", f.read()
    for path in sorted(glob.glob(os.path.join(ROOT, "Tests", "EcologyConfigTests", "*.swift"))):
        source = open(path, encoding="utf-8").read()
        for m in re.finditer(r'"""\n(.*?\n[ \t]*)"""', source, re.S):
            yield None, multiline(m.group(1))
        for m in re.finditer(r'(?:yaml:|assertRejected\()\s*"((?:[^"\\\n]|\\.)*)"', source):
            yield None, swift_string(m.group(1))


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, text in texts():
        data = text.encode("utf-8")
        name = name or "test-" + hashlib.sha1(data).hexdigest()[:16] + ".yaml"
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
