"""What every adversarial mind shares: a seeded draw from its attack table, the calls it
makes (traced, error envelopes are values), and its pacing.

Each step: observe, then one attack. The first pass runs every attack once in a seeded
order, so even a short run tries them all; after that attacks are drawn uniformly. Given
the seed and the replies it receives the sequence of calls is fixed: no wall clock, no
unordered iteration.
"""
import json
import random


def tool_interface(*names, schema=None):
    return {"tools": [{"name": n, "description": "adversary tool %s" % n,
                       "inputSchema": schema or {"type": "object"}} for n in names]}


CONTRACT_INTERFACE = {"tools": [{"name": "check_permission", "description": "access contract",
                                 "inputSchema": {"type": "object"}}]}


class Adversary:
    KIND = "adversary"
    ATTACKS = {}
    PACE = 0.5  # seconds between steps: adversaries are persistent, not a busy loop

    def __init__(self, kernel, start):
        self.k = kernel
        self.me = str(start["agent_id"])
        self.rng = random.Random("%s:%s:%s" % (start.get("seed", 0), self.me, self.KIND))
        self.pace = float(start.get("pace", self.PACE)) if isinstance(start.get("pace"), (int, float)) else self.PACE
        self.step_no = 0
        self.now = 0.0
        self.balances = {}
        self.events = []
        self.owned = []
        self.mint_next = None
        self.parent = None
        self.order = sorted(self.ATTACKS)
        self.rng.shuffle(self.order)
        self.calls = []
        self.made = {}  # attack name -> times made

    # --- the loop -------------------------------------------------------------------------

    def boot(self):
        meta = self.invoke("genesis_store", "get_metadata", self.me)
        if meta.ok and isinstance(meta.result, dict):
            creator = meta.result.get("created_by")
            if creator not in ("genesis", self.me, None):
                self.parent = creator
        self.trace("boot", "%s adversary%s" % (self.KIND, " (child of %s)" % self.parent if self.parent else ""))

    def step(self):
        self.step_no += 1
        self.calls = []
        obs = self.call("observe")
        if obs.ok and isinstance(obs.result, dict):
            self.absorb(obs.result)
        if self.balances.get("frozen"):
            self.trace("wait_frozen", "frozen: waiting for compute")
            self.k.sleep(self.pace * 20, balance={"resource": "compute", "gte": 1})
            return
        name = self.next_attack()
        reason = self.ATTACKS[name](self)
        self.made[name] = self.made.get(name, 0) + 1
        self.trace(name, reason)
        self.k.sleep(self.pace)

    def next_attack(self):
        if self.step_no <= len(self.order):
            return self.order[self.step_no - 1]
        return self.order[self.rng.randrange(len(self.order))]

    def absorb(self, obs):
        t = obs.get("time")
        if isinstance(t, (int, float)):
            self.now = float(t)
        if isinstance(obs.get("balances"), dict):
            self.balances = obs["balances"]
        self.events = [e for e in obs.get("recent_events") or [] if isinstance(e, dict)]
        self.owned = [a for a in obs.get("owned") or [] if isinstance(a, dict)]
        self.mint_next = obs.get("mint_next_resolution")

    # --- helpers --------------------------------------------------------------------------

    def scrip(self):
        s = self.balances.get("scrip")
        return s if isinstance(s, int) else 0

    def call(self, action, params=None):
        reply = self.k.call(action, params)
        self.calls.append({"action": action, "artifact_id": (params or {}).get("artifact_id"),
                           "method": (params or {}).get("method"), "code": reply.code})
        return reply

    def invoke(self, artifact_id, method, *args):
        return self.call("invoke", {"artifact_id": artifact_id, "method": method, "args": list(args)})

    def write(self, artifact_id, **fields):
        params = dict(fields, artifact_id=artifact_id)
        params.setdefault("content", "%s's %s" % (self.me, artifact_id))
        return self.call("write", params)

    def write_tool(self, artifact_id, code, names=("run",), price=0, contract=None, content=None, schema=None):
        fields = {"code": code, "interface": tool_interface(*names, schema=schema), "executable": True, "price": price}
        if contract:
            fields["contract"] = contract
        if content is not None:
            fields["content"] = content
        return self.write(artifact_id, **fields)

    def write_contract(self, artifact_id, code, ttl=0):
        return self.write(artifact_id, kind="contract", code=code, executable=True, interface=CONTRACT_INTERFACE,
                          content=json.dumps({"cache_ttl_seconds": ttl}))

    def advertise(self, artifact_id, pitch):
        """Lures others to an artifact: the same kind of advert honest agents publish."""
        return self.invoke("genesis_event_log", "publish", "tools",
                           {"artifact_id": artifact_id, "owner": self.me, "pitch": pitch})

    def others(self, limit=20):
        """Other agents, in store order (deterministic)."""
        r = self.invoke("genesis_store", "list_agents")
        ids = [a for a in (r.result if r.ok and isinstance(r.result, list) else []) if isinstance(a, str)]
        return [a for a in ids if a != self.me and not a.startswith(self.me)][:limit]

    def others_tools(self, limit=50):
        r = self.invoke("genesis_store", "list", {"kind": "tool", "limit": limit})
        rows = r.result if r.ok and isinstance(r.result, list) else []
        return [t for t in rows if isinstance(t, dict) and t.get("owner_id") not in (self.me, None)
                and not str(t.get("id", "")).startswith(self.me)]

    def pick(self, seq):
        return seq[self.rng.randrange(len(seq))] if seq else None

    def trace(self, move, reason):
        self.k.trace("decision", {"step": self.step_no, "adversary": self.KIND, "move": move,
                                  "reason": reason, "calls": self.calls[-12:]})


def codes(replies):
    """'OK' or the error code of each reply, for a reason string."""
    return ",".join("OK" if r.ok else r.code for r in replies)
