"""The heuristic mind: an economic agent, deterministic given its seed and replies, that
survives every error envelope. Each behaviour of docs/MINDS.md is checked on the fake world:
specialization, jobs bought from other families, prices that follow demand, reputation,
composition that pays through, credit for an investment, defaults, rescue when it pays."""
import json
import unittest

import agent.tools_library as lib
from agent.heuristic import CHILD_SUFFIX, FIRM_FLOAT, family_for
from tests.fake_supervisor import FakeSupervisor
from tests.fake_world import FakeWorld, err

SELLERS = (("mia", "primes", 2), ("dan", "checksum", 2), ("sue", "describe", 2), ("tex", "slugify", 1))


def market(agent_id="alpha", scrip=100, sellers=SELLERS):
    """The fake world with one seller in every family (beyond beta, who sells text and stats)."""
    world = FakeWorld(agents=(agent_id,))
    world.principals[agent_id]["scrip"] = scrip
    for who, key, price in sellers:
        world.add_seller(who, key, price)
    return world


def run(seed=7, max_calls=400, world=None, agent_id="alpha", **start):
    world = world if world is not None else market(agent_id)
    sup = FakeSupervisor(world, agent_id=agent_id, max_calls=max_calls)
    code = sup.run_agent(seed=seed, **start)
    return sup, code


def family(world, agent_id="alpha", seed=7):
    return family_for([a["id"] for a in world.artifacts.values() if a["kind"] == "agent"], agent_id, seed)


def invokes(sup, artifact_id, method=None):
    return [p["args"] for a, p in sup.calls
            if a == "invoke" and p["artifact_id"] == artifact_id and (method is None or p["method"] == method)]


def decisions(sup, action=None):
    return [t["data"] for t in sup.traces if t["kind"] == "decision" and (action is None or t["data"]["action"] == action)]


def prices_written(sup, artifact_id):
    return [p["price"] for a, p in sup.calls if a == "write" and p.get("artifact_id") == artifact_id]


def seller_of(world, fam, not_owner="alpha"):
    return sorted(a["id"] for a in world.artifacts.values() if a["kind"] == "tool" and not a["deleted_at"]
                  and lib.family_of(a["id"]) == fam and a["owner_id"] not in (not_owner, "genesis_escrow"))


class DeterminismTests(unittest.TestCase):
    def test_same_seed_and_same_replies_give_the_same_moves(self):
        a, code_a = run(seed=7, max_calls=600)
        b, code_b = run(seed=7, max_calls=600)
        self.assertEqual((code_a, code_b), (0, 0))
        self.assertEqual(len(a.calls), 600)
        self.assertEqual(json.dumps(a.calls), json.dumps(b.calls))
        self.assertEqual(json.dumps(decisions(a)), json.dumps(decisions(b)))

    def test_another_seed_gives_another_run(self):
        a, _ = run(seed=7)
        b, _ = run(seed=8)
        self.assertNotEqual(json.dumps(a.calls), json.dumps(b.calls))


