"""The heuristic mind: deterministic given its seed and replies, exercises the whole
economy, and survives every error envelope."""
import json
import unittest

from tests.fake_supervisor import FakeSupervisor
from tests.fake_world import FakeWorld, err


def run(seed=7, max_calls=400, world=None, agent_id="alpha", **start):
    sup = FakeSupervisor(world or FakeWorld(), agent_id=agent_id, max_calls=max_calls)
    code = sup.run_agent(seed=seed, **start)
    return sup, code


def invokes(sup, artifact_id, method):
    return [p["args"] for a, p in sup.calls if a == "invoke" and p["artifact_id"] == artifact_id and p["method"] == method]


class DeterminismTests(unittest.TestCase):
    def test_same_seed_and_same_replies_give_the_same_calls(self):
        a, code_a = run(seed=7)
        b, code_b = run(seed=7)
        self.assertEqual((code_a, code_b), (0, 0))
        self.assertEqual(len(a.calls), 400)
        self.assertEqual(json.dumps(a.calls), json.dumps(b.calls))
        self.assertEqual(json.dumps([t["data"] for t in a.traces]), json.dumps([t["data"] for t in b.traces]))

    def test_another_seed_gives_another_run(self):
        a, _ = run(seed=7)
        b, _ = run(seed=8)
        self.assertNotEqual(json.dumps(a.calls), json.dumps(b.calls))


