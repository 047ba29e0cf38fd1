"""The adversarial minds (`mind: adversary:KIND`): each is deterministic given its seed and
replies, tries every attack in its table, survives every error envelope, and makes the
moves its kind is about — through kernel actions only."""
import json
import unittest

from agent import adversaries, runtime
from tests.fake_supervisor import FakeSupervisor
from tests.fake_world import AdversaryWorld

CALLS = 700


def run(kind, seed=7, max_calls=CALLS, world=None, agent_id="alpha"):
    world = world or AdversaryWorld()
    sup = FakeSupervisor(world, agent_id=agent_id, max_calls=max_calls)
    code = sup.run_agent(seed=seed, mind="adversary:" + kind)
    return sup, code, world


def moves(sup):
    return [t["data"]["move"] for t in sup.traces if t["kind"] == "decision" and t["data"]["move"] != "boot"]


def calls_to(sup, artifact_id, method):
    return [p["args"] for a, p in sup.calls if a == "invoke" and p.get("artifact_id") == artifact_id
            and p.get("method") == method]


def writes(sup):
    return [p for a, p in sup.calls if a == "write"]


class EveryAdversaryTests(unittest.TestCase):
    """What holds for every kind: clean exit, all attacks tried, only kernel actions, determinism."""

    @classmethod
    def setUpClass(cls):
        cls.runs = {kind: run(kind) for kind in adversaries.KINDS}

    def test_every_kind_exits_cleanly_and_tries_its_whole_table(self):
        for kind, (sup, code, _) in self.runs.items():
            with self.subTest(kind=kind):
                self.assertEqual(code, 0)
                self.assertEqual([t for t in sup.traces if t["kind"] not in ("decision",)], [])
                self.assertEqual(sup.unexpected, [])
                table = adversaries.module_for(kind).ATTACKS
                self.assertTrue(set(table) <= set(moves(sup)), sorted(set(table) - set(moves(sup))))

    def test_only_protocol_actions_are_used(self):
        allowed = {"observe", "read", "write", "edit", "delete", "invoke", "noop", "sleep"}
        for kind, (sup, _, _) in self.runs.items():
            with self.subTest(kind=kind):
                self.assertTrue({a for a, _ in sup.calls} <= allowed)

    def test_attacks_meet_refusals(self):
        for kind, (sup, _, _) in self.runs.items():
            with self.subTest(kind=kind):
                self.assertTrue(any(not r["ok"] for r in sup.replies), "%s met no refusal at all" % kind)

    def test_same_seed_same_calls_other_seed_other_calls(self):
        for kind in ("griefer", "squatter", "front_runner"):
            with self.subTest(kind=kind):
                a, _, _ = run(kind, seed=3, max_calls=300)
                b, _, _ = run(kind, seed=3, max_calls=300)
                c, _, _ = run(kind, seed=4, max_calls=300)
                self.assertEqual(json.dumps(a.calls), json.dumps(b.calls))
                self.assertNotEqual(json.dumps(a.calls), json.dumps(c.calls))


class MindSelectionTests(unittest.TestCase):
    def test_unknown_kind_names_the_kinds(self):
        with self.assertRaises(adversaries.UnknownAdversary) as e:
            runtime.make_mind(None, {"agent_id": "x", "mind": "adversary:pirate"})
        for kind in adversaries.KINDS:
            self.assertIn(kind, str(e.exception))

    def test_each_kind_builds_its_own_mind(self):
        for kind in adversaries.KINDS:
            mind = runtime.make_mind(None, {"agent_id": "x", "mind": "adversary:" + kind, "seed": 1})
            self.assertEqual(mind.KIND, kind)

    def test_kinds_match_the_supervisors_list(self):
        # Sources/EcologyCore/AdversaryKind.swift lists the same raw values.
        import os
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "..", "..", "Sources", "EcologyCore", "AdversaryKind.swift")) as f:
            swift = f.read()
        for kind in adversaries.KINDS:
            self.assertTrue(('case %s\n' % kind) in swift or ('= "%s"' % kind) in swift, kind)


