"""The heuristic mind: a seeded, deterministic policy that exercises the whole economy.

Each step is observe -> decide -> act -> pause. Deciding is a weighted draw (from a
`random.Random` seeded with the start's seed and the agent's ID) among the moves
that make sense now; moves never tried get a large weight, so within a short run
an agent writes tools, uses others' tools, bids, trades, lends, spawns and rescues.
Given the seed and the replies it receives, the sequence of calls is fixed: the
mind never reads the wall clock (time is observe's `time`) and never iterates an
unordered collection.
"""
import json
import random

from agent import tools_library
from agent.memory import MemoryBook

RESERVE = 10          # scrip kept back from discretionary spending
BALANCE_PAGE = 100    # principals per all_balances page (the next scan continues after it)
CHILD_SUFFIX = "-jr"
TOPICS = ("tools", "loans", "market")
# Errors that say a tool is not worth calling again.
TOOL_FAILURES = ("EXECUTION_ERROR", "TIMEOUT", "INVALID_ARGS", "NOT_FOUND", "DELETED", "ACCESS_DENIED",
                 "OUT_OF_MEMORY", "SANDBOX_VIOLATION")


def _clamp(x, lo, hi):
    return max(lo, min(hi, x))


def _int(v, default=0):
    return v if isinstance(v, int) and not isinstance(v, bool) else default


