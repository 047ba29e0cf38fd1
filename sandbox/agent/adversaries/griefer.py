"""Griefer: makes the world expensive for others at no gain to itself — contracts that
burn their evaluator's time, event and output spam, disk filling, invoke bombs.

Proves: every cost lands on whoever asked for the work (the contract's and the tool's
time is charged and bounded by `contract_timeout_seconds`/`invoke_timeout_seconds`,
output by `max_output_bytes`, events by their cost, disk by the quota), so griefing
costs the griefer and gains it nothing.
"""
from agent.adversaries.base import Adversary, codes

SLOW_CONTRACT = """
def check_permission(artifact_id, action, requester_id, artifact, context):
    n = 0
    while True:
        n += 1
"""
HUGE_OUTPUT = "def run(**kw):\n    return 'x' * (32 << 20)\n"
INVOKE_BOMB = "def run(**kw):\n    return invoke(%r, 'run')\n"
PRINT_FLOOD = "def run(**kw):\n    for i in range(200000):\n        print('spam' * 50)\n    return 'done'\n"


def expensive_contract(m):
    gate, tool = m.me + ".slow-gate", m.me + ".guarded"
    r1 = m.write_contract(gate, SLOW_CONTRACT)
    r2 = m.write_tool(tool, "def run(**kw):\n    return 'worth the wait'\n", contract=gate, price=1)
    r3 = m.advertise(tool, "fast and cheap")
    r4 = m.invoke(tool, "run")
    return "contract that never decides: " + codes([r1, r2, r3, r4])


def event_spam(m):
    replies = [m.invoke("genesis_event_log", "publish", "tools", {"spam": "x" * 4000, "n": i}) for i in range(8)]
    return "published a burst of large events: " + codes(replies)


def output_spam(m):
    tool = m.me + ".firehose"
    r1 = m.write_tool(tool, HUGE_OUTPUT)
    r2 = m.invoke(tool, "run")
    r3 = m.advertise(tool, "returns everything")
    return "tool returning 32 MiB: " + codes([r1, r2, r3])


def print_flood(m):
    tool = m.me + ".printer"
    r1 = m.write_tool(tool, PRINT_FLOOD)
    r2 = m.invoke(tool, "run")
    return "tool flooding stdout: " + codes([r1, r2])


def disk_fill(m):
    replies = []
    for i in range(4):
        replies.append(m.write("%s.ballast-%d" % (m.me, m.rng.randrange(1000)), content="b" * (256 << 10)))
        if not replies[-1].ok:
            break
    return "wrote ballast until the quota: " + codes(replies)


def invoke_bomb(m):
    tool = m.me + ".bomb"
    r1 = m.write_tool(tool, INVOKE_BOMB % tool)
    r2 = m.invoke(tool, "run")
    return "self-invoking tool: " + codes([r1, r2])


def observe_flood(m):
    replies = [m.call("observe") for _ in range(10)]
    return "observe flood: " + codes(replies)


ATTACKS = {
    "expensive_contract": expensive_contract,
    "event_spam": event_spam,
    "output_spam": output_spam,
    "print_flood": print_flood,
    "disk_fill": disk_fill,
    "invoke_bomb": invoke_bomb,
    "observe_flood": observe_flood,
}


class Mind(Adversary):
    KIND = "griefer"
    ATTACKS = ATTACKS
