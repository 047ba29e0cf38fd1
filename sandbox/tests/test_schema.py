"""The agent's JSON Schema checker (agent/schema.py) against the cases the supervisor's
`JSONSchema` runs too (Tests/Fixtures/json-schema-cases.json, also read by
Tests/EcologyCoreTests/JSONSchemaTests.swift): the same schemas accepted and refused,
with the same keyword and path, and the same mismatches."""
import json
import os
import unittest

from agent import schema, tools_library

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES_PATH = os.path.join(REPO, "Tests", "Fixtures", "json-schema-cases.json")


def load_cases():
    with open(CASES_PATH, encoding="utf-8") as f:
        return json.load(f)


class SharedCaseTests(unittest.TestCase):
    def test_the_cases_file_is_there_and_substantial(self):
        cases = load_cases()
        self.assertGreater(len(cases["accepted"]), 40)
        self.assertGreater(len(cases["refused"]), 70)

    def test_accepted_schemas_validate_as_the_supervisor_does(self):
        for case in load_cases()["accepted"]:
            with self.subTest(case["description"]):
                compiled = schema.compile(case["schema"])
                for instance in case["valid"]:
                    self.assertIsNone(compiled.first_mismatch(instance, "args"), (case["description"], instance))
                for bad in case["invalid"]:
                    m = compiled.first_mismatch(bad["instance"], "args")
                    self.assertIsNotNone(m, (case["description"], bad["instance"]))
                    self.assertEqual((m.keyword, m.path), (bad["keyword"], bad["path"]),
                                     (case["description"], bad["instance"], m.message))

    def test_refused_schemas_name_the_keyword_and_path(self):
        for case in load_cases()["refused"]:
            with self.subTest(case["description"]):
                with self.assertRaises(schema.SchemaError) as caught:
                    schema.compile(case["schema"])
                self.assertEqual((caught.exception.keyword, caught.exception.path), (case["keyword"], case["path"]),
                                 str(caught.exception))


class SchemaTests(unittest.TestCase):
    def test_the_minds_own_schemas_and_the_tool_library_use_only_the_subset(self):
        for name in schema.ACTIONS:
            schema.compile(schema.parameters(name))
        schema.compile(schema.decision_schema())
        for entry in tools_library.LIBRARY:
            for tool in entry["tools"]:
                compiled = schema.compile(tool["inputSchema"], "inputSchema")
                for example in tool["inputSchema"]["examples"]:
                    self.assertIsNone(compiled.first_mismatch(example))

    def test_messages_name_the_path_and_what_was_expected(self):
        params = schema.parameters("sleep")
        self.assertEqual(schema.check({"seconds": "x"}, params, "sleep.arguments"),
                         "sleep.arguments.seconds must be number, got string")
        self.assertIn("is not an accepted parameter (accepted: balance, event, seconds)",
                      schema.check({"minutes": 1}, params, "sleep.arguments"))
        self.assertIsNone(schema.check({"seconds": 3}, params))

    def test_a_refusal_carries_the_keyword(self):
        with self.assertRaises(schema.SchemaError) as caught:
            schema.check(1, {"type": "integer", "format": "int32"})
        self.assertEqual(caught.exception.keyword, "format")
        self.assertIn("schema.format uses 'format', which is not a supported keyword", str(caught.exception))

    def test_patterns_become_equivalent_python_expressions(self):
        # `$` is the end of the text, never before a final newline as in Python's own `$`.
        self.assertIsNone(schema.compile_pattern("^a$").search("a\n"))
        self.assertIsNotNone(schema.compile_pattern("^a$").search("a"))
        # \d is ASCII only, as in ECMA-262 (Python's \d matches every Unicode digit).
        self.assertIsNone(schema.compile_pattern("\\d").search("\u0661"))
        self.assertEqual(schema.pattern_size(schema._PatternParser("(ab){3}|c*").parse_all()), 6 + 1 + 2)


if __name__ == "__main__":
    unittest.main()