class CoverageTests(unittest.TestCase):
    """A few hundred steps against a world with a neighbour (beta) and a frozen principal (gamma)."""

    @classmethod
    def setUpClass(cls):
        cls.world = FakeWorld()
        cls.sup, cls.code = run(seed=7, max_calls=1500, world=cls.world)

    def test_exits_cleanly_without_crashing(self):
        self.assertEqual(self.code, 0)
        self.assertEqual([t for t in self.sup.traces if t["kind"] != "decision"], [])
        self.assertEqual(self.sup.unexpected, [])
        self.assertGreater(len([t for t in self.sup.traces if t["kind"] == "decision"]), 300)

    def test_writes_working_tools_with_interfaces_and_prices(self):
        tools = [p for a, p in self.sup.calls if a == "write" and p.get("code")]
        self.assertGreaterEqual(len(tools), 3)
        for p in tools:
            self.assertTrue(p["executable"])
            self.assertGreater(p["price"], 0)
            self.assertTrue(p["interface"]["tools"])
        ids = [p["artifact_id"] for p in tools]
        # The tools run: somebody's invocation of each that was called succeeded in the fake (real exec).
        self.assertTrue(all(i.startswith("alpha.") for i in ids))

    def test_invokes_other_agents_tools_and_they_work(self):
        used = [(p["artifact_id"], i) for i, (a, p) in enumerate(self.sup.calls)
                if a == "invoke" and p["artifact_id"].startswith("beta.")]
        self.assertTrue(used)
        self.assertTrue(any(self.sup.replies[i]["ok"] for _, i in used))

    def test_discovers_tools_through_the_store(self):
        self.assertTrue(invokes(self.sup, "genesis_store", "list") or invokes(self.sup, "genesis_store", "get_metadata"))
        self.assertTrue(invokes(self.sup, "genesis_store", "search"))

    def test_bids_on_the_mint_for_its_own_tool(self):
        bids = invokes(self.sup, "genesis_mint", "bid")
        self.assertTrue(bids)
        bought = [l["artifact_id"] for l in self.world.listings if l["buyer"] == "alpha"]
        for artifact_id, amount in bids:
            self.assertTrue(artifact_id.startswith("alpha.") or artifact_id in bought, artifact_id)
            self.assertGreaterEqual(amount, 1)

    def test_sells_and_buys_through_escrow(self):
        deposits = invokes(self.sup, "genesis_escrow", "deposit")
        self.assertTrue(deposits)
        bought = [l["artifact_id"] for l in self.world.listings if l["buyer"] == "alpha"]
        self.assertTrue(all((a.startswith("alpha.") or a in bought) and p > 0 for a, p in deposits), deposits)
        self.assertTrue(invokes(self.sup, "genesis_escrow", "list_active"))
        self.assertTrue(invokes(self.sup, "genesis_escrow", "purchase"))
        self.assertTrue(any(l["buyer"] == "alpha" for l in self.world.listings))

    def test_borrows_lends_and_repays(self):
        issued = invokes(self.sup, "genesis_debt", "issue")
        self.assertTrue(issued)
        creditor, amount, repay, due = issued[0]
        self.assertNotEqual(creditor, "alpha")
        self.assertGreaterEqual(repay, amount)
        self.assertTrue(invokes(self.sup, "genesis_debt", "accept"))
        self.assertTrue(invokes(self.sup, "genesis_debt", "repay"))
        self.assertTrue(any(d["debtor"] == "alpha" and d["status"] == "repaid" for d in self.world.debts.values()))
        self.assertTrue(any(d["debtor"] == "beta" and d["status"] != "requested" for d in self.world.debts.values()))

    def test_spawns_one_child_and_funds_it(self):
        creates = invokes(self.sup, "genesis_store", "create")
        self.assertEqual(len(creates), 1)
        config = creates[0][0]
        self.assertEqual(config["id"], "alpha-jr")
        self.assertTrue(config["standing"] and config["executable"])
        self.assertEqual(json.loads(config["content"])["mind"], "heuristic")
        self.assertIn(["alpha-jr", 15], invokes(self.sup, "genesis_ledger", "transfer"))
        quotas = invokes(self.sup, "genesis_rights_registry", "transfer_quota")
        for resource in ("compute_rate", "compute", "disk"):
            self.assertTrue(any(q[0] == "alpha-jr" and q[1] == resource for q in quotas), resource)
        self.assertGreater(self.world.principals["alpha-jr"]["rate"], 0)

    def test_rescues_the_frozen_principal(self):
        quotas = invokes(self.sup, "genesis_rights_registry", "transfer_quota")
        self.assertTrue(any(q[0] == "gamma" and q[1] == "compute" and q[2] > 0 for q in quotas))

    def test_publishes_events_and_sleeps_on_events_and_balances(self):
        topics = [a[0] for a in invokes(self.sup, "genesis_event_log", "publish")]
        self.assertIn("tools", topics)
        sleeps = [p for a, p in self.sup.calls if a == "sleep"]
        self.assertTrue(any("event" in p and p["event"].get("topic") for p in sleeps))
        self.assertTrue(any("balance" in p for p in sleeps))
        self.assertTrue(all(0 < p.get("seconds", 1) <= 60 for p in sleeps))

    def test_keeps_private_memories_and_searches_them(self):
        memories = [p for a, p in self.sup.calls if a == "write" and p.get("kind") == "memory"]
        self.assertTrue(memories)
        self.assertTrue(all(p["contract"] == "genesis_private" and p["artifact_id"].startswith("alpha.mem.")
                            for p in memories))
        live = [a for a in self.world.artifacts.values() if a["kind"] == "memory" and not a["deleted_at"]]
        self.assertLessEqual(len(live), 12)  # old memories are deleted, freeing disk
        self.assertTrue(any(a == "delete" for a, _ in self.sup.calls))
        self.assertGreaterEqual(len(invokes(self.sup, "genesis_store", "search")), 2)

    def test_edits_its_profile(self):
        self.assertTrue(any(a == "edit" and p["artifact_id"] == "alpha.profile" for a, p in self.sup.calls))

    def test_backs_off_for_retry_after_when_rate_limited(self):
        limited = [i for i, r in enumerate(self.sup.replies) if not r["ok"] and r["error"]["code"] == "RATE_LIMITED"]
        self.assertTrue(limited)
        for i in limited:
            nxt = next(p for a, p in self.sup.calls[i + 1:] if a == "sleep")
            self.assertEqual(nxt.get("seconds"), 0.2)


class HostileWorld(FakeWorld):
    """Answers every kernel action with the given envelope (sleep still works)."""

    def __init__(self, answer):
        super().__init__(neighbours=False, faults=False)
        self.answer = answer

    def handle(self, caller, action, params):
        if action == "sleep":
            return super().handle(caller, action, params)
        return self.answer(action, params)