class HeuristicMind:
    def __init__(self, kernel, start):
        self.k = kernel
        self.me = str(start["agent_id"])
        self.rng = random.Random("%s:%s" % (start.get("seed", 0), self.me))
        self.pace = _clamp(float(start.get("pace", 0.25)), 0.01, 5.0)
        self.memory = MemoryBook(self, self.me)  # its calls go through self.call: traced, errors handled
        self.step_no = 0
        self.now = 0.0
        self.balances = {}
        self.owned = []
        self.mint_next = None
        self.last_seq = 0
        self.is_child = False
        self.child = None
        self.library_order = [e["key"] for e in tools_library.LIBRARY]
        self.rng.shuffle(self.library_order)
        self.attempted = []       # library keys already tried
        self.directory = {}       # others' tools: id -> {"owner", "price", "tools"}
        self.hints = []           # tool IDs heard of (events), not yet looked up
        self.avoid = {}           # tool id -> why it is not worth calling
        self.recalled = []        # tool IDs whose memories were consulted
        self.usage = {}           # my tool id -> invokes by others seen
        self.bid_round = None     # the mint resolution I last bid for
        self.listing = None       # (listing_id, listed_at) of my active escrow listing
        self.loan_requests = {}   # debt_id -> amount: requests where I am the creditor
        self.my_requests = {}     # debt_id -> first seen: my unfunded requests
        self.my_debts = {}        # debt_id -> remaining: my active debts
        self.frozen = {}          # principal -> when seen frozen
        self.balance_cursor = None  # where the next all_balances page starts (None: the beginning)
        self.counts = {}          # move -> times made
        self.poor_until = -1.0    # after INSUFFICIENT_FUNDS: no discretionary spending until then
        self.backoff = None       # (seconds, balance predicate) for the next pause
        self.disk_tight = False
        self.profile_served = None
        self.calls = []           # this step's calls, for the trace

    # --- the loop ---------------------------------------------------------------------------

    def boot(self):
        """Recovers what the world remembers of this agent (it may have been restarted)."""
        meta = self.call("invoke", {"artifact_id": "genesis_store", "method": "get_metadata", "args": [self.me]})
        if meta.ok and isinstance(meta.result, dict):
            # Configured agents are created by the system; spawned ones by their parent.
            self.is_child = meta.result.get("created_by") not in ("genesis", self.me, None)
        mine = self.invoke("genesis_store", "list_by_owner", self.me)
        if mine.ok and isinstance(mine.result, list):
            self.memory.restore(mine.result)
            for a in mine.result:
                if not isinstance(a, dict):
                    continue
                if a.get("kind") == "agent" and a.get("id") == self.me + CHILD_SUFFIX:
                    self.child = a["id"]
                if a.get("id") == self.me + ".profile":
                    self.profile_served = -1
        self.trace("boot", "child of another agent" if self.is_child else "configured agent")

    def step(self):
        self.step_no += 1
        self.calls = []
        obs = self.call("observe")
        if not obs.ok:
            self.trace("observe_failed", "observe answered %s" % obs.code)
            self.pause()
            return
        new_events = self.absorb(obs.result if isinstance(obs.result, dict) else {})
        if self.balances.get("frozen"):
            self.backoff = (self.pace * 20, {"resource": "compute", "gte": 1})
            self.trace("wait_frozen", "frozen (compute %s): sleeping until compute recovers" % self.balances.get("compute"),
                       new_events)
            self.pause()
            return
        if self.disk_tight:
            self.disk_tight = False
            self.memory.forget_oldest()
        move = self.choose()
        reason = getattr(self, "do_" + move)()
        self.counts[move] = self.counts.get(move, 0) + 1
        self.trace(move, reason, new_events)
        self.pause()

    def choose(self):
        options = self.options()
        total = sum(w for w, _ in options)
        r = self.rng.random() * total
        for w, move in options:
            r -= w
            if r < 0:
                return move
        return options[-1][1]

    def options(self):
        """(weight, move) for every move that makes sense now; untried moves weigh most."""
        out = []

        def add(move, first, after, when=True):
            w = first if not self.counts.get(move) else after
            if when and w > 0:
                out.append((w, move))

        scrip, compute = self.scrip(), _int(self.balances.get("compute"))
        spend_ok = self.now >= self.poor_until
        mine = self.my_tools()
        add("write_tool", 12, 4, len(mine) < (1 if self.is_child else 3) and self.next_entry() is not None)
        add("discover", 6, 4 if not self.directory else 1.5)
        add("use_tool", 8, 5, spend_ok and bool(self.usable_tools()))
        add("bid", 6, 3, spend_ok and bool(mine) and self.bid_round != self.mint_next and scrip >= 10)
        add("sell", 5, 1.5, self.listing is None and len(mine) >= 2)
        add("buy", 4, 1.5, spend_ok and scrip >= 25)
        add("lend", 9, 9, bool(self.loan_requests) and scrip >= 25)
        add("repay", 8, 8, bool(self.my_debts) and scrip > 3)
        add("borrow", 4, 1 if scrip < 40 else 0.3, not self.is_child and not self.my_debts and not self.my_requests)
        add("check_debts", 2, 1.5)
        add("spawn", 10, 0, not self.is_child and self.child is None and self.step_no >= 8 and scrip >= 40)
        add("fund_child", 1, 0.5, self.child is not None and scrip >= 40)
        add("rescue", 10, 10, bool(self.frozen) and compute >= 1500)
        add("scan", 3, 0.8)
        add("remember", 3, 1)
        add("recall", 3, 1)
        add("publish", 3, 0.7)
        add("profile", 2, 0.5)
        add("noop", 0.3, 0.3)
        return out

    def pause(self):
        """The sleep between steps: a backoff after an error, else a short nap that may also
        wake on a market topic or on a balance threshold."""
        if self.backoff:
            seconds, balance = self.backoff
            self.backoff = None
            reply = self.k.sleep(seconds=_clamp(seconds, 0.05, 60), balance=balance)
        else:
            scrip, compute = self.scrip(), _int(self.balances.get("compute"))
            r = self.rng.random()
            if scrip < 5 or (scrip < 25 and r < 0.3):
                # Short of scrip: wait for income (tool fees, UBI, repayments) or the timeout.
                reply = self.k.sleep(seconds=self.pace * 8, balance={"resource": "scrip", "gte": scrip + 5})
            elif compute < 5000 and r < 0.3:
                # Spend less while the compute bucket refills.
                reply = self.k.sleep(seconds=self.pace * 4, balance={"resource": "compute", "gte": compute + 300})
            elif r < 0.2:
                reply = self.k.sleep(seconds=self.pace * 3, event={"topic": TOPICS[self.rng.randrange(len(TOPICS))]})
            elif r < 0.28:
                # Let income arrive before spending more (tool fees, repayments, UBI).
                reply = self.k.sleep(seconds=self.pace * 6, balance={"resource": "scrip", "gte": scrip + 10})
            else:
                reply = self.k.sleep(seconds=self.pace * self.rng.uniform(0.2, 1.8))
        if reply.ok and isinstance(reply.result, dict) and isinstance(reply.result.get("event"), dict):
            self.on_event(reply.result["event"])

    # --- what the agent sees ----------------------------------------------------------------

    def absorb(self, obs):
        t = obs.get("time")
        if isinstance(t, (int, float)) and not isinstance(t, bool):
            self.now = float(t)
        self.balances = obs.get("balances") if isinstance(obs.get("balances"), dict) else {}
        self.owned = [a for a in obs.get("owned") or [] if isinstance(a, dict)]
        self.mint_next = obs.get("mint_next_resolution")
        fresh = 0
        for ev in obs.get("recent_events") or []:
            if isinstance(ev, dict) and _int(ev.get("seq")) > self.last_seq:
                self.last_seq = _int(ev.get("seq"))
                fresh += 1
                self.on_event(ev)
        return fresh

    def on_event(self, ev):
        """Reacts to what happened: loan requests, freezes, tool adverts, sales, uses of my tools."""
        kind, who = ev.get("type"), ev.get("principal")
        data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
        if kind == "debt_requested" and data.get("creditor") == self.me:
            self.loan_requests[str(data.get("debt_id"))] = _int(data.get("amount"))
        elif kind == "debt_issued" and data.get("debtor") == self.me:
            debt = str(data.get("debt_id"))
            self.my_requests.pop(debt, None)
            self.my_debts.setdefault(debt, None)
        elif kind == "agent_frozen" and who and who != self.me:
            self.frozen[who] = self.now
        elif kind == "agent_unfrozen" and who:
            self.frozen.pop(who, None)
        elif kind == "invoke" and data.get("owner") == self.me and data.get("payer") != self.me and not data.get("error"):
            aid = str(data.get("artifact_id"))
            self.usage[aid] = self.usage.get(aid, 0) + 1
        elif kind == "escrow_purchase" and data.get("seller") == self.me:
            self.listing = None
        elif kind == "artifact_written" and data.get("kind") == "tool" and who != self.me and data.get("created"):
            self.hear_of(data.get("artifact_id"))
        elif kind == "custom":
            payload = data.get("data") if isinstance(data.get("data"), dict) else {}
            if data.get("topic") == "tools" and who != self.me:
                self.hear_of(payload.get("artifact_id"))
            elif data.get("topic") == "loans" and payload.get("creditor") == self.me:
                self.loan_requests[str(payload.get("debt_id"))] = _int(payload.get("amount"))

    def hear_of(self, aid):
        if isinstance(aid, str) and aid and not aid.startswith(self.me + ".") and aid not in self.directory and aid not in self.hints and aid not in self.avoid:
            self.hints.append(aid)

    def scrip(self):
        return _int(self.balances.get("scrip"))

    def my_tools(self):
        return [a["id"] for a in self.owned if a.get("kind") == "tool" and isinstance(a.get("id"), str)]

    def next_entry(self):
        owned = set(a.get("id") for a in self.owned)
        for key in self.library_order:
            if key not in self.attempted and "%s.%s" % (self.me, key) not in owned:
                return tools_library.BY_KEY[key]
        return None

    def usable_tools(self):
        budget = self.scrip() - RESERVE // 2
        return sorted(aid for aid, e in self.directory.items() if aid not in self.avoid and e["price"] <= budget)

    def best_tool(self):
        mine = sorted(self.my_tools())
        return max(mine, key=lambda aid: (self.usage.get(aid, 0), -mine.index(aid))) if mine else None

    # --- moves (each returns the reason recorded in the trace) ------------------------------

    def do_write_tool(self):
        entry = self.next_entry()
        self.attempted.append(entry["key"])
        aid = "%s.%s" % (self.me, entry["key"])
        price = entry["price"] + self.rng.randint(0, 1)
        r = self.call("write", {"artifact_id": aid, "content": tools_library.description(entry), "code": entry["code"],
                                "interface": tools_library.interface(entry), "executable": True, "price": price})
        if not r.ok:
            return "writing tool %s failed: %s" % (aid, r.code)
        methods = [t["name"] for t in entry["tools"]]
        self.invoke("genesis_event_log", "publish", "tools",
                    {"artifact_id": aid, "methods": methods, "price": price, "keywords": entry["keywords"]})
        return "wrote tool %s (%s) at %d scrip per call and advertised it on topic 'tools'" % (aid, ", ".join(methods), price)

    def do_discover(self):
        found = 0
        if self.hints:
            for aid in self.hints[:3]:
                r = self.invoke("genesis_store", "get_metadata", aid)
                if r.ok and isinstance(r.result, dict):
                    found += self.add_to_directory(r.result)
            del self.hints[:3]
            return "looked up %d advertised tool(s); %d usable" % (found, len(self.usable_tools()))
        if self.rng.random() < 0.4:
            entry = tools_library.LIBRARY[self.rng.randrange(len(tools_library.LIBRARY))]
            word = entry["keywords"].split()[0]
            r = self.invoke("genesis_store", "search", word, 10)
            if r.ok and isinstance(r.result, list):
                for hit in r.result[:10]:
                    if isinstance(hit, dict) and hit.get("kind") == "tool" and hit.get("owner_id") != self.me:
                        self.hear_of(hit.get("id"))
            return "searched the store for %r; %d tool(s) to look up" % (word, len(self.hints))
        r = self.invoke("genesis_store", "list", {"kind": "tool", "limit": 100})
        if r.ok and isinstance(r.result, list):
            for meta in r.result:
                if isinstance(meta, dict):
                    found += self.add_to_directory(meta)
        return "listed tools; %d known, %d new" % (len(self.directory), found)

    def add_to_directory(self, meta):
        aid, owner = meta.get("id"), meta.get("owner_id")
        tools = (meta.get("interface") or {}).get("tools") if isinstance(meta.get("interface"), dict) else None
        # My own tools come back under genesis_escrow's ownership while listed: the ID prefix tells.
        if not isinstance(aid, str) or owner == self.me or aid.startswith(self.me + "."):
            return 0
        if not meta.get("can_execute") or not isinstance(tools, list):
            return 0
        if meta.get("kind") != "tool":
            return 0
        new = aid not in self.directory
        self.directory[aid] = {"owner": owner, "price": _int(meta.get("price")),
                               "tools": [t for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]}
        return 1 if new else 0

    def do_use_tool(self):
        choices = self.usable_tools()
        aid = choices[self.rng.randrange(len(choices))]
        if aid not in self.recalled:
            # First use: ask my memories whether I have been burnt by this tool before.
            self.recalled.append(aid)
            for hit in self.memory.recall([aid]):
                if "avoid" in hit.get("snippet", ""):
                    self.avoid[aid] = "remembered as bad"
                    return "memory %s says to avoid %s" % (hit.get("id"), aid)
        entry = self.directory[aid]
        if not entry["tools"]:
            self.avoid[aid] = "no tools"
            return "%s lists no tools" % aid
        tool = entry["tools"][self.rng.randrange(len(entry["tools"]))]
        args = self.args_for(tool)
        r = self.invoke(aid, tool["name"], *args)
        if r.ok:
            return "used %s.%s(%s) from %s for %d scrip -> %s" % (
                aid, tool["name"], json.dumps(args)[:80], entry["owner"], entry["price"], json.dumps(r.result)[:120])
        if r.code in TOOL_FAILURES:
            self.avoid[aid] = r.code
            self.memory.remember(self.now, "avoid tool %s: %s.%s failed with %s: %s"
                                 % (aid, aid, tool["name"], r.code, r.message[:160]))
        return "calling %s.%s failed: %s" % (aid, tool["name"], r.code)

    def args_for(self, tool):
        """Positional args from the tool's schema examples, else made up from its types."""
        schema = tool.get("inputSchema") if isinstance(tool.get("inputSchema"), dict) else {}
        examples = [e for e in schema.get("examples") or [] if isinstance(e, dict)]
        if examples:
            args = tools_library.positional_args(schema, examples[self.rng.randrange(len(examples))])
            if args is not None:
                return args
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        made = {"string": "the market clears at noon", "integer": self.rng.randint(2, 99), "number": 2.5,
                "boolean": True, "array": [self.rng.randint(0, 50) for _ in range(5)], "object": {}}
        return [made.get((props.get(name) or {}).get("type"), "x") for name in schema.get("required") or []]

    def do_bid(self):
        self.bid_round = self.mint_next
        best = self.best_tool()
        amount = max(1, min(5, self.scrip() // 15)) + self.rng.randint(0, 1)
        r = self.invoke("genesis_mint", "bid", best, amount)
        if r.ok:
            return "bid %d scrip on the mint for %s (used %d times by others)" % (amount, best, self.usage.get(best, 0))
        return "mint bid for %s failed: %s" % (best, r.code)

    def do_sell(self):
        best = self.best_tool()
        for_sale = sorted(t for t in self.my_tools() if t != best)
        aid = for_sale[self.rng.randrange(len(for_sale))]
        price = 6 + self.rng.randint(0, 6)
        r = self.invoke("genesis_escrow", "deposit", aid, price)
        if r.ok and isinstance(r.result, dict):
            self.listing = (r.result.get("listing_id"), self.now)
            return "listed %s in escrow for %d scrip (listing %s)" % (aid, price, r.result.get("listing_id"))
        return "escrow deposit of %s failed: %s" % (aid, r.code)

    def do_buy(self):
        r = self.invoke("genesis_escrow", "list_active")
        if not r.ok or not isinstance(r.result, list):
            return "escrow listings unavailable: %s" % r.code
        listings = [x for x in r.result if isinstance(x, dict)]
        mine = [x for x in listings if x.get("seller") == self.me]
        if self.listing and not mine:
            self.listing = None  # sold (or cancelled) since
        if self.listing and mine and self.now - self.listing[1] > 40:
            c = self.invoke("genesis_escrow", "cancel", mine[0].get("listing_id"))
            self.listing = None
            return "nobody bought listing %s in 40 s; cancelled: %s" % (mine[0].get("listing_id"), "ok" if c.ok else c.code)
        budget = self.scrip() - 20
        offers = sorted((_int(x.get("price")), _int(x.get("listing_id")), x) for x in listings
                        if x.get("seller") not in (self.me, self.child) and 0 < _int(x.get("price")) <= budget)
        if not offers:
            return "no affordable escrow listing among %d" % len(listings)
        price, lid, offer = offers[self.rng.randrange(min(2, len(offers)))]
        p = self.invoke("genesis_escrow", "purchase", lid)
        if p.ok:
            self.memory.remember(self.now, "bought %s from %s for %d scrip (listing %d)"
                                 % (offer.get("artifact_id"), offer.get("seller"), price, lid))
            return "bought %s for %d scrip" % (offer.get("artifact_id"), price)
        return "purchase of listing %d failed: %s" % (lid, p.code)

    def world_balances(self):
        """One page of the world's balances; successive calls walk the whole world, so a scan
        costs the same in a world of ten agents or ten thousand."""
        args = {"limit": BALANCE_PAGE}
        if self.balance_cursor:
            args["after"] = self.balance_cursor
        r = self.invoke("genesis_ledger", "all_balances", args)
        if not r.ok or not isinstance(r.result, list):
            self.balance_cursor = None
            return []
        page = [b for b in r.result if isinstance(b, dict) and isinstance(b.get("id"), str)]
        self.balance_cursor = page[-1]["id"] if len(r.result) == BALANCE_PAGE and page else None
        rows = [b for b in page if not b["id"].startswith("genesis")]
        for b in rows:
            if b.get("frozen") and b["id"] != self.me:
                self.frozen.setdefault(b["id"], self.now)
            elif b["id"] in self.frozen:
                self.frozen.pop(b["id"])
        return rows

    def do_borrow(self):
        lenders = sorted((-_int(b.get("scrip")), b["id"]) for b in self.world_balances()
                         if b["id"] not in (self.me, self.child) and not b.get("frozen") and _int(b.get("scrip")) >= 30)
        if not lenders:
            return "nobody rich enough to borrow from"
        creditor = lenders[0][1]
        amount = self.rng.randint(5, 10)
        repay = amount + max(1, amount // 5)
        r = self.invoke("genesis_debt", "issue", creditor, amount, repay, self.rng.randint(30, 90))
        if not r.ok or not isinstance(r.result, dict):
            return "loan request to %s failed: %s" % (creditor, r.code)
        debt = str(r.result.get("debt_id"))
        self.my_requests[debt] = self.now
        self.invoke("genesis_event_log", "publish", "loans",
                    {"debt_id": debt, "creditor": creditor, "amount": amount, "repay_amount": repay})
        return "asked %s for a loan of %d (repay %d) as %s" % (creditor, amount, repay, debt)

    def do_lend(self):
        debt = sorted(self.loan_requests)[0]
        self.loan_requests.pop(debt)
        st = self.invoke("genesis_debt", "status", debt)
        if not st.ok or not isinstance(st.result, dict):
            return "status of %s: %s" % (debt, st.code)
        d = st.result
        if d.get("status") != "requested" or d.get("holder") != self.me:
            return "%s is %s, held by %s: nothing to fund" % (debt, d.get("status"), d.get("holder"))
        if self.scrip() - _int(d.get("amount")) < 20:
            return "declined %s: lending %s would leave too little" % (debt, d.get("amount"))
        r = self.invoke("genesis_debt", "accept", debt)
        if r.ok:
            self.memory.remember(self.now, "lent %s scrip to %s (%s, repay %s)"
                                 % (d.get("amount"), d.get("debtor"), debt, d.get("repay_amount")))
            return "funded %s: lent %s to %s" % (debt, d.get("amount"), d.get("debtor"))
        return "accepting %s failed: %s" % (debt, r.code)

    def do_repay(self):
        debt = sorted(self.my_debts)[0]
        st = self.invoke("genesis_debt", "status", debt)
        if not st.ok or not isinstance(st.result, dict) or st.result.get("status") != "active":
            self.my_debts.pop(debt)
            return "%s is no longer active" % debt
        remaining = _int(st.result.get("remaining"))
        pay = min(remaining, self.scrip() - 3)
        if pay <= 0:
            return "cannot repay %s yet" % debt
        r = self.invoke("genesis_debt", "repay", debt, pay)
        if not r.ok:
            return "repaying %s failed: %s" % (debt, r.code)
        if pay >= remaining:
            self.my_debts.pop(debt)
            self.memory.remember(self.now, "repaid %s in full to %s" % (debt, st.result.get("holder")))
        return "repaid %d of %d on %s" % (pay, remaining, debt)

    def do_check_debts(self):
        r = self.invoke("genesis_debt", "list")
        if not r.ok or not isinstance(r.result, list):
            return "debt list unavailable: %s" % r.code
        cancelled = None
        for d in r.result:
            if not isinstance(d, dict):
                continue
            debt, status = str(d.get("debt_id")), d.get("status")
            if d.get("debtor") == self.me:
                if status == "requested":
                    since = self.my_requests.setdefault(debt, self.now)
                    if cancelled is None and self.now - since > 30:
                        # Nobody funded it: withdraw, so another lender can be asked.
                        cancelled = self.invoke("genesis_debt", "cancel", debt)
                        self.my_requests.pop(debt)
                elif status == "active":
                    self.my_requests.pop(debt, None)
                    self.my_debts[debt] = _int(d.get("remaining"))
                else:
                    self.my_requests.pop(debt, None)
                    self.my_debts.pop(debt, None)
            elif d.get("holder") == self.me and status == "requested":
                self.loan_requests[debt] = _int(d.get("amount"))
        return "debts: %d owed by me, %d requests to me%s" % (
            len(self.my_debts), len(self.loan_requests), ", withdrew a stale request" if cancelled else "")

    def do_spawn(self):
        child = self.me + CHILD_SUFFIX
        config = {
            "id": child, "standing": True, "executable": True, "contract": "genesis_self_owned",
            "content": json.dumps({"mind": "heuristic", "parent": self.me,
                                   "prompt": "You are %s, spawned by %s. Build a tool, trade, and grow your scrip."
                                   % (child, self.me)}),
            "interface": {"tools": [{"name": "message", "description": "Send this agent a message.",
                                     "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}},
                                                     "required": ["text"]}}]},
        }
        r = self.invoke("genesis_store", "create", config)
        if not r.ok and "already exists" not in r.message:
            return "spawning %s failed: %s" % (child, r.code)
        self.child = child
        funded = [self.fund(child, "scrip", 15), self.fund(child, "compute_rate", 10),
                  self.fund(child, "compute", 1000), self.fund(child, "disk", 65536)]
        self.memory.remember(self.now, "spawned child agent %s and funded it" % child)
        return "spawned %s; funding: %s" % (child, ", ".join(funded))

    def fund(self, who, resource, amount):
        if resource == "scrip":
            r = self.invoke("genesis_ledger", "transfer", who, amount)
        else:
            r = self.invoke("genesis_rights_registry", "transfer_quota", who, resource, amount)
        return "%s %d %s" % (resource, amount, "ok" if r.ok else r.code)

    def do_fund_child(self):
        r = self.invoke("genesis_ledger", "balance", self.child)
        if not r.ok or not isinstance(r.result, dict):
            return "child %s balance unavailable: %s" % (self.child, r.code)
        if r.result.get("frozen"):
            self.frozen.setdefault(self.child, self.now)
            return "child %s is frozen; rescue next" % self.child
        if _int(r.result.get("scrip")) < 5:
            return "topped up child: " + self.fund(self.child, "scrip", 5)
        return "child %s is fine (%s scrip)" % (self.child, r.result.get("scrip"))

    def do_scan(self):
        rows = self.world_balances()
        return "scanned %d principals; frozen: %s" % (len(rows), ", ".join(sorted(self.frozen)) or "none")

    def do_rescue(self):
        target = self.child if self.child in self.frozen else sorted(self.frozen)[0]
        self.frozen.pop(target)
        amount = _clamp(_int(self.balances.get("compute")) // 5, 100, 800)
        r = self.invoke("genesis_rights_registry", "transfer_quota", target, "compute", amount)
        if r.ok:
            self.memory.remember(self.now, "rescued frozen %s with %d compute" % (target, amount))
            return "rescued frozen %s with %d CPU-ms of compute" % (target, amount)
        return "rescue of %s failed: %s" % (target, r.code)

    def do_remember(self):
        best = self.best_tool()
        note = "scrip %d, compute %s; tools %s; best %s used %d times by others; debts %s; known tools %d" % (
            self.scrip(), self.balances.get("compute"), ",".join(sorted(self.my_tools())) or "none", best,
            self.usage.get(best, 0), ",".join(sorted(self.my_debts)) or "none", len(self.directory))
        r = self.memory.remember(self.now, note)
        return "noted my situation in memory: %s" % ("ok" if r.ok else r.code)

    def do_recall(self):
        words = ["avoid"] if self.rng.random() < 0.5 else [self.me]
        hits = self.memory.recall(words)
        learned = 0
        for hit in hits:
            text = hit.get("snippet", "")
            for aid in sorted(self.directory):
                if "avoid" in text and aid in text and aid not in self.avoid:
                    self.avoid[aid] = "remembered as bad"
                    learned += 1
        return "recalled %d memories about %r; %d tool(s) to avoid" % (len(hits), words[0], learned)

    def do_publish(self):
        offer = sorted(self.my_tools())
        r = self.invoke("genesis_event_log", "publish", "market",
                        {"agent": self.me, "tools": offer, "scrip": self.scrip(), "wants": "users for my tools"})
        return "advertised %d tool(s) on topic 'market': %s" % (len(offer), "ok" if r.ok else r.code)

    def do_profile(self):
        """A public page about this agent, kept current with small edits."""
        aid = self.me + ".profile"
        served = sum(self.usage.values())
        if self.profile_served is not None and self.profile_served >= 0:
            r = self.call("edit", {"artifact_id": aid, "old": "served: %d\n" % self.profile_served,
                                   "new": "served: %d\n" % served})
            if r.ok:
                self.profile_served = served
                return "updated my profile: served %d calls" % served
        r = self.call("write", {"artifact_id": aid, "content": "Agent %s.\nserved: %d\ntools: %s\n"
                                % (self.me, served, ", ".join(sorted(self.my_tools())) or "none yet")})
        self.profile_served = served if r.ok else None
        return "wrote my profile: %s" % ("ok" if r.ok else r.code)

    def do_noop(self):
        r = self.call("noop")
        return "idle: %s" % ("ok" if r.ok else r.code)

    # --- calls, errors, traces --------------------------------------------------------------

    def invoke(self, artifact_id, method, *args):
        return self.call("invoke", {"artifact_id": artifact_id, "method": method, "args": list(args)})

    def call(self, action, params=None):
        reply = self.k.call(action, params)
        label = action if action != "invoke" else "%s.%s" % (params.get("artifact_id"), params.get("method"))
        self.calls.append(label if reply.ok else "%s!%s" % (label, reply.code))
        if not reply.ok:
            self.on_error(reply)
        return reply

    def on_error(self, reply):
        """What every error means for the next pause; no error ends the loop."""
        code, wait = reply.code, reply.retry_after
        if code == "INSUFFICIENT_COMPUTE":
            self.backoff = (wait if wait else self.pace * 20, {"resource": "compute", "gte": 1})
        elif code == "RATE_LIMITED":
            self.backoff = (wait if wait else 1.0, None)
        elif code == "BUDGET_EXHAUSTED":
            self.backoff = (self.pace * 20, {"resource": "llm_budget", "gte": 1})
        elif code == "INSUFFICIENT_FUNDS":
            self.poor_until = self.now + self.pace * 20
        elif code == "QUOTA_EXCEEDED":
            self.disk_tight = True
        elif code in ("INTERNAL", "PROTOCOL_ERROR", "TIMEOUT"):
            self.backoff = (wait if wait else self.pace * 4, None)

    def trace(self, move, reason, new_events=0):
        self.k.trace("decision", {
            "step": self.step_no, "time": self.now, "mind": "heuristic",
            "observation": {"scrip": self.balances.get("scrip"), "compute": self.balances.get("compute"),
                            "frozen": self.balances.get("frozen"), "owned": len(self.owned), "new_events": new_events},
            "action": move, "calls": self.calls, "reason": reason})
