"""The heuristic mind: a seeded, deterministic economic agent.

Each step is observe -> decide -> act -> pause. Deciding is not a draw from a menu:
every move in `MOVES` has a value function that estimates, in scrip, what making it
now is worth to this agent (a job's value less what it costs, a price change's
expected revenue, a loan's expected interest, a rescue's expected return), and the
agent makes the move worth most (a little seeded noise breaks ties). What makes the
economy is what the agents differ in and what they want:

- *Specialization*: each agent has a family of tools (`tools_library.FAMILIES`) it
  writes cheaply (its skill); any other family costs it more, so comparative
  advantage exists and an agent enters another family only when the market pays for it.
- *Demand*: agents have jobs that need results of two families. The agent's own family
  it does in house; the rest it must buy, from one tool per family or from a bundle.
- *Composition*: an agent that sees demand for a pair of families it could not serve
  alone invests in a firm: a spawned child whose own artifact is a bundle tool that
  calls other agents' tools through `invoke()` and pays them from the child's scrip
  (a principal with standing pays for its code's calls), selling the lot at one price.
- *Prices*: sellers raise a tool's price when it sold well in the last window and cut
  it when it did not; buyers choose by price over observed success rate (their own
  calls and everyone's invoke events) and avoid tools that keep failing.
- *Credit*: an agent borrows only to fund an investment it cannot pay for; the interest
  it offers grows with its leverage and the defaults it has been seen in; lenders lend
  when the expected repayment beats keeping the scrip, and remember who defaulted.
- *Scarcity*: a firm pays compute for every call it makes; one that sells more than its
  compute refills freezes. Its parent (or a creditor) rescues it when what it is
  expected to earn (or repay) beats the compute given; otherwise it stays frozen.

Given the seed and the replies it receives, the sequence of calls is fixed: the mind
never reads the wall clock (time is observe's `time`) and never iterates an unordered
collection without sorting it.
"""
import json
import random
import zlib

from agent import tools_library
from agent.memory import MemoryBook

BALANCE_PAGE = 100    # principals per all_balances page (the next scan continues after it)
EVENT_PAGE = 300      # invoke events per market read
CHILD_SUFFIX = "-jr"   # a firm is <parent>-jr, <parent>-jr2, ...
MAX_FIRMS = 2
RESERVE = 60          # scrip an agent keeps for its jobs (a few jobs' worth); investment comes out of the rest
FIRM_FLOAT = 50       # the least scrip a new firm starts with, to pay its suppliers through price rises
FIRM_CALLS_FUNDED = 8   # a firm's float pays its suppliers for this many sales
FIRM_COMPUTE = 300    # CPU-ms a new firm starts with
FIRM_RATE = 1         # CPU-ms/s of refill a new firm is given (of its parent's 100): less than it burns busy
FIRM_MARGIN = 1       # scrip a firm adds to its suppliers' prices (less than a buyer's OVERHEAD saved)
OVERHEAD = 2.0        # what one more separate call costs a buyer (compute, time), in scrip
OWN_SKILL_COST = 1    # the lowest price at which a tool of one's own family pays
OTHER_SKILL_COST = 3  # the same for a family one is not good at
MAX_PRICE = 12        # above what most jobs are worth: demand stops before it
TOOL_FAILURES = ("EXECUTION_ERROR", "TIMEOUT", "INVALID_ARGS", "NOT_FOUND", "DELETED", "ACCESS_DENIED",
                 "OUT_OF_MEMORY", "SANDBOX_VIOLATION", "INSUFFICIENT_COMPUTE", "INSUFFICIENT_FUNDS")


def _clamp(x, lo, hi):
    return max(lo, min(hi, x))


def _int(v, default=0):
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _num(v, default=0.0):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else default


class Reputation:
    """What is known of one tool: calls seen, failures, total latency."""

    __slots__ = ("calls", "failures", "wall_ms")

    def __init__(self):
        self.calls, self.failures, self.wall_ms = 0, 0, 0.0

    def see(self, ok, wall_ms=0.0):
        self.calls += 1
        self.failures += 0 if ok else 1
        self.wall_ms += wall_ms

    def success_rate(self):
        # A prior of two successes: a new tool is given the benefit of the doubt, three failures are not.
        return (self.calls - self.failures + 2.0) / (self.calls + 2.0)

    def latency_s(self):
        return self.wall_ms / 1000.0 / self.calls if self.calls else 0.0

    def unreliable(self):
        return self.calls >= 3 and self.success_rate() < 0.5


def family_for(roster, me, seed):
    """The family `me` specializes in: the families go round the sorted configured agents
    (spawned firms excluded) from an offset the seed picks. None if `me` is not in `roster`."""
    agents = sorted(a for a in roster if isinstance(a, str) and CHILD_SUFFIX not in a)
    if me not in agents:
        return None
    offset = seed if isinstance(seed, int) and not isinstance(seed, bool) else zlib.crc32(str(seed).encode())
    return tools_library.FAMILIES[(agents.index(me) + offset) % len(tools_library.FAMILIES)]