class EconomyTests(unittest.TestCase):
    """A long run in a market with a seller in every family, a lender (beta) and a frozen stranger (gamma)."""

    @classmethod
    def setUpClass(cls):
        cls.world = market()
        cls.mine = family(cls.world)
        cls.sup, cls.code = run(seed=7, max_calls=1500, world=cls.world)

    def test_exits_cleanly_without_crashing(self):
        self.assertEqual(self.code, 0)
        self.assertEqual([t for t in self.sup.traces if t["kind"] != "decision"], [])
        self.assertEqual(self.sup.unexpected, [])
        self.assertGreater(len(decisions(self.sup)), 200)

    def test_moves_come_from_the_table_and_each_has_a_value(self):
        from agent.heuristic import MOVES
        names = set(m[0] for m in MOVES) | {"boot", "rest", "wait_frozen", "observe_failed"}
        for d in decisions(self.sup):
            self.assertIn(d["action"], names)
        self.assertTrue(all("valued" in d["reason"] for d in decisions(self.sup) if d["action"] != "boot"))

    def test_writes_tools_of_its_own_family_first(self):
        tools = [p for a, p in self.sup.calls if a == "write" and p.get("code")]
        self.assertTrue(tools)
        first = tools[0]
        self.assertEqual(lib.family_of(first["artifact_id"]), self.mine)
        self.assertEqual(first["metadata"], {"family": self.mine})
        for p in tools:
            self.assertTrue(p["executable"] and p["interface"]["tools"])
            self.assertGreater(p["price"], 0)

    def test_buys_what_its_jobs_need_from_other_families_and_never_from_itself(self):
        done = decisions(self.sup, "work")
        self.assertTrue(any(d["reason"].startswith("did job") for d in done))
        used = [(p["artifact_id"], i) for i, (a, p) in enumerate(self.sup.calls)
                if a == "invoke" and not p["artifact_id"].startswith("genesis")]
        self.assertTrue(used)
        for aid, i in used:
            self.assertFalse(aid.startswith("alpha."), "used its own tool %s" % aid)
            self.assertNotEqual(lib.family_of(aid), self.mine, "bought %s, of its own family" % aid)
        self.assertTrue(any(self.sup.replies[i]["ok"] for _, i in used))
        self.assertTrue(self.world.paid_invokes(payer="alpha"))

    def test_reads_the_market_and_discovers_tools(self):
        reads = invokes(self.sup, "genesis_event_log", "read")
        self.assertTrue(reads)
        self.assertTrue(all(r[0] == {"type": "invoke"} for r in reads))
        self.assertTrue(invokes(self.sup, "genesis_store", "list"))

    def test_does_not_rescue_a_stranger_it_gains_nothing_from(self):
        quotas = invokes(self.sup, "genesis_rights_registry", "transfer_quota")
        self.assertFalse(any(q[0] == "gamma" for q in quotas), quotas)

    def test_keeps_private_memories(self):
        memories = [p for a, p in self.sup.calls if a == "write" and p.get("kind") == "memory"]
        self.assertTrue(memories)
        self.assertTrue(all(p["contract"] == "genesis_private" and p["artifact_id"].startswith("alpha.mem.")
                            for p in memories))

    def test_backs_off_for_retry_after_when_rate_limited(self):
        limited = [i for i, r in enumerate(self.sup.replies) if not r["ok"] and r["error"]["code"] == "RATE_LIMITED"]
        self.assertTrue(limited)
        for i in limited:
            nxt = next(p for a, p in self.sup.calls[i + 1:] if a == "sleep")
            self.assertEqual(nxt.get("seconds"), 0.2)


class PriceTests(unittest.TestCase):
    def test_a_seller_raises_its_price_under_demand_and_cuts_it_when_demand_stops(self):
        world = market()
        entry = lib.BY_KEY[lib.KEYS_BY_FAMILY[family(world)][0]]
        aid = "alpha." + entry["key"]
        tool = entry["tools"][0]
        world.add_buyer("bob", aid, tool["name"], lib.positional_args(tool["inputSchema"], tool["inputSchema"]["examples"][0]),
                        every=4, until=900)
        sup, code = run(seed=7, max_calls=2000, world=world)
        self.assertEqual(code, 0)
        prices = prices_written(sup, aid)
        self.assertGreater(len(prices), 2, prices)
        peak = max(prices)
        self.assertGreater(peak, prices[0], "the price never rose while bob kept buying: %s" % prices)
        self.assertLess(prices[-1], peak, "the price never fell after bob stopped: %s" % prices)
        # Each change follows the sales counted in its window (the trace says why).
        reasons = [d["reason"] for d in decisions(sup, "reprice") if aid in d["reason"]]
        self.assertTrue(any("after 0 sales" in r and "->" in r for r in reasons), reasons)
        # Paid use by another principal is what the mint rewards: alpha bids for that tool.
        self.assertIn(aid, [b[0] for b in invokes(sup, "genesis_mint", "bid")])

    def test_without_paid_users_it_does_not_bid_on_the_mint(self):
        sup, _ = run(seed=7, max_calls=800, world=market())
        self.assertEqual(invokes(sup, "genesis_mint", "bid"), [])

    def test_a_buyer_avoids_an_unreliable_tool(self):
        world = market()
        target = next(f for f in lib.FAMILIES if f != family(world))
        key = lib.KEYS_BY_FAMILY[target][-1]
        bad = world.add_seller("flaky", key, 1, broken=True)
        for aid in seller_of(world, target):
            if aid != bad:
                world.artifacts[aid]["price"] = 3
        sup, code = run(seed=7, max_calls=2500, world=world)
        self.assertEqual(code, 0)
        family_calls = [p["artifact_id"] for a, p in sup.calls if a == "invoke" and lib.family_of(p["artifact_id"]) == target]
        self.assertIn(bad, family_calls, "the cheaper tool was never tried")
        self.assertLessEqual(family_calls.count(bad), 3, family_calls)
        last_bad = max(i for i, aid in enumerate(family_calls) if aid == bad)
        after = family_calls[last_bad + 1:]
        self.assertTrue(after, "nothing of that family was bought after the failures")
        self.assertNotIn(bad, after)


