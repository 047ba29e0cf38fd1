"""The llm mind: prompts, tool calls turned into kernel calls, malformed calls reported
back to the model, JSON-schema mode, and waiting out an exhausted budget."""
import json
import unittest

from agent import schema
from agent.llm_mind import parse_decision
from tests.fake_supervisor import FakeSupervisor
from tests.fake_world import FakeWorld, err


def tool_reply(name, arguments, call_id="c1", content=""):
    return {"ok": True, "result": {"message": {"content": content, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}]},
        "usage": {"prompt_tokens": 10, "completion_tokens": 5}, "cost_microdollars": 3}}


def text_reply(content):
    return {"ok": True, "result": {"message": {"content": content, "tool_calls": []}, "usage": {}, "cost_microdollars": 1}}


class Scripted:
    """The gateway's answers, in order; after the script, the model naps."""

    def __init__(self, answers):
        self.answers = list(answers)

    def __call__(self, caller, params):
        if self.answers:
            return self.answers.pop(0)
        return tool_reply("sleep", json.dumps({"seconds": 1}), call_id="nap")


def run_llm(answers, max_calls=60, **start):
    world = FakeWorld(neighbours=False, faults=False)
    world.llm = Scripted(answers)
    sup = FakeSupervisor(world, max_calls=max_calls)
    fields = {"mind": "llm", "model": "test-model", "structured_output": "tools", "pace": 0}
    fields.update(start)
    code = sup.run_agent(**fields)
    return sup, world, code


def after_llm(sup, n):
    """The calls between the n-th llm call and the next one."""
    idx = [i for i, (a, _) in enumerate(sup.calls) if a == "llm"]
    end = idx[n + 1] if n + 1 < len(idx) else len(sup.calls)
    return sup.calls[idx[n] + 1:end]