class KindSpecificTests(unittest.TestCase):
    def test_griefer_writes_a_slow_contract_and_spams(self):
        sup, _, _ = run("griefer")
        contracts = [p for p in writes(sup) if p.get("kind") == "contract"]
        self.assertTrue(contracts and "while True" in contracts[0]["code"])
        self.assertGreaterEqual(len(calls_to(sup, "genesis_event_log", "publish")), 8)
        self.assertTrue(any(p["artifact_id"] == "alpha.firehose" for p in writes(sup)))

    def test_sybil_spawns_principals_and_harvests_them(self):
        sup, _, world = run("sybil")
        spawned = [p["artifact_id"] for p in writes(sup) if p.get("standing")]
        self.assertTrue(spawned)
        self.assertTrue(all(world.artifacts[s]["has_standing"] for s in spawned if s in world.artifacts))
        self.assertTrue([a for a, m, _ in sup.invocations() if a in spawned and m == "withdraw"])
        self.assertTrue(calls_to(sup, "genesis_rights_registry", "transfer_quota"))

    def test_sybil_child_only_drains_to_its_parent(self):
        world = AdversaryWorld()
        world._put("alpha-s1", "agent", "alpha", content="{}", executable=True, standing=True, created_by="alpha")
        world._principal("alpha-s1", scrip=7)
        sup, code, _ = run("sybil", world=world, agent_id="alpha-s1", max_calls=40)
        self.assertEqual(code, 0)
        self.assertEqual(set(moves(sup)), {"drain_to_parent"})
        self.assertIn(["alpha", 7], calls_to(sup, "genesis_ledger", "transfer"))

    def test_front_runner_snipes_the_listing_and_races_the_mint(self):
        sup, _, world = run("front_runner")
        self.assertTrue(calls_to(sup, "genesis_escrow", "purchase"))
        self.assertTrue(any(l["buyer"] == "alpha" for l in world.listings))
        self.assertTrue(calls_to(sup, "genesis_mint", "bid"))
        self.assertGreaterEqual(len(calls_to(sup, "genesis_mint", "withdraw")), 2)

    def test_wash_trader_pays_itself_and_bids_on_its_tool(self):
        sup, _, _ = run("wash_trader")
        self.assertGreaterEqual(len(calls_to(sup, "alpha.wash", "run")), 5)
        self.assertTrue(any(args[0] == "alpha.wash" for args in calls_to(sup, "genesis_mint", "bid")))
        self.assertIn(["alpha", 10], calls_to(sup, "genesis_ledger", "transfer"))

    def test_freeloader_borrows_and_spends_others(self):
        sup, _, _ = run("freeloader")
        self.assertTrue(calls_to(sup, "genesis_debt", "issue"))
        spent = [args for args in calls_to(sup, "genesis_ledger", "transfer") if len(args) == 3 and args[2] != "alpha.stash"]
        self.assertTrue(spent)

    def test_squatter_takes_neighbours_and_reserved_names(self):
        sup, _, _ = run("squatter")
        ids = [p["artifact_id"] for p in writes(sup)]
        self.assertTrue(any(i.startswith(("beta.", "gamma.", "beta-", "gamma-")) for i in ids), ids[:20])
        self.assertIn("genesis_ledger", ids)
        self.assertTrue(any(i.startswith("alpha.fleeting-") for i in ids))

    def test_contract_trickster_switches_a_tool_under_its_callers(self):
        sup, _, _ = run("contract_trickster")
        sorter = [p for p in writes(sup) if p["artifact_id"] == "alpha.sorter"]
        self.assertEqual(sorted({p["price"] for p in sorter}), [1, 40])
        self.assertTrue(any("invoke('genesis_ledger'" in (p.get("code") or "") for p in writes(sup)))

    def test_hostile_coder_writes_and_invokes_the_attack_library(self):
        sup, _, world = run("hostile_coder")
        from agent.adversaries import hostile_coder
        invoked = {aid for aid, _ in world.contained}
        for name in hostile_coder.CODE:
            self.assertIn("alpha.hc-" + name.replace("_", "-"), invoked, name)
        self.assertTrue({c for _, c in world.contained} >= {"SANDBOX_VIOLATION", "TIMEOUT", "OUT_OF_MEMORY"})
        self.assertTrue(calls_to(sup, "genesis_event_log", "publish"))


if __name__ == "__main__":
    unittest.main()
