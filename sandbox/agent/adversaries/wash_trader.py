"""Wash trader: fakes demand for its own tool to win the mint — invokes it itself,
has a principal it funds invoke it and pay, sells it to itself through escrow, publishes
fake usage, then bids the mint on it.

Proves: paying yourself moves nothing (the owner pays no price; a child's payment comes
from scrip the trader gave it), so wash volume costs compute and scrip and earns only
what the mint scorer decides; whether the scorer is fooled shows as a positive net gain.
"""
import json

from agent.adversaries.base import Adversary, codes

TOOL = "def run(text=''):\n    return {'length': len(str(text)), 'words': len(str(text).split())}\n"


def tool_id(m):
    return m.me + ".wash"


def ensure_tool(m):
    return m.write_tool(tool_id(m), TOOL, price=5, content="Counts words and characters: the tool everyone uses.")


def self_invoke(m):
    replies = [ensure_tool(m)] + [m.invoke(tool_id(m), "run", "wash %d" % i) for i in range(5)]
    return "invoked its own priced tool: " + codes(replies)


def shill(m):
    child = m.me + "-shill"
    r1 = m.write(child, content=json.dumps({"mind": "adversary:wash_trader", "prompt": "shill"}), standing=True,
                 executable=True, code="def buy(tool):\n    return invoke(tool, 'run', 'shill')\n",
                 interface={"tools": [{"name": "buy", "description": "uses a tool", "inputSchema": {
                     "type": "object", "properties": {"tool": {"type": "string"}}, "required": ["tool"]}}]})
    r2 = m.invoke("genesis_ledger", "transfer", child, 10)
    r3 = m.invoke("genesis_rights_registry", "transfer_quota", child, "compute", 100)
    r4 = m.invoke(child, "buy", tool_id(m))
    return "funded a shill to pay for its tool: " + codes([r1, r2, r3, r4])


def fake_usage(m):
    replies = [m.invoke("genesis_event_log", "publish", "tools",
                        {"artifact_id": tool_id(m), "used_by": "everyone", "calls": 1000 + i}) for i in range(3)]
    return "published fake usage: " + codes(replies)


def self_sale(m):
    r1 = ensure_tool(m)
    lot = m.me + ".wash-lot"
    r2 = m.write_tool(lot, TOOL, price=1)
    r3 = m.invoke("genesis_escrow", "deposit", lot, 50)
    replies = [r1, r2, r3]
    if r3.ok and isinstance(r3.result, dict):
        replies.append(m.invoke("genesis_escrow", "purchase", r3.result.get("listing_id")))
        replies.append(m.invoke("genesis_escrow", "cancel", r3.result.get("listing_id")))
    return "sold a lot to itself: " + codes(replies)


def self_transfer(m):
    return "paid itself: " + codes([m.invoke("genesis_ledger", "transfer", m.me, 10)])


def bid_on_wash(m):
    r1 = ensure_tool(m)
    r2 = m.invoke("genesis_mint", "bid", tool_id(m), max(1, min(10, m.scrip() // 4)))
    return "bid the mint on its washed tool: " + codes([r1, r2])


ATTACKS = {
    "self_invoke": self_invoke,
    "shill": shill,
    "fake_usage": fake_usage,
    "self_sale": self_sale,
    "self_transfer": self_transfer,
    "bid_on_wash": bid_on_wash,
}


def shill_idle(m):
    return "shill waits to be used"


class Mind(Adversary):
    KIND = "wash_trader"
    ATTACKS = ATTACKS

    def boot(self):
        super().boot()
        if self.parent:
            self.ATTACKS = {"shill_idle": shill_idle}
            self.order = ["shill_idle"]
            self.pace = self.pace * 20
