"""Every tool the heuristic mind writes is real: it runs, gives the right answers, and
its interface is one the kernel accepts. Also run through the real sandbox runner."""
import hashlib
import inspect
import json
import os
import re
import socket
import subprocess
import sys
import unittest

import wire
from agent import schema, tools_library

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (tool, example index) -> expected result, computed by hand.
EXPECTED = {
    ("text_stats", 0): {"characters": 51, "words": 11, "lines": 1, "unique_words": 9,
                        "top_words": [["the", 3], ["brown", 1], ["dog", 1], ["end", 1], ["fox", 1]]},
    ("sort_values", 0): [1, 3, 5, 7, 9],
    ("sort_values", 1): ["pear", "apple", 3, 1.5],
    ("is_prime", 0): True, ("is_prime", 1): True, ("is_prime", 2): False,
    ("next_prime", 0): 101, ("next_prime", 1): 7927,
    ("format_json", 0): {"valid": True, "formatted": "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": 1\n}"},
    ("to_roman", 0): "MCMXCIV", ("to_roman", 1): "MMXXIV",
    ("from_roman", 0): 1994, ("from_roman", 1): 42,
    ("caesar", 0): "Khoor, Zruog", ("caesar", 1): "Hello",
    ("describe", 0): {"count": 8, "mean": 5.0, "median": 4.5, "min": 2, "max": 9, "stdev": 2.0},
    ("slugify", 0): "hello-world-ecology-101", ("slugify", 1): "a-tool-for",
    ("checksum", 0): "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ("fibonacci", 0): [0, 1, 1, 2, 3, 5, 8, 13, 21, 34],
    ("gcd_lcm", 0): {"gcd": 6, "lcm": 36}, ("gcd_lcm", 1): {"gcd": 3, "lcm": 42},
    ("to_base", 0): "ff", ("to_base", 1): "1010",
    ("is_palindrome", 0): True, ("is_palindrome", 1): False,
}


EXPECTED[("checksum", 1)] = hashlib.md5(b"ecology").hexdigest()


def load(entry, invoke=None):
    env = {"__name__": "artifact", "invoke": invoke or (lambda *a: (_ for _ in ()).throw(AssertionError("no kernel")))}
    exec(compile(entry["code"], "<%s>" % entry["key"], "exec"), env)
    return env