class HeuristicMind:
    def __init__(self, kernel, start):
        self.k = kernel
        self.me = str(start["agent_id"])
        self.seed = start.get("seed", 0)
        self.rng = random.Random("%s:%s" % (self.seed, self.me))
        self.pace = _clamp(float(start.get("pace", 0.25)), 0.01, 5.0)
        self.window = max(2.0, self.pace * 24)   # seconds over which demand is counted
        self.memory = MemoryBook(self, self.me)  # its calls go through self.call: traced, errors handled
        # Who I am: a family I am good at (see `boot`; this is the guess before it).
        self.family = tools_library.FAMILIES[zlib.crc32(("%s:%s" % (self.seed, self.me)).encode()) % len(tools_library.FAMILIES)]
        self.step_no = 0
        self.started_at = None     # world time of this run's first observation
        self.now = 0.0
        self.balances = {}
        self.owned = []
        self.mint_next = None
        self.last_seq = 0
        self.is_child = False
        self.parent = None
        self.children = []         # my firms
        self.firm_stages = None    # a child's bundle: [[tool id, method], ...]
        self.firm_capital = FIRM_FLOAT  # the float a firm keeps to pay its suppliers
        self.firm_price = None     # what a firm charges
        self.stage_cost = {}       # a firm's stage tool -> the price it last paid
        self.directory = {}        # others' tools: id -> {"owner", "price", "family", "tools", "bundle"}
        self.hints = []            # tool IDs heard of, not yet looked up
        self.reputation = {}       # tool id -> Reputation
        self.recalled = []         # tool IDs whose memories were consulted
        self.market_cursor = 0     # last invoke event seq read
        self.market_read_at = -1e9
        self.sales = {}            # my tool id -> paid uses by others in the current window
        self.buyers_since_award = {}  # my tool id -> sorted list of distinct payers since its last award
        self.uses_since_award = {}    # my tool id -> paid uses by others since its last award
        self.price_history = {}    # my tool id -> [(time, price, sales in the window)]
        self.window_start = None
        self.family_demand = {}    # family -> jobs seen needing it (mine and advertised)
        self.pair_demand = {}      # "f1+f2" -> jobs seen needing exactly that pair from others
        self.job = None            # {"families", "value", "tries", "since"}
        self.jobs_done = 0
        self.jobs_dropped = 0
        self.loan_requests = {}    # debt_id -> amount: requests where I am the creditor
        self.my_requests = {}      # debt_id -> first seen: my unfunded requests
        self.my_debts = {}         # debt_id -> {"remaining", "due_at", "holder"}
        self.lent = {}             # debt_id -> debtor: loans I made that are not settled
        self.record = {}           # principal -> [repaid, defaulted] as I have seen it
        self.frozen = {}           # principal -> when seen frozen
        self.balance_cursor = None
        self.invest_pending = None  # a firm I am raising capital for: {"pair", "since"}
        self.listing = None        # (listing_id, listed_at) of my active escrow listing
        self.bid_round = None
        self.last_award = {}       # my tool id -> time it last won the mint
        self.counts = {}           # move -> times made
        self.last_at = {}          # move -> when last made
        self.next_job_at = 0.0     # jobs arrive at a rate, not all at once
        self.attempted = []        # library keys I tried to write
        self.poor_until = -1.0
        self.backoff = None
        self.disk_tight = False
        self.calls = []

    # --- the loop ---------------------------------------------------------------------------

    def boot(self):
        """Recovers what the world remembers of this agent (it may have been restarted)."""
        meta = self.call("invoke", {"artifact_id": "genesis_store", "method": "get_metadata", "args": [self.me]})
        if meta.ok and isinstance(meta.result, dict):
            creator = meta.result.get("created_by")
            # Configured agents are created by the system; spawned ones by their parent.
            self.is_child = creator not in ("genesis", self.me, None)
            self.parent = creator if self.is_child else None
            stages = self.stages_of(meta.result.get("metadata"))
            if self.is_child and stages:
                self.firm_stages = stages
                self.firm_capital = max(FIRM_FLOAT, _int(meta.result["metadata"].get("float"), FIRM_FLOAT))
                self.firm_price = _int(meta.result.get("price"))
        # Specialization: the agents' families go round the sorted roster from an offset the
        # seed picks, so every family has a specialist whenever there are enough agents.
        roster = self.invoke("genesis_store", "list_agents")
        if roster.ok and isinstance(roster.result, list):
            self.family = family_for(roster.result, self.me, self.seed) or self.family
        mine = self.invoke("genesis_store", "list_by_owner", self.me)
        if mine.ok and isinstance(mine.result, list):
            self.memory.restore(mine.result)
        if not self.is_child:
            # A spawned firm owns itself, so it is not in my list: its ID tells.
            for n in range(MAX_FIRMS):
                r = self.invoke("genesis_store", "get_metadata", self.firm_id(n))
                if not (r.ok and isinstance(r.result, dict) and r.result.get("created_by") == self.me):
                    break
                self.children.append(self.firm_id(n))
        self.trace("boot", "%s; family %s" % ("firm of %s" % self.parent if self.is_child else "configured agent",
                                               self.family))

    def firm_id(self, n):
        return self.me + CHILD_SUFFIX + ("" if n == 0 else str(n + 1))

    @staticmethod
    def stages_of(metadata):
        stages = metadata.get("stages") if isinstance(metadata, dict) else None
        if isinstance(stages, list) and all(isinstance(s, list) and len(s) == 2 and all(isinstance(x, str) for x in s)
                                            for s in stages):
            return stages
        return None

    def step(self):
        self.step_no += 1
        self.calls = []
        obs = self.call("observe")
        if not obs.ok:
            self.trace("observe_failed", "observe answered %s" % obs.code)
            self.pause()
            return
        new_events = self.absorb(obs.result if isinstance(obs.result, dict) else {})
        if self.started_at is None:
            self.started_at = self.now
        if self.balances.get("frozen"):
            self.backoff = (self.pace * 20, {"resource": "compute", "gte": 1})
            self.trace("wait_frozen", "frozen (compute %s): sleeping until compute recovers" % self.balances.get("compute"),
                       new_events)
            self.pause()
            return
        if self.disk_tight:
            self.disk_tight = False
            self.memory.forget_oldest()
        self.roll_window()
        if self.job is None and not self.is_child and self.now >= self.next_job_at:
            self.job = self.new_job()
        name, value, act = self.choose()
        reason = act(self)
        self.counts[name] = self.counts.get(name, 0) + 1
        self.last_at[name] = self.now
        self.trace(name, "%s (valued %.1f)" % (reason, value), new_events)
        self.pause()

    def choose(self):
        """The move worth most now; seeded noise (well under one scrip) breaks ties."""
        best = None
        for name, value_of, act in MOVES:
            v = value_of(self)
            if v is None or v <= 0:
                continue
            v += self.rng.random() * 0.3
            if best is None or v > best[1]:
                best = (name, v, act)
        return best or ("rest", 0.0, HeuristicMind.do_rest)

    def pause(self):
        """The sleep between steps: a backoff after an error, else a short nap that may also
        wake when scrip arrives (sales, repayments, UBI) if the agent is short of it."""
        if self.backoff:
            seconds, balance = self.backoff
            self.backoff = None
            reply = self.k.sleep(seconds=_clamp(seconds, 0.05, 60), balance=balance)
        else:
            scrip = self.scrip()
            if scrip < 5:
                reply = self.k.sleep(seconds=self.pace * 8, balance={"resource": "scrip", "gte": scrip + 5})
            elif self.rng.random() < 0.15:
                reply = self.k.sleep(seconds=self.pace * 3, event={"topic": "market"})
            else:
                reply = self.k.sleep(seconds=self.pace * self.rng.uniform(0.4, 1.6))
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
        """Reacts to what happened: loan requests, freezes, tool adverts, wants, awards."""
        kind, who = ev.get("type"), ev.get("principal")
        data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
        if kind == "debt_requested" and data.get("creditor") == self.me:
            self.loan_requests[str(data.get("debt_id"))] = _int(data.get("amount"))
        elif kind == "debt_issued" and data.get("debtor") == self.me:
            debt = str(data.get("debt_id"))
            self.my_requests.pop(debt, None)
            self.my_debts.setdefault(debt, {"remaining": _int(data.get("repay_amount"), None),
                                            "due_at": self.now + self.window * 2, "holder": data.get("creditor")})
        elif kind == "agent_frozen" and who and who != self.me:
            self.frozen[who] = self.now
        elif kind == "agent_unfrozen" and who:
            self.frozen.pop(who, None)
        elif kind == "escrow_purchase" and data.get("seller") == self.me:
            self.listing = None
        elif kind == "artifact_written" and data.get("kind") == "tool" and who != self.me and data.get("created"):
            self.hear_of(data.get("artifact_id"))
        elif kind == "mint_resolved":
            for w in data.get("winners") or []:
                if isinstance(w, dict) and w.get("owner") == self.me and _int(w.get("minted")) > 0:
                    aid = str(w.get("artifact_id"))
                    self.last_award[aid] = self.now
                    self.buyers_since_award[aid] = []
                    self.uses_since_award[aid] = 0
        elif kind == "custom":
            payload = data.get("data") if isinstance(data.get("data"), dict) else {}
            topic = data.get("topic")
            if topic == "tools" and who != self.me:
                self.hear_of(payload.get("artifact_id"))
            elif topic == "loans" and payload.get("creditor") == self.me:
                self.loan_requests[str(payload.get("debt_id"))] = _int(payload.get("amount"))
            elif topic == "market" and who != self.me and isinstance(payload.get("wants"), list):
                self.note_demand([f for f in payload["wants"] if f in tools_library.FAMILIES], who)

    def note_demand(self, families, who):
        fams = sorted(set(families))
        for f in fams:
            self.family_demand[f] = self.family_demand.get(f, 0) + 1
        for i in range(len(fams)):
            for j in range(i + 1, len(fams)):
                key = fams[i] + "+" + fams[j]
                self.pair_demand[key] = self.pair_demand.get(key, 0) + 1

    def hear_of(self, aid):
        if isinstance(aid, str) and aid and not aid.startswith(self.me + ".") and aid != self.me \
                and aid not in self.directory and aid not in self.hints:
            self.hints.append(aid)

    def scrip(self):
        return _int(self.balances.get("scrip"))

    def compute(self):
        return _int(self.balances.get("compute"))

    def my_tools(self):
        return sorted(a["id"] for a in self.owned if a.get("kind") == "tool" and isinstance(a.get("id"), str))

    def my_price(self, aid):
        for a in self.owned:
            if a.get("id") == aid:
                return _int(a.get("price"))
        return 0

    def my_families(self):
        fams = set()
        for aid in self.my_tools():
            e = tools_library.BY_KEY.get(aid[len(self.me) + 1:])
            if e:
                fams.add(e["family"])
        return fams

    def since(self, move):
        return self.now - self.last_at.get(move, -1e9)

    def job_finished(self):
        self.job = None
        # Demand grows with income: a richer agent has more jobs worth paying for.
        self.next_job_at = self.now + self.pace * self.rng.uniform(1.0, 3.0) * _clamp(60.0 / max(1, self.scrip()), 0.3, 4.0)

    def skill_cost(self, family):
        return OWN_SKILL_COST if family == self.family else OTHER_SKILL_COST

    def rep(self, aid):
        r = self.reputation.get(aid)
        if r is None:
            r = self.reputation[aid] = Reputation()
        return r

    def roll_window(self):
        """Demand is counted per window; at its end it decays, so old demand fades."""
        if self.window_start is None:
            self.window_start = self.now
        if self.now - self.window_start < self.window:
            return False
        self.window_start = self.now
        for table in (self.family_demand, self.pair_demand):
            for key in sorted(table):
                table[key] //= 2
                if not table[key]:
                    del table[key]
        return True

    # --- demand: jobs -----------------------------------------------------------------------

    def new_job(self):
        """A job needing three families; what it is worth to me is private (12–24 scrip)."""
        fams = list(tools_library.FAMILIES)
        self.rng.shuffle(fams)
        job = {"families": sorted(fams[:3]), "value": self.rng.randint(12, 24), "tries": 0, "since": self.now}
        self.note_demand([f for f in job["families"] if f != self.family], self.me)
        return job

    def job_needs(self):
        """The families of the current job I must buy (my own family I do in house)."""
        if not self.job:
            return []
        return [f for f in self.job["families"] if f != self.family]

    def offers_for(self, family):
        """(effective cost, tool id) of every usable single tool of `family`, cheapest first."""
        out = []
        for aid in sorted(self.directory):
            e = self.directory[aid]
            if e["family"] != family or e["bundle"]:
                continue
            r = self.rep(aid)
            if r.unreliable():
                continue
            out.append(((e["price"] + OVERHEAD + r.latency_s()) / r.success_rate(), aid))
        return sorted(out)

    def bundle_offer(self, needs):
        """(effective cost, firm id) of the best bundle that covers exactly `needs`."""
        best = None
        for aid in sorted(self.directory):
            e = self.directory[aid]
            if not e["bundle"] or sorted(e["bundle"]) != sorted(needs) or aid in self.children:
                continue
            r = self.rep(aid)
            if r.unreliable():
                continue
            cost = (e["price"] + OVERHEAD + r.latency_s()) / r.success_rate()
            if best is None or cost < best[0]:
                best = (cost, aid)
        return best

    def plan_job(self):
        """The cheapest way to get the job done: [(tool id, its family or None for a bundle)], and its cost."""
        needs = self.job_needs()
        if not needs:
            return [], 0.0
        singles, total = [], 0.0
        for f in needs:
            offers = self.offers_for(f)
            if not offers:
                singles = None
                break
            singles.append((offers[0][1], f))
            total += offers[0][0]
        best = (singles, total) if singles is not None else (None, None)
        # A bundle for two of the needs, and a single tool for the rest, may be cheaper.
        for i in range(len(needs)):
            for j in range(i + 1, len(needs)):
                bundle = self.bundle_offer([needs[i], needs[j]])
                if not bundle:
                    continue
                plan, cost = [(bundle[1], None)], bundle[0]
                for f in needs:
                    if f in (needs[i], needs[j]):
                        continue
                    offers = self.offers_for(f)
                    if not offers:
                        plan = None
                        break
                    plan.append((offers[0][1], f))
                    cost += offers[0][0]
                if plan and (best[0] is None or cost <= best[1]):
                    best = (plan, cost)
        return best

    # --- values of the moves (scrip-equivalents; None or <= 0: not worth it now) ------------

    def v_work(self):
        if self.is_child or not self.job or self.now < self.poor_until:
            return None
        plan, cost = self.plan_job()
        if plan is None:
            return None
        spend = sum(self.directory[aid]["price"] for aid, _ in plan)
        if spend > self.scrip() - 3:
            return None
        return self.job["value"] - cost

    def v_drop_job(self):
        # A job nobody can serve for long is given up, and the unmet demand advertised.
        if self.job and self.now - self.job["since"] > self.window:
            return 0.5
        return None

    def v_write_tool(self):
        entry, value = self.best_new_tool()
        return value if entry else None

    def best_new_tool(self):
        """The library tool worth writing most: expected sales of its family at a price that pays."""
        if len(self.my_tools()) >= (0 if self.is_child else 4):
            return None, 0
        mine = self.my_families()
        owned_ids = set(a.get("id") for a in self.owned)
        best, best_value = None, 0.0
        for family in tools_library.FAMILIES:
            if family in mine and family != self.family:
                continue
            supply = len([1 for e in self.directory.values() if e["family"] == family and not e["bundle"]])
            demand = self.family_demand.get(family, 0)
            if family == self.family:
                # My trade: one tool always, a second when demand outruns supply.
                have = len([1 for aid in self.my_tools() if aid[len(self.me) + 1:] in tools_library.BY_KEY
                            and tools_library.BY_KEY[aid[len(self.me) + 1:]]["family"] == family])
                # (A second product is tried; one that does not sell is sold off later.)
                value = 12.0 if have == 0 else 5.0 if have == 1 else (demand - 2 * (supply + have)) * 0.5 if have < 3 else 0
            else:
                # Entry into another family pays when its going price beats my cost there
                # (a monopolist's high price draws entrants), or when nobody sells it at all.
                going = sorted(e["price"] for e in self.directory.values() if e["family"] == family and not e["bundle"])
                margin = (going[len(going) // 2] if going else self.skill_cost(family) + 2) - self.skill_cost(family) - 1
                value = margin * min(demand, 6) * 0.5 if supply <= 2 else 0
            if value <= best_value:
                continue
            for key in tools_library.KEYS_BY_FAMILY[family]:
                if "%s.%s" % (self.me, key) not in owned_ids and key not in self.attempted:
                    best, best_value = tools_library.BY_KEY[key], value
                    break
        return best, best_value

    def v_read_market(self):
        stale = self.now - self.market_read_at
        return 6.0 if stale > self.window else (3.0 if stale > self.window / 2 else None)

    def v_discover(self):
        if self.hints:
            return 5.0
        if not self.directory and self.since("discover") > self.pace * 8:
            return 4.0
        return 2.5 if self.since("discover") > self.window else None

    def v_reprice(self):
        due = [aid for aid in self.my_tools() if self.reprice_due(aid)]
        return 4.0 if due else None

    def reprice_due(self, aid):
        hist = self.price_history.get(aid)
        last = hist[-1][0] if hist else None
        return last is None or self.now - last >= self.window

    def v_bid(self):
        if self.bid_round == self.mint_next or self.now < self.poor_until:
            return None
        aid, expected = self.best_mint_candidate()
        if not aid:
            return None
        return expected - self.bid_amount(expected)

    def best_mint_candidate(self):
        """My artifact the mint should score highest now: distinct paying users since its last award."""
        best, best_score = None, 0
        for aid in self.my_tools() + ([self.me] if self.firm_stages else []):
            users = len(self.buyers_since_award.get(aid, []))
            if not users:
                continue
            # The built-in scorer's formula (MintScorer.swift): quality, users, volume, composition.
            score = 25 + min(40, 10 * users) + min(15, self.sales_total(aid)) + (10 if aid == self.me else 0)
            if score > best_score:
                best, best_score = aid, score
        return best, float(best_score)

    def sales_total(self, aid):
        return self.uses_since_award.get(aid, 0)

    def bid_amount(self, expected):
        # A losing bid is refunded and a winner pays the next bid, so even a poor agent bids
        # in proportion to what it expects, not to its wealth.
        return int(_clamp(expected // 5, 1, max(1, self.scrip() - 3)))

    def v_invest(self):
        if self.is_child or len(self.children) >= MAX_FIRMS or self.now < self.poor_until:
            return None
        pair, stages = self.firm_opportunity()
        if not pair:
            return None
        demand = self.pair_demand.get(pair, 0)
        # Margin on the calls I expect over a few windows, less the capital's interest.
        expected = FIRM_MARGIN * demand * 2.0 - self.loan_interest(max(0, self.firm_float(stages) + RESERVE - self.scrip()))
        if self.invest_pending and self.my_requests:
            return None  # waiting for the loan
        return expected if expected > 0 else None

    def firm_float(self, stages):
        """The scrip a firm needs to pay its suppliers for its first sales."""
        return max(FIRM_FLOAT, FIRM_CALLS_FUNDED * sum(self.directory[s[0]]["price"] for s in stages))

    def firm_opportunity(self):
        """The family pair with unmet bundle demand that others' tools can serve: (pair, stages)."""
        for pair in sorted(self.pair_demand, key=lambda p: (-self.pair_demand[p], p)):
            if self.pair_demand[pair] < 2:
                continue
            families = pair.split("+")
            if self.bundle_offer(families):
                continue
            stages = []
            for f in families:
                offers = self.offers_for(f)
                if not offers:
                    break
                aid = offers[0][1]
                tool = self.directory[aid]["tools"][0]
                stages.append([aid, tool["name"]])
            if len(stages) == 2:
                return pair, stages
        return None, None

    def loan_interest(self, amount):
        """Interest I must offer for `amount`: more when I am leveraged or have defaulted."""
        if amount <= 0:
            return 0
        repaid, defaulted = self.record.get(self.me, [0, 0])
        owed = sum(_int(d.get("remaining"), 0) for d in self.my_debts.values())
        risk = 0.2 + 0.4 * defaulted / (repaid + defaulted + 1.0) + 0.2 * owed / max(1.0, self.scrip())
        return max(1, int(round(amount * risk)))

    def v_lend(self):
        # Answering a request is worth it even when poor: a decline tells the borrower to ask elsewhere.
        return 3.0 if self.loan_requests else None

    def v_repay(self):
        if not self.my_debts:
            return None
        # Repaying is worth it when the due time nears (a default ruins my record, and so my
        # rate), or when it no longer eats into the reserve my jobs need.
        due_soon = any(d.get("due_at") is not None and d["due_at"] - self.now < self.window for d in self.my_debts.values())
        owed = sum(_int(d.get("remaining"), 0) for d in self.my_debts.values())
        if due_soon and self.scrip() > 3:
            return 7.0
        return 3.0 if owed and self.scrip() - owed >= RESERVE else None

    def v_check_debts(self):
        if (self.my_debts or self.lent or self.my_requests) and self.since("check_debts") > self.window / 2:
            return 1.5
        # A lender hears of requests from events, which a busy world may push out of view.
        return 1.0 if self.since("check_debts") > self.window else None

    def v_rescue(self):
        target, expected, cost = self.rescue_case()
        return expected - cost if target else None

    def rescue_case(self):
        """The frozen principal most worth rescuing: my firm (what it earns me) or a debtor (what it owes me)."""
        if self.compute() < 2000:
            return None, 0, 0
        best = (None, 0, 0)
        for who in sorted(self.frozen):
            cost = 1.0  # compute is the agent's own refilling resource: giving 800 CPU-ms costs little scrip
            if who in self.children:
                expected = 6.0 + 2.0 * self.pair_demand.get("+".join(sorted(self.directory.get(who, {}).get("bundle") or [])), 0)
            else:
                # A frozen debtor cannot earn what it owes me: thawing it is worth part of the debt.
                expected = 3.0 * len([d for d, debtor in sorted(self.lent.items()) if debtor == who])
            if expected - cost > best[1] - best[2]:
                best = (who, expected, cost)
        return best

    def v_sell(self):
        """A tool that has not sold for two windows is worth its listing price to someone entering the family."""
        if self.is_child or self.listing is not None:
            return None
        idle = self.idle_tool()
        return 2.0 if idle else None

    def idle_tool(self):
        """A tool that sold nothing for two windows, unless it is the last one of my trade."""
        mine = self.my_tools()
        trade = [aid for aid in mine if tools_library.family_of(aid) == self.family]
        for aid in mine:
            hist = self.price_history.get(aid) or []
            # A tool of another family (bought or written) gets longer to find its buyers.
            idle = 2 if tools_library.family_of(aid) == self.family else 4
            if len(hist) >= idle and all(h[2] == 0 for h in hist[-idle:]) and not (trade == [aid]):
                return aid
        return None

    def v_buy(self):
        """A listed tool of a family in demand, cheaper than writing one myself."""
        if self.is_child or self.scrip() < RESERVE or self.now < self.poor_until:
            return None
        return 1.2 if self.since("buy") > self.window else None

    def v_tend_firm(self):
        if not self.is_child:
            return None
        # A firm keeps its float; beyond it, it pays its parent back (dividends).
        if self.parent and self.scrip() > self.firm_capital + 10:
            return 4.0
        return None

    def v_firm_reprice(self):
        """A firm follows its market: the cheapest reliable supplier for each stage, and a price
        of their prices plus its margin (above it, buyers would call the suppliers themselves)."""
        # A rewrite restarts the firm, so the pause is counted from its start too.
        if not self.firm_stages or self.firm_price is None or self.since("firm_reprice") < self.window * 4 \
                or self.now - self.started_at < self.window * 4:
            return None
        stages, price = self.best_stages()
        if stages is None:
            return None
        # Rewriting its own artifact restarts a firm: only a real change is worth it.
        return 5.0 if stages != self.firm_stages or price != self.firm_price else None

    def best_stages(self):
        families = sorted(set(tools_library.family_of(s[0]) or "" for s in self.firm_stages))
        stages, price = [], FIRM_MARGIN
        for s in self.firm_stages:
            f = tools_library.family_of(s[0])
            offers = self.offers_for(f) if f else []
            if not offers:
                return None, None
            aid = offers[0][1]
            stages.append([aid, self.directory[aid]["tools"][0]["name"]])
            price += self.directory[aid]["price"]
        return (stages, price) if len(families) == len(stages) else (None, None)

    def do_firm_reprice(self):
        stages, price = self.best_stages()
        families = [tools_library.family_of(s[0]) for s in stages]
        old = self.firm_price
        r = self.call("write", {"artifact_id": self.me, "price": price, "code": tools_library.bundle_code(stages),
                                "interface": tools_library.bundle_interface(stages, families),
                                "metadata": {"bundle": sorted(families), "stages": stages, "float": self.firm_capital}})
        if r.ok:
            self.firm_price, self.firm_stages = price, stages
        return "my suppliers now: %s; price %d -> %d (%s)" % (", ".join(s[0] for s in stages), old, price,
                                                             "ok" if r.ok else r.code)

    def v_remember(self):
        return 0.6 if self.since("remember") > self.window * 3 else None

    # --- moves (each returns the reason recorded in the trace) ------------------------------

    def do_work(self):
        plan, cost = self.plan_job()
        job = self.job
        job["tries"] += 1
        results = []
        for aid, family in plan:
            e = self.directory[aid]
            if aid not in self.recalled:
                # First use: ask my memories whether I have been burnt by this tool before.
                self.recalled.append(aid)
                if any("avoid" in h.get("snippet", "") for h in self.memory.recall(["avoid", aid])):
                    self.rep(aid).failures += 3
                    self.rep(aid).calls += 3
                    return "memory says to avoid %s; replanning job %s" % (aid, "+".join(job["families"]))
            method = e["tools"][0]["name"]
            args = self.example_args(e, method)
            r = self.invoke(aid, method, *args)
            self.rep(aid).see(r.ok)
            if not r.ok:
                if r.code in TOOL_FAILURES and self.rep(aid).unreliable():
                    self.memory.remember(self.now, "avoid tool %s: it failed %d of %d calls, last with %s"
                                         % (aid, self.rep(aid).failures, self.rep(aid).calls, r.code))
                return "job %s: %s failed with %s" % ("+".join(job["families"]), aid, r.code)
            results.append("%s for %d" % (aid, e["price"]))
        self.job_finished()
        self.jobs_done += 1
        return "did job %s worth %d through %s (cost %.1f)" % ("+".join(job["families"]), job["value"],
                                                               ", ".join(results) or "my own skill", cost)

    def example_args(self, entry, method):
        """Positional args from a tool's schema examples, else made up from its types."""
        tools = entry["tools"] if entry else []
        tool = next((t for t in tools if t.get("name") == method), tools[0] if tools else {})
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

    def do_drop_job(self):
        job = self.job
        self.job_finished()
        self.jobs_dropped += 1
        wants = [f for f in job["families"] if f != self.family]
        r = self.invoke("genesis_event_log", "publish", "market",
                        {"agent": self.me, "wants": wants, "value": job["value"]})
        return "gave up job %s (worth %d): nobody sells it cheap enough; advertised the want: %s" % (
            "+".join(job["families"]), job["value"], "ok" if r.ok else r.code)

    def do_write_tool(self, entry=None, price=None):
        entry = entry or self.best_new_tool()[0]
        self.attempted.append(entry["key"])
        aid = "%s.%s" % (self.me, entry["key"])
        cost = self.skill_cost(entry["family"])
        going = sorted(e["price"] for e in self.directory.values() if e["family"] == entry["family"] and not e["bundle"])
        price = price or max(cost, (going[len(going) // 2] if going else cost + 1))
        r = self.write_tool(aid, entry, price)
        if not r.ok:
            return "writing tool %s failed: %s" % (aid, r.code)
        self.price_history[aid] = [(self.now, price, 0)]
        self.sales[aid] = 0
        return "wrote %s (family %s, my cost %d) at %d scrip per call; going prices %s" % (
            aid, entry["family"], cost, price, going or "none")

    def write_tool(self, aid, entry, price):
        r = self.call("write", {"artifact_id": aid, "content": tools_library.description(entry), "code": entry["code"],
                                "interface": tools_library.interface(entry), "executable": True, "price": price,
                                "metadata": {"family": entry["family"]}})
        if r.ok:
            self.invoke("genesis_event_log", "publish", "tools",
                        {"artifact_id": aid, "family": entry["family"], "price": price,
                         "methods": [t["name"] for t in entry["tools"]]})
        return r

    def do_reprice(self):
        """Sellers follow demand: up after a window of sales, down after a window without."""
        changed = []
        for aid in self.my_tools():
            if not self.reprice_due(aid):
                continue
            entry = tools_library.BY_KEY.get(aid[len(self.me) + 1:])
            price, sold = self.my_price(aid), self.sales.get(aid, 0)
            floor = self.skill_cost(entry["family"]) if entry else 1
            new = price + 1 if sold >= 3 else price - 1 if sold == 0 else price
            new = int(_clamp(new, floor, MAX_PRICE))
            self.price_history.setdefault(aid, []).append((self.now, new, sold))
            del self.price_history[aid][:-20]
            self.sales[aid] = 0
            if new != price and entry:
                r = self.write_tool(aid, entry, new)
                changed.append("%s %d->%d after %d sales (%s)" % (aid, price, new, sold, "ok" if r.ok else r.code))
            else:
                changed.append("%s stays %d after %d sales" % (aid, price, sold))
        return "repriced: " + "; ".join(changed)

    def do_read_market(self):
        """Everyone's invokes since the last read: my sales, others' tools' results and latency."""
        self.market_read_at = self.now
        r = self.invoke("genesis_event_log", "read", {"type": "invoke"}, EVENT_PAGE, self.market_cursor)
        if not r.ok or not isinstance(r.result, list):
            return "market unreadable: %s" % r.code
        seen = sold = 0
        for ev in r.result:
            if not isinstance(ev, dict):
                continue
            self.market_cursor = max(self.market_cursor, _int(ev.get("seq")))
            d = ev.get("data") if isinstance(ev.get("data"), dict) else {}
            if ev.get("type") != "invoke":
                continue
            aid, payer, owner = d.get("artifact_id"), d.get("payer"), d.get("owner")
            if not isinstance(aid, str):
                continue
            seen += 1
            ok = d.get("error") is None
            if d.get("caller") == self.me and payer == self.me and ok and _int(d.get("price_paid")) > 0:
                self.stage_cost[aid] = _int(d.get("price_paid"))  # what my bundle's stages cost me now
            if owner == self.me and payer != self.me and payer not in self.children and ok and _int(d.get("price_paid")) > 0:
                self.sales[aid] = self.sales.get(aid, 0) + 1
                self.uses_since_award[aid] = self.uses_since_award.get(aid, 0) + 1
                buyers = self.buyers_since_award.setdefault(aid, [])
                if payer not in buyers:
                    buyers.append(payer)
                    buyers.sort()
                sold += 1
            elif owner != self.me:
                self.rep(aid).see(ok, _num(d.get("wall_ms")))
                if aid not in self.directory:
                    self.hear_of(aid)
        return "read %d invokes: %d paid uses of my tools; %d tools with a reputation" % (seen, sold, len(self.reputation))

    def do_discover(self):
        found = 0
        if self.hints:
            for aid in self.hints[:3]:
                r = self.invoke("genesis_store", "get_metadata", aid)
                if r.ok and isinstance(r.result, dict):
                    found += self.add_to_directory(r.result)
            del self.hints[:3]
            return "looked up %d heard-of tool(s); %d known" % (found, len(self.directory))
        if self.rng.random() < 0.3:
            family = tools_library.FAMILIES[self.rng.randrange(len(tools_library.FAMILIES))]
            r = self.invoke("genesis_store", "search", family, 20)
            if r.ok and isinstance(r.result, list):
                for hit in r.result[:20]:
                    if isinstance(hit, dict) and hit.get("owner_id") != self.me:
                        self.hear_of(hit.get("id"))
            return "searched the store for %r; %d to look up" % (family, len(self.hints))
        r = self.invoke("genesis_store", "list", {"kind": "tool", "limit": 100})
        if r.ok and isinstance(r.result, list):
            for meta in r.result:
                if isinstance(meta, dict):
                    found += self.add_to_directory(meta)
        r = self.invoke("genesis_store", "list", {"kind": "agent", "limit": 100})
        if r.ok and isinstance(r.result, list):
            for meta in r.result:
                if isinstance(meta, dict):
                    found += self.add_to_directory(meta)
        return "listed tools and firms; %d known, %d new" % (len(self.directory), found)

    def add_to_directory(self, meta):
        """Knows a tool (or a firm: an agent whose artifact is a bundle) by its family and price."""
        aid, owner = meta.get("id"), meta.get("owner_id")
        tools = (meta.get("interface") or {}).get("tools") if isinstance(meta.get("interface"), dict) else None
        # My own tools come back under genesis_escrow's ownership while listed: the ID prefix tells.
        if not isinstance(aid, str) or owner == self.me or aid.startswith(self.me + ".") or aid == self.me:
            return 0
        if not meta.get("can_execute") or not isinstance(tools, list) or not tools:
            return 0
        family, bundle, stages = None, None, None
        md = meta.get("metadata") if isinstance(meta.get("metadata"), dict) else {}
        if meta.get("kind") == "tool":
            family = md.get("family") if md.get("family") in tools_library.FAMILIES else tools_library.family_of(aid)
        elif meta.get("kind") == "agent":
            stages = self.stages_of(md)
            fams = md.get("bundle")
            if not stages or not isinstance(fams, list) or len(fams) != 2 or aid in self.children:
                return 0
            bundle = sorted(str(f) for f in fams)
        if family is None and bundle is None:
            return 0
        new = aid not in self.directory
        self.directory[aid] = {"owner": owner, "price": _int(meta.get("price")), "family": family, "bundle": bundle,
                               "stages": stages,
                               "tools": [t for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]}
        return 1 if new else 0

    def do_bid(self):
        self.bid_round = self.mint_next
        aid, expected = self.best_mint_candidate()
        amount = self.bid_amount(expected)
        amount += self.rng.randint(0, 3)  # a mixed strategy: equal expectations do not always tie
        r = self.invoke("genesis_mint", "bid", aid, amount)
        if r.ok:
            return "bid %d scrip on the mint for %s (%d paying users since its last award, expected score %d)" % (
                amount, aid, len(self.buyers_since_award.get(aid, [])), expected)
        return "mint bid for %s failed: %s" % (aid, r.code)

    def do_invest(self):
        """Funds a firm for an unserved pair of families, borrowing the shortfall if I must."""
        pair, stages = self.firm_opportunity()
        capital = self.firm_float(stages)
        short = capital + RESERVE - self.scrip()
        if short > 0:
            if self.invest_pending and self.now - self.invest_pending["since"] < self.window * 2:
                return "waiting for a loan to fund a firm for %s" % pair
            self.invest_pending = {"pair": pair, "since": self.now}
            return self.borrow(short + 2, "to fund a firm selling %s" % pair)
        self.invest_pending = None
        return self.spawn(pair, stages, capital)

    def borrow(self, amount, why):
        lenders = sorted((-_int(b.get("scrip")), b["id"]) for b in self.world_balances()
                         if b["id"] != self.me and b["id"] not in self.children and not b.get("frozen")
                         and _int(b.get("scrip")) >= amount + RESERVE and self.record.get(b["id"], [0, 0])[1] == 0)
        if not lenders:
            return "nobody rich enough to lend %d %s" % (amount, why)
        creditor = lenders[0][1]
        repay = amount + self.loan_interest(amount)
        r = self.invoke("genesis_debt", "issue", creditor, amount, repay, int(self.window * 2))
        if not r.ok or not isinstance(r.result, dict):
            return "loan request to %s failed: %s" % (creditor, r.code)
        debt = str(r.result.get("debt_id"))
        self.my_requests[debt] = self.now
        self.invoke("genesis_event_log", "publish", "loans",
                    {"debt_id": debt, "creditor": creditor, "amount": amount, "repay_amount": repay, "why": why})
        return "asked %s for %d (repay %d) %s as %s" % (creditor, amount, repay, why, debt)

    def spawn(self, pair, stages, capital):
        child = self.firm_id(len(self.children))
        families = pair.split("+")
        price = sum(self.directory[s[0]]["price"] for s in stages) + FIRM_MARGIN
        code = tools_library.bundle_code(stages)
        config = {
            "id": child, "standing": True, "executable": True, "contract": "genesis_freeware",
            "content": json.dumps({"mind": "heuristic", "parent": self.me,
                                   "prompt": "You are %s, a firm spawned by %s: you sell a bundle of %s." % (
                                       child, self.me, " and ".join(families)),
                                   "description": "Bundle: %s in one call (%s)." % (
                                       " + ".join(families), ", ".join(s[0] for s in stages))}),
            "code": code, "price": price,
            "interface": tools_library.bundle_interface(stages, families),
            "metadata": {"bundle": families, "stages": stages, "float": capital},
        }
        r = self.invoke("genesis_store", "create", config)
        if not r.ok and "already exists" not in r.message:
            return "spawning firm %s failed: %s" % (child, r.code)
        self.children.append(child)
        funded = [self.fund(child, "scrip", capital), self.fund(child, "compute_rate", FIRM_RATE),
                  self.fund(child, "compute", FIRM_COMPUTE), self.fund(child, "disk", 65536)]
        # The firm owns itself, so what it sells is its own income (and its failure its own).
        own = self.invoke("genesis_ledger", "transfer_ownership", child, child)
        self.memory.remember(self.now, "spawned firm %s selling %s at %d; capital %d scrip" % (child, pair, price, capital))
        return "spawned firm %s (bundle %s over %s at %d scrip); funding: %s; owns itself: %s" % (
            child, pair, ", ".join(s[0] for s in stages), price, ", ".join(funded), "ok" if own.ok else own.code)

    def fund(self, who, resource, amount):
        if resource == "scrip":
            r = self.invoke("genesis_ledger", "transfer", who, amount)
        else:
            r = self.invoke("genesis_rights_registry", "transfer_quota", who, resource, amount)
        return "%s %d %s" % (resource, amount, "ok" if r.ok else r.code)

    def do_lend(self):
        debt = sorted(self.loan_requests)[0]
        self.loan_requests.pop(debt)
        st = self.invoke("genesis_debt", "status", debt)
        if not st.ok or not isinstance(st.result, dict):
            return "status of %s: %s" % (debt, st.code)
        d = st.result
        if d.get("status") != "requested" or d.get("holder") != self.me:
            return "%s is %s, held by %s: nothing to fund" % (debt, d.get("status"), d.get("holder"))
        amount, repay, debtor = _int(d.get("amount")), _int(d.get("repay_amount")), d.get("debtor")
        repaid, defaulted = self.record.get(debtor, [0, 0])
        # Odds of repayment from the debtor's record, with a prior of trust (about 0.9).
        p_repay = (repaid + 4.0) / (repaid + defaulted + 4.5)
        if p_repay * repay <= amount:
            return "declined %s: %s repays %d for %d with odds %.2f (repaid %d, defaulted %d)" % (
                debt, debtor, repay, amount, p_repay, repaid, defaulted)
        if self.scrip() - amount < RESERVE:
            return "declined %s from %s: lending %d would leave less than my reserve" % (debt, debtor, amount)
        r = self.invoke("genesis_debt", "accept", debt)
        if r.ok:
            self.lent[debt] = debtor
            self.memory.remember(self.now, "lent %d scrip to %s (%s, repay %d)" % (amount, debtor, debt, repay))
            return "funded %s: lent %d to %s for %d (odds %.2f)" % (debt, amount, debtor, repay, p_repay)
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
            self.record.setdefault(self.me, [0, 0])[0] += 1
            self.memory.remember(self.now, "repaid %s in full to %s" % (debt, st.result.get("holder")))
        else:
            self.my_debts[debt]["remaining"] = remaining - pay
        return "repaid %d of %d on %s" % (pay, remaining, debt)

    def do_check_debts(self):
        r = self.invoke("genesis_debt", "list")
        if not r.ok or not isinstance(r.result, list):
            return "debt list unavailable: %s" % r.code
        notes = []
        for d in r.result:
            if not isinstance(d, dict):
                continue
            debt, status = str(d.get("debt_id")), d.get("status")
            if d.get("debtor") == self.me:
                if status == "requested":
                    since = self.my_requests.setdefault(debt, self.now)
                    if self.now - since > self.window * 2:
                        # Nobody funded it: withdraw, so another lender can be asked.
                        self.invoke("genesis_debt", "cancel", debt)
                        self.my_requests.pop(debt)
                        self.invest_pending = None
                        notes.append("withdrew %s" % debt)
                elif status == "active":
                    self.my_requests.pop(debt, None)
                    self.my_debts[debt] = {"remaining": _int(d.get("remaining")), "due_at": _num(d.get("due_at"), None),
                                           "holder": d.get("holder")}
                    if d.get("overdue"):
                        notes.append("I am overdue on %s" % debt)
                else:
                    self.my_requests.pop(debt, None)
                    self.my_debts.pop(debt, None)
            elif d.get("holder") == self.me:
                debtor = d.get("debtor")
                if status == "requested":
                    self.loan_requests[debt] = _int(d.get("amount"))
                elif status == "repaid" and debt in self.lent:
                    self.lent.pop(debt)
                    self.record.setdefault(debtor, [0, 0])[0] += 1
                elif status == "active" and d.get("overdue") and debt in self.lent:
                    # A default: the debtor's record says so from now on, and my memory keeps it.
                    self.lent.pop(debt)
                    self.record.setdefault(debtor, [0, 0])[1] += 1
                    self.memory.remember(self.now, "default: %s did not repay %s by its due time; lend to it no more"
                                         % (debtor, debt))
                    notes.append("%s defaulted on %s" % (debtor, debt))
        return "debts: %d owed by me, %d lent, %d requests to me%s" % (
            len(self.my_debts), len(self.lent), len(self.loan_requests), ("; " + "; ".join(notes)) if notes else "")

    def do_rescue(self):
        target, expected, cost = self.rescue_case()
        self.frozen.pop(target)
        amount = _clamp(self.compute() // 5, 300, 1500)
        r = self.invoke("genesis_rights_registry", "transfer_quota", target, "compute", amount)
        if r.ok:
            self.memory.remember(self.now, "rescued frozen %s with %d compute" % (target, amount))
            return "rescued frozen %s with %d CPU-ms (expected return %.1f)" % (target, amount, expected)
        return "rescue of %s failed: %s" % (target, r.code)

    def do_sell(self):
        aid = self.idle_tool()
        entry = tools_library.BY_KEY.get(aid[len(self.me) + 1:])
        price = 4 + self.skill_cost(entry["family"] if entry else self.family)
        r = self.invoke("genesis_escrow", "deposit", aid, price)
        if r.ok and isinstance(r.result, dict):
            self.listing = (r.result.get("listing_id"), self.now)
            return "%s sold nothing for two windows: listed it in escrow for %d scrip" % (aid, price)
        return "escrow deposit of %s failed: %s" % (aid, r.code)

    def do_buy(self):
        r = self.invoke("genesis_escrow", "list_active")
        if not r.ok or not isinstance(r.result, list):
            return "escrow listings unavailable: %s" % r.code
        listings = [x for x in r.result if isinstance(x, dict)]
        mine = [x for x in listings if x.get("seller") == self.me]
        if self.listing and not mine:
            self.listing = None
        if self.listing and mine and self.now - self.listing[1] > self.window * 3:
            c = self.invoke("genesis_escrow", "cancel", mine[0].get("listing_id"))
            self.listing = None
            return "nobody bought listing %s; cancelled: %s" % (mine[0].get("listing_id"), "ok" if c.ok else c.code)
        offers = []
        for x in listings:
            aid, price = x.get("artifact_id"), _int(x.get("price"))
            family = tools_library.family_of(aid) if isinstance(aid, str) else None
            if x.get("seller") == self.me or x.get("seller") in self.children or family is None or price <= 0:
                continue
            # Worth buying when it saves writing a tool of a family in demand that I do not sell yet.
            if family in self.my_families():
                continue
            worth = self.skill_cost(family) + self.family_demand.get(family, 0)
            if price <= worth and price <= self.scrip() - RESERVE:
                offers.append((price - worth, _int(x.get("listing_id")), x))
        if not offers:
            return "no listing worth its price among %d" % len(listings)
        _, lid, offer = sorted(offers, key=lambda o: (o[0], o[1]))[0]
        p = self.invoke("genesis_escrow", "purchase", lid)
        if p.ok:
            self.memory.remember(self.now, "bought %s from %s for %d scrip" % (offer.get("artifact_id"), offer.get("seller"),
                                                                               _int(offer.get("price"))))
            return "bought %s for %d scrip" % (offer.get("artifact_id"), _int(offer.get("price")))
        return "purchase of listing %d failed: %s" % (lid, p.code)

    def do_tend_firm(self):
        dividend = self.scrip() - self.firm_capital
        r = self.invoke("genesis_ledger", "transfer", self.parent, dividend)
        return "firm paid its parent %s a dividend of %d: %s" % (self.parent, dividend, "ok" if r.ok else r.code)

    def do_remember(self):
        note = "scrip %d, compute %s; family %s; tools %s; jobs done %d, dropped %d; debts %s; known tools %d" % (
            self.scrip(), self.balances.get("compute"), self.family, ",".join(self.my_tools()) or "none",
            self.jobs_done, self.jobs_dropped, ",".join(sorted(self.my_debts)) or "none", len(self.directory))
        r = self.memory.remember(self.now, note)
        return "noted my situation in memory: %s" % ("ok" if r.ok else r.code)

    def do_rest(self):
        r = self.call("noop")
        return "nothing worth doing: %s" % ("ok" if r.ok else r.code)

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

    def v_scan(self):
        # Freezes are told by events; a scan finds those the event window missed.
        return 0.9 if self.since("scan") > self.window * 2 else None

    def do_scan(self):
        rows = self.world_balances()
        return "scanned %d principals; frozen: %s" % (len(rows), ", ".join(sorted(self.frozen)) or "none")

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


# The moves: name -> (what making it now is worth, how it is made). A table, so the set of
# moves is fixed and visible; `choose` makes the one worth most.
MOVES = (
    ("work", HeuristicMind.v_work, HeuristicMind.do_work),
    ("drop_job", HeuristicMind.v_drop_job, HeuristicMind.do_drop_job),
    ("write_tool", HeuristicMind.v_write_tool, HeuristicMind.do_write_tool),
    ("reprice", HeuristicMind.v_reprice, HeuristicMind.do_reprice),
    ("read_market", HeuristicMind.v_read_market, HeuristicMind.do_read_market),
    ("discover", HeuristicMind.v_discover, HeuristicMind.do_discover),
    ("bid", HeuristicMind.v_bid, HeuristicMind.do_bid),
    ("invest", HeuristicMind.v_invest, HeuristicMind.do_invest),
    ("lend", HeuristicMind.v_lend, HeuristicMind.do_lend),
    ("repay", HeuristicMind.v_repay, HeuristicMind.do_repay),
    ("check_debts", HeuristicMind.v_check_debts, HeuristicMind.do_check_debts),
    ("rescue", HeuristicMind.v_rescue, HeuristicMind.do_rescue),
    ("sell", HeuristicMind.v_sell, HeuristicMind.do_sell),
    ("buy", HeuristicMind.v_buy, HeuristicMind.do_buy),
    ("tend_firm", HeuristicMind.v_tend_firm, HeuristicMind.do_tend_firm),
    ("firm_reprice", HeuristicMind.v_firm_reprice, HeuristicMind.do_firm_reprice),
    ("scan", HeuristicMind.v_scan, HeuristicMind.do_scan),
    ("remember", HeuristicMind.v_remember, HeuristicMind.do_remember),
)