class FirmTests(unittest.TestCase):
    def firm_world(self, scrip=100):
        world = market(scrip=scrip)
        others = [f for f in lib.FAMILIES if f != family(world)][:2]
        world.add_wants("zed", others, every=9)
        return world, others

    def test_invests_in_a_firm_whose_bundle_composes_others_tools_and_pays_them(self):
        world, pair = self.firm_world(scrip=300)
        firm = "alpha" + CHILD_SUFFIX
        world.add_buyer("bob", firm, "bundle", [], every=5)  # args filled in below, once the firm exists
        bob = world.turns[-1]

        def buy(w):
            a = w.artifacts.get(firm)
            if a and a["owner_id"] == firm:
                example = a["interface"]["tools"][0]["inputSchema"]["examples"][0]["calls"]
                try:
                    w._invoke("bob", {"artifact_id": firm, "method": "bundle", "args": [example]})
                except Exception:  # noqa: BLE001 - a refused call is the firm's failure, seen in events
                    pass
        world.turns[world.turns.index(bob)] = (5, buy)
        sup, code = run(seed=7, max_calls=2000, world=world)
        self.assertEqual(code, 0)
        creates = invokes(sup, "genesis_store", "create")
        self.assertTrue(creates)
        config = creates[0][0]
        self.assertEqual(config["id"], firm)
        self.assertTrue(config["standing"] and config["executable"])
        self.assertIn("invoke(", config["code"])
        stages = config["metadata"]["stages"]
        self.assertEqual(sorted(config["metadata"]["bundle"]), sorted(pair))
        self.assertTrue(all(not s[0].startswith("alpha.") for s in stages), stages)
        self.assertEqual(sorted(lib.family_of(s[0]) for s in stages), sorted(pair))
        self.assertIn([firm, firm], invokes(sup, "genesis_ledger", "transfer_ownership"))
        capital = [t[1] for t in invokes(sup, "genesis_ledger", "transfer") if t[0] == firm]
        self.assertTrue(capital and capital[0] >= FIRM_FLOAT, capital)
        # Bob pays the firm; the firm's code pays each stage's owner from the firm's own scrip.
        self.assertTrue(world.paid_invokes(artifact_id=firm, payer="bob"))
        for tool_id, _ in stages:
            paid = world.paid_invokes(artifact_id=tool_id, caller=firm, payer=firm)
            self.assertTrue(paid, "the firm never paid %s" % tool_id)
            self.assertTrue(all(p["depth"] == 1 for p in paid))
        self.assertGreater(world.principals[firm]["scrip"], capital[0], "the firm earns its margin")

    def test_borrows_to_invest_when_it_cannot_pay_for_the_firm(self):
        world, _ = self.firm_world(scrip=40)
        sup, code = run(seed=7, max_calls=2000, world=world)
        self.assertEqual(code, 0)
        issued = invokes(sup, "genesis_debt", "issue")
        self.assertTrue(issued)
        creditor, amount, repay, due = issued[0]
        self.assertEqual(creditor, "beta")
        self.assertGreater(repay, amount, "interest")
        self.assertTrue(any("to fund a firm" in d["reason"] for d in decisions(sup, "invest")))
        order = [i for i, (a, p) in enumerate(sup.calls) if a == "invoke" and p["artifact_id"] == "genesis_store"
                 and p["method"] == "create"]
        first_issue = next(i for i, (a, p) in enumerate(sup.calls) if a == "invoke" and p["method"] == "issue")
        self.assertTrue(order and order[0] > first_issue, "the firm came before the loan")
        debt = next(d for d in world.debts.values() if d["debtor"] == "alpha")
        self.assertNotEqual(debt["status"], "requested", "the loan was funded")

    def test_rescues_its_frozen_firm_but_not_a_stranger(self):
        world = market()
        others = [f for f in lib.FAMILIES if f != family(world)][:2]
        stages = [[seller_of(world, f)[0], lib.BY_KEY[seller_of(world, f)[0].split(".")[1]]["tools"][0]["name"]]
                  for f in others]
        firm = world.add_firm("alpha" + CHILD_SUFFIX, "alpha", stages, others, price=6)
        world.principals[firm]["compute"] = -80.0
        world._event("agent_frozen", firm, {"compute": -80})
        sup, code = run(seed=7, max_calls=600, world=world)
        self.assertEqual(code, 0)
        quotas = invokes(sup, "genesis_rights_registry", "transfer_quota")
        self.assertTrue(any(q[0] == firm and q[1] == "compute" and q[2] > 0 for q in quotas), quotas)
        self.assertFalse(any(q[0] == "gamma" for q in quotas), "gamma owes alpha nothing")
        self.assertGreaterEqual(world.principals[firm]["compute"], 0)
        self.assertEqual(invokes(sup, "genesis_store", "create"), [], "it has a firm already")