class LLMMindTests(unittest.TestCase):
    def test_a_tool_call_becomes_the_kernel_call(self):
        sup, world, code = run_llm([
            tool_reply("invoke", json.dumps({"artifact_id": "genesis_ledger", "method": "balance", "args": []})),
            tool_reply("write", json.dumps({"artifact_id": "alpha.mem.1", "content": "remember me",
                                            "kind": "memory", "contract": "genesis_private"}), call_id="c2"),
        ])
        self.assertEqual(code, 0)
        self.assertEqual(after_llm(sup, 0)[0],
                         ("invoke", {"artifact_id": "genesis_ledger", "method": "balance", "args": []}))
        self.assertEqual(after_llm(sup, 1)[0][0], "write")
        self.assertEqual(world.artifacts["alpha.mem.1"]["access_contract_id"], "genesis_private")
        self.assertEqual(world.artifacts["alpha.mem.1"]["kind"], "memory")
        # The result went back to the model as the answer to its call.
        second = world.llm_requests[1]["messages"]
        tool_msgs = [m for m in second if m["role"] == "tool"]
        self.assertEqual(tool_msgs[0]["tool_call_id"], "c1")
        self.assertEqual(json.loads(tool_msgs[0]["content"])["result"]["scrip"], 100)
        decisions = [t["data"] for t in sup.traces if t["kind"] == "decision" and t["data"].get("action") == "invoke"]
        self.assertEqual(decisions[0]["outcome"], "ok")
        self.assertEqual(decisions[0]["cost_microdollars"], 3)

    def test_the_request_offers_the_actions_as_tools_and_injects_the_world(self):
        sup, world, _ = run_llm([], max_calls=20)
        req = world.llm_requests[0]
        self.assertEqual(req["model"], "test-model")
        self.assertEqual(sorted(t["function"]["name"] for t in req["tools"]),
                         sorted(["observe", "read", "write", "edit", "delete", "invoke", "sleep", "noop"]))
        system = req["messages"][0]
        self.assertEqual(system["role"], "system")
        self.assertIn("test agent", system["content"])                 # the agent's prompt
        self.assertIn("How the world works (handbook_overview)", system["content"])
        self.assertIn("How the world works (handbook_store)", system["content"])
        self.assertIn("scrip 100", system["content"])
        self.assertIn("time: 1000.", system["content"])                    # the world's clock, not the wall clock
        self.assertEqual(req["messages"][-1]["role"], "user")
        # The handbook is read once, at start.
        reads = [p["artifact_id"] for a, p in sup.calls if a == "read"]
        self.assertEqual(len(reads), len(set(reads)))

    def test_malformed_calls_are_not_performed_and_reported_exactly(self):
        sup, world, code = run_llm([
            tool_reply("invoke", "{not json"),
            tool_reply("teleport", "{}", call_id="c2"),
            tool_reply("read", json.dumps({"id": "x"}), call_id="c3"),
            tool_reply("sleep", json.dumps({"seconds": "soon"}), call_id="c4"),
            text_reply("I think I will wait."),
        ], max_calls=80)
        self.assertEqual(code, 0)
        for n in range(5):
            # Nothing the model asked for was performed: only the mind's own observe/recall/pace calls follow.
            performed = [a for a, p in after_llm(sup, n)
                         if a not in ("observe", "sleep") and not (a == "invoke" and p["method"] == "search")]
            self.assertEqual(performed, [], n)
        feedback = [json.dumps(r["messages"]) for r in world.llm_requests[1:6]]
        self.assertIn("not valid JSON", feedback[0])
        self.assertIn("unknown action 'teleport'", feedback[1])
        self.assertIn("read.arguments.artifact_id is required", feedback[2])
        self.assertIn("sleep.arguments.seconds must be number, got string", feedback[3])
        self.assertIn("called no tool", feedback[4])
        malformed = [t["data"] for t in sup.traces if t["data"].get("outcome") == "malformed"]
        self.assertEqual(len(malformed), 5)
        self.assertEqual(malformed[0]["raw"], "{not json")
        # Every tool call in the history is answered, so the next request is valid for the API.
        for req in world.llm_requests:
            asked = [c["id"] for m in req["messages"] if m["role"] == "assistant" for c in m.get("tool_calls", [])]
            answered = [m["tool_call_id"] for m in req["messages"] if m["role"] == "tool"]
            self.assertEqual(asked, answered)

    def test_json_schema_mode_when_the_backend_lacks_tools(self):
        decision = {"action": "invoke", "params": {"artifact_id": "genesis_event_log", "method": "publish",
                                                   "args": ["news", {"x": 1}]}, "reason": "tell everyone"}
        sup, world, code = run_llm([text_reply("```json\n" + json.dumps(decision) + "\n```"),
                                    text_reply("{\"action\": \"fly\", \"params\": {}, \"reason\": \"\"}"),
                                    text_reply(json.dumps({"action": "noop", "params": {}, "reason": "rest"}))],
                                   max_calls=40, structured_output="json_schema")
        self.assertEqual(code, 0)
        req = world.llm_requests[0]
        self.assertNotIn("tools", req)
        self.assertEqual(req["schema"], schema.decision_schema())
        self.assertEqual(after_llm(sup, 0)[0], ("invoke", decision["params"]))
        self.assertTrue(any(e["type"] == "custom" and e["data"]["topic"] == "news" for e in world.events))
        self.assertIn("unknown action 'fly'", json.dumps(world.llm_requests[2]["messages"]))
        self.assertEqual(after_llm(sup, 2)[0], ("noop", {}))

    def test_budget_exhausted_sleeps_on_the_llm_budget(self):
        sup, world, code = run_llm([err("BUDGET_EXHAUSTED", "llm_budget of alpha holds 0", details={"limit": "agent_budget"})],
                                   max_calls=25)
        self.assertEqual(code, 0)
        self.assertEqual(after_llm(sup, 0)[0], ("sleep", {"balance": {"resource": "llm_budget", "gte": 1}}))

    def test_rate_limited_sleeps_for_retry_after(self):
        sup, _, _ = run_llm([err("RATE_LIMITED", "slow", retry_after=7.5)], max_calls=25)
        self.assertEqual(after_llm(sup, 0)[0], ("sleep", {"seconds": 7.5}))

    def test_memories_matching_recent_events_are_in_the_prompt(self):
        world = FakeWorld(neighbours=False, faults=False)
        world.add_agent("beta")
        world.handle("alpha", "write", {"artifact_id": "alpha.mem.1", "content": "beta never repays loans",
                                        "kind": "memory", "contract": "genesis_private"})
        world.handle("beta", "invoke", {"artifact_id": "genesis_event_log", "method": "publish", "args": ["x", {}]})
        world.llm = Scripted([])
        sup = FakeSupervisor(world, max_calls=20)
        sup.run_agent(mind="llm", pace=0)
        self.assertIn("beta never repays loans", world.llm_requests[0]["messages"][0]["content"])

    def test_parse_decision(self):
        self.assertEqual(parse_decision('{"action":"noop"}')[0], {"action": "noop", "params": {}})
        self.assertIn("not valid JSON", parse_decision("noop please")[1])
        self.assertIn("JSON object", parse_decision("[1]")[1])


if __name__ == "__main__":
    unittest.main()