class ToolsLibraryTests(unittest.TestCase):
    def test_interfaces_are_valid_and_signatures_follow_the_kernels_positional_order(self):
        keys = set()
        for entry in tools_library.LIBRARY:
            self.assertNotIn(entry["key"], keys)
            keys.add(entry["key"])
            self.assertRegex(entry["key"], r"^[A-Za-z0-9_.-]{1,40}$")
            self.assertIsInstance(entry["price"], int)
            self.assertGreater(entry["price"], 0)
            env = load(entry)
            names = set()
            for tool in tools_library.interface(entry)["tools"]:
                self.assertRegex(tool["name"], r"^\w{1,64}$")
                self.assertNotIn(tool["name"], names)
                names.add(tool["name"])
                self.assertTrue(tool["description"])
                s = tool["inputSchema"]
                self.assertEqual(s["type"], "object")
                self.assertTrue(callable(env.get(tool["name"])), "%s defines no %s" % (entry["key"], tool["name"]))
                params = list(inspect.signature(env[tool["name"]]).parameters)
                self.assertEqual(params, tools_library.parameter_order(s), tool["name"])
                self.assertTrue(s["examples"], tool["name"])
                for ex in s["examples"]:
                    self.assertIsNone(schema.check(ex, s, "example"), (tool["name"], ex))
            json.dumps(tools_library.interface(entry))  # the interface must travel as JSON

    def test_every_example_runs_and_gives_the_right_answer(self):
        checked = 0
        for entry in tools_library.LIBRARY:
            if entry["key"] == "catalog":
                continue  # needs the kernel: see the runner test
            env = load(entry)
            for tool in entry["tools"]:
                for i, ex in enumerate(tool["inputSchema"]["examples"]):
                    args = tools_library.positional_args(tool["inputSchema"], ex)
                    got = env[tool["name"]](*args)
                    json.dumps(got)
                    if (tool["name"], i) in EXPECTED:
                        self.assertEqual(got, EXPECTED[(tool["name"], i)], (tool["name"], ex))
                        checked += 1
        self.assertEqual(checked, len(EXPECTED))

    def test_tools_reject_bad_input_with_an_exception_not_a_wrong_answer(self):
        env = {}
        for entry in tools_library.LIBRARY:
            env.update(load(entry))
        for fn, args in (("to_roman", [0]), ("from_roman", ["IIII"]), ("describe", [[]]), ("to_base", [5, 1]),
                         ("checksum", ["x", "crc"]), ("fibonacci", [500])):
            with self.assertRaises(ValueError, msg=fn):
                env[fn](*args)
        self.assertEqual(env["format_json"]("{oops")["valid"], False)
        self.assertFalse(env["is_prime"](1))
        self.assertTrue(env["is_prime"](2))
        self.assertEqual([n for n in range(60) if env["is_prime"](n)],
                         [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59])
        self.assertTrue(env["is_prime"](2 ** 61 - 1))
        self.assertFalse(env["is_prime"](3215031751))  # a strong pseudoprime to bases 2, 3, 5, 7

    def test_catalog_calls_the_kernel_through_invoke(self):
        seen = []

        def invoke(artifact_id, method, *args):
            seen.append((artifact_id, method, args))
            return [{"id": "beta.primes", "owner_id": "beta", "price": 2,
                     "interface": {"tools": [{"name": "is_prime"}, {"name": "next_prime"}]}}]
        env = load(tools_library.BY_KEY["catalog"], invoke)
        self.assertEqual(env["catalog"](5), [{"id": "beta.primes", "owner": "beta", "price": 2,
                                              "methods": ["is_prime", "next_prime"]}])
        self.assertEqual(seen, [("genesis_store", "list", ({"kind": "tool", "limit": 5},))])

    def test_positional_args_stop_at_the_last_given_and_refuse_gaps(self):
        s = {"properties": {"text": {}, "indent": {}, "sort_keys": {}}, "required": ["text"]}
        self.assertEqual(tools_library.positional_args(s, {"text": "t"}), ["t"])
        self.assertEqual(tools_library.positional_args(s, {"text": "t", "indent": 4}), ["t", 4])
        self.assertIsNone(tools_library.positional_args(s, {"text": "t", "sort_keys": False}))


class RunnerTests(unittest.TestCase):
    """Each tool through sandbox/runner.py, the code that runs artifacts in the sandbox."""

    def run_in_runner(self, entry, method, args, kernel_result=None):
        ours, theirs = socket.socketpair()
        boot = "import os,sys; os.dup2(int(sys.argv[1]), 3); sys.path.insert(0, sys.argv[2]); import runner; runner.main()"
        proc = subprocess.Popen([sys.executable, "-c", boot, str(theirs.fileno()), HERE], pass_fds=(theirs.fileno(),))
        theirs.close()
        try:
            wire.send({"type": "execute", "id": 0, "kind": "artifact", "artifact_id": "t." + entry["key"],
                       "code": entry["code"], "method": method, "args": args, "caller": "alpha", "depth": 1},
                      fd=ours.fileno())
            while True:
                msg = wire.recv(fd=ours.fileno())
                if msg["type"] == "call":
                    wire.send({"type": "reply", "id": msg["id"], "response": {"ok": True, "result": kernel_result}},
                              fd=ours.fileno())
                    continue
                return msg["response"]
        finally:
            ours.close()
            self.assertEqual(proc.wait(20), 0)

    def test_every_tool_runs_in_the_runner(self):
        for entry in tools_library.LIBRARY:
            tool = entry["tools"][0]
            args = tools_library.positional_args(tool["inputSchema"], tool["inputSchema"]["examples"][0])
            listed = [{"id": "x.y", "owner_id": "x", "price": 1, "interface": {"tools": [{"name": "m"}]}}]
            resp = self.run_in_runner(entry, tool["name"], args, kernel_result=listed)
            self.assertTrue(resp["ok"], (entry["key"], resp))
            if (tool["name"], 0) in EXPECTED:
                self.assertEqual(resp["result"], EXPECTED[(tool["name"], 0)])
        resp = self.run_in_runner(tools_library.BY_KEY["roman"], "to_roman", [0])
        self.assertEqual(resp["error"]["code"], "EXECUTION_ERROR")
        self.assertTrue(re.search("ValueError", resp["error"]["message"]))


if __name__ == "__main__":
    unittest.main()
