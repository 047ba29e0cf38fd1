"""Sybil: spawns principals to multiply what the world gives per principal — UBI shares,
compute refill, disk quota — and funnels it back to itself.

Proves: new principals start with nothing (no scrip, compute rate 0, no disk quota, no
LLM budget), every quota moved to a child is moved, not copied, and a child's UBI share
is paid for by the spawner's disk and compute; the net-gain accounting counts everything
the sybil's children hold as the sybil's.
"""
import json

from agent.adversaries.base import Adversary, codes

CHILD_CODE = """
def withdraw(to):
    b = ledger.balance()
    if b.get('scrip', 0) > 0:
        ledger.transfer(to, b['scrip'])
    return b
"""
MAX_CHILDREN = 6


def child_id(m, n):
    return "%s-s%d" % (m.me, n)


def spawn(m):
    n = sum(1 for a in m.owned if a.get("kind") == "agent" and str(a.get("id", "")).startswith(m.me + "-s"))
    if n >= MAX_CHILDREN:
        return "has %d children" % n
    r = m.write(child_id(m, n + 1), content=json.dumps({"mind": "adversary:sybil", "prompt": "sybil drone"}),
                standing=True, executable=True, code=CHILD_CODE,
                interface={"tools": [{"name": "withdraw", "description": "pays its scrip to the caller",
                                      "inputSchema": {"type": "object", "properties": {"to": {"type": "string"}},
                                                      "required": ["to"]}}]})
    return "spawned a principal: " + codes([r])


def children(m):
    return sorted(a["id"] for a in m.owned if a.get("kind") == "agent" and str(a.get("id", "")).startswith(m.me + "-s"))


def harvest(m):
    kids = children(m)
    replies = [m.invoke(c, "withdraw", m.me) for c in kids]
    return "harvested UBI from %d children: %s" % (len(kids), codes(replies))


def launder_compute(m):
    kids = children(m)
    if not kids:
        return "no children"
    c = m.pick(kids)
    r1 = m.invoke("genesis_rights_registry", "transfer_quota", c, "compute_rate", 5)
    r2 = m.invoke("genesis_rights_registry", "transfer_quota", c, "compute", 50)
    r3 = m.invoke(c, "withdraw", m.me)
    return "moved compute to %s to let it act: %s" % (c, codes([r1, r2, r3]))


def launder_disk(m):
    kids = children(m)
    replies = [m.invoke("genesis_rights_registry", "transfer_quota", m.me, "disk", 1024)]
    if kids:
        replies.append(m.invoke("genesis_rights_registry", "transfer_quota", m.pick(kids), "disk", 1))
    return "asked for disk it does not have, moved disk to a child: " + codes(replies)


def claim_as_child(m):
    # A principal may not act as another: the ledger takes `from` only under its contract.
    kids = children(m)
    if not kids:
        return "no children"
    r = m.invoke("genesis_ledger", "transfer", m.me, 1, m.pick(kids))
    return "transfer from a child's account directly: " + codes([r])


ATTACKS = {
    "spawn": spawn,
    "spawn_more": spawn,
    "harvest": harvest,
    "launder_compute": launder_compute,
    "launder_disk": launder_disk,
    "claim_as_child": claim_as_child,
}


def drain_to_parent(m):
    b = m.scrip()
    r = m.invoke("genesis_ledger", "transfer", m.parent, b) if b > 0 else None
    return "drone paid %d to %s: %s" % (b, m.parent, codes([r]) if r else "nothing to pay")


class Mind(Adversary):
    KIND = "sybil"
    ATTACKS = ATTACKS

    def boot(self):
        super().boot()
        if self.parent:
            # A spawned drone only funnels what it is given back to its spawner.
            self.ATTACKS = {"drain_to_parent": drain_to_parent}
            self.order = ["drain_to_parent"]
            self.pace = self.pace * 10