class ErrorHandlingTests(unittest.TestCase):
    def assertSurvives(self, answer):
        sup, code = run(max_calls=200, world=HostileWorld(answer))
        self.assertEqual(code, 0)
        self.assertEqual([t["data"] for t in sup.traces if t["kind"] != "decision"], [])
        return sup

    def test_every_error_code_is_survived(self):
        for code in ("NOT_FOUND", "DELETED", "ACCESS_DENIED", "INVALID_ARGS", "INSUFFICIENT_FUNDS", "BUDGET_EXHAUSTED",
                     "RATE_LIMITED", "QUOTA_EXCEEDED", "EXECUTION_ERROR", "TIMEOUT", "OUT_OF_MEMORY",
                     "SANDBOX_VIOLATION", "PROTOCOL_ERROR", "INTERNAL", "SOMETHING_NEW"):
            with self.subTest(code=code):
                self.assertSurvives(lambda a, p, c=code: err(c, "no", retry_after=0.5))

    def test_frozen_agent_sleeps_on_its_compute_balance(self):
        sup = self.assertSurvives(lambda a, p: err("INSUFFICIENT_COMPUTE", "frozen", retry_after=3.0))
        sleeps = [p for a, p in sup.calls if a == "sleep"]
        self.assertTrue(sleeps)
        self.assertTrue(all(p.get("balance") == {"resource": "compute", "gte": 1} for p in sleeps))

    def test_garbage_results_are_survived(self):
        for junk in (None, "text", 42, [1, "x", None], {"time": "soon", "balances": [], "owned": "x",
                                                        "recent_events": [None, 3, {"seq": "x"}]}):
            with self.subTest(junk=junk):
                self.assertSurvives(lambda a, p, j=junk: {"ok": True, "result": j})

    def test_observed_frozen_balance_means_sleep_not_act(self):
        def answer(action, params):
            if action == "observe":
                return {"ok": True, "result": {"time": 5.0, "balances": {"scrip": 50, "compute": -20, "frozen": True},
                                               "owned": [], "recent_events": []}}
            return {"ok": True, "result": {}}
        sup = self.assertSurvives(answer)
        acted = [a for a, p in sup.calls[2:] if a not in ("observe", "sleep")]
        self.assertEqual(acted, [])


class ChildTests(unittest.TestCase):
    def test_a_spawned_child_never_spawns(self):
        world = FakeWorld()
        world.add_agent("alpha-jr", scrip=200)
        world.artifacts["alpha-jr"].update(created_by="alpha", owner_id="alpha")
        sup, code = run(max_calls=800, world=world, agent_id="alpha-jr")
        self.assertEqual(code, 0)
        self.assertEqual(invokes(sup, "genesis_store", "create"), [])
        self.assertEqual(invokes(sup, "genesis_debt", "issue"), [])
        self.assertEqual(len([p for a, p in sup.calls if a == "write" and p.get("code")]), 1)


if __name__ == "__main__":
    unittest.main()


class WorldScanTests(unittest.TestCase):
    def test_scans_walk_a_large_world_a_page_at_a_time(self):
        """all_balances answers a page; the mind's successive scans continue where the last
        stopped, so a frozen principal far down the id order is still found and rescued."""
        world = FakeWorld()
        for i in range(250):
            world.add_agent("m-%03d" % i)
        world.add_agent("zulu", scrip=20)  # frozen, and no agent_frozen event tells of it
        world.principals["zulu"]["compute"] = -50.0
        world.principals["zulu"]["rate"] = 0
        sup, code = run(seed=7, max_calls=3000, world=world)
        self.assertEqual(code, 0)
        pages = invokes(sup, "genesis_ledger", "all_balances")
        self.assertGreaterEqual(len(pages), 3)
        self.assertTrue(all(len(p) == 1 and p[0].get("limit") == 100 for p in pages), pages[:3])
        self.assertTrue(any(p[0].get("after", "") > "m-" for p in pages), "never went past the first page")
        quotas = invokes(sup, "genesis_rights_registry", "transfer_quota")
        self.assertTrue(any(q[0] == "zulu" and q[1] == "compute" for q in quotas), "zulu was never rescued")