class CreditTests(unittest.TestCase):
    def test_a_default_is_remembered_and_the_defaulter_gets_no_second_loan(self):
        world = market(scrip=400)
        world.add_agent("dee", scrip=5)

        def ask(w):
            try:
                w._debt("dee", "issue", {"creditor": "alpha", "amount": 8, "repay_amount": 10, "due_in_seconds": 5})
            except Exception:  # noqa: BLE001
                pass
        world.turns.append((400, ask))
        sup, code = run(seed=7, max_calls=2000, world=world)
        self.assertEqual(code, 0)
        dee = [d for d in world.debts.values() if d["debtor"] == "dee"]
        self.assertGreaterEqual(len(dee), 2)
        self.assertEqual(dee[0]["status"], "active", "alpha lent to dee, who never repaid")
        self.assertTrue(any("dee defaulted" in d["reason"] for d in decisions(sup, "check_debts")))
        memories = [p["content"] for a, p in sup.calls if a == "write" and p.get("kind") == "memory"]
        self.assertTrue(any("default: dee" in m for m in memories))
        self.assertTrue(all(d["status"] == "requested" or d["status"] == "cancelled" for d in dee[1:]),
                        [d["status"] for d in dee])
        self.assertTrue(any("declined" in d["reason"] and "dee repays" in d["reason"] and "defaulted 1" in d["reason"]
                            for d in decisions(sup, "lend")))


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
        acted = [a for a, p in sup.calls[4:] if a not in ("observe", "sleep")]
        self.assertEqual(acted, [])


class ChildTests(unittest.TestCase):
    def test_a_firm_never_spawns_writes_tools_or_borrows_and_pays_its_parent_beyond_its_float(self):
        world = market()
        others = [f for f in lib.FAMILIES if f != family(world)][:2]
        stages = [[seller_of(world, f)[0], "x"] for f in others]
        firm = world.add_firm("alpha" + CHILD_SUFFIX, "alpha", stages, others, price=9, scrip=FIRM_FLOAT + 30)
        sup, code = run(max_calls=1200, world=world, agent_id=firm)
        self.assertEqual(code, 0)
        self.assertEqual(invokes(sup, "genesis_store", "create"), [])
        self.assertEqual(invokes(sup, "genesis_debt", "issue"), [])
        self.assertEqual([p["artifact_id"] for a, p in sup.calls if a == "write" and p.get("code")
                          and p["artifact_id"] != firm], [])
        self.assertIn(["alpha", 30], invokes(sup, "genesis_ledger", "transfer"))

    def test_a_firm_follows_its_market_cheapest_suppliers_and_their_prices(self):
        world = market()
        others = [f for f in lib.FAMILIES if f != family(world)][:2]
        dear = [world.add_seller("dear%d" % i, lib.KEYS_BY_FAMILY[f][-1], 6) for i, f in enumerate(others)]
        stages = [[aid, lib.BY_KEY[aid.split(".")[1]]["tools"][0]["name"]] for aid in dear]
        firm = world.add_firm("alpha" + CHILD_SUFFIX, "alpha", stages, others, price=13, scrip=FIRM_FLOAT)
        sup, code = run(max_calls=1200, world=world, agent_id=firm)
        self.assertEqual(code, 0)
        rewrites = [p for a, p in sup.calls if a == "write" and p["artifact_id"] == firm]
        self.assertTrue(rewrites, "the firm kept its dear suppliers")
        new = rewrites[0]["metadata"]["stages"]
        self.assertFalse(set(s[0] for s in new) & set(dear), new)
        self.assertEqual(rewrites[0]["price"], sum(world.artifacts[s[0]]["price"] for s in new) + 1)
        self.assertIn("invoke(", rewrites[0]["code"])


class WorldScanTests(unittest.TestCase):
    def test_scans_walk_a_large_world_a_page_at_a_time(self):
        """all_balances answers a page; the mind's successive scans continue where the last
        stopped, so a frozen principal far down the id order is still found."""
        world = FakeWorld()
        for i in range(250):
            world.add_agent("m-%03d" % i)
        world.add_agent("zulu", scrip=20)  # frozen, and no agent_frozen event tells of it
        world.principals["zulu"]["compute"] = -50.0
        world.principals["zulu"]["rate"] = 0
        sup, code = run(seed=7, max_calls=4000, world=world)
        self.assertEqual(code, 0)
        pages = invokes(sup, "genesis_ledger", "all_balances")
        self.assertGreaterEqual(len(pages), 3)
        self.assertTrue(all(len(p) == 1 and p[0].get("limit") == 100 for p in pages), pages[:3])
        self.assertTrue(any(p[0].get("after", "") > "m-" for p in pages), "never went past the first page")
        self.assertTrue(any("zulu" in d["reason"] for d in decisions(sup, "scan")), "zulu was never found")


if __name__ == "__main__":
    unittest.main()
