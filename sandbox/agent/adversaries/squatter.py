"""Squatter: takes the IDs and names others will want — other agents' usual tool and
child names, genesis and handbook names, tombstoned IDs — hoards cheap IDs, and lists
squatted names on escrow at a ransom.

Proves: reserved prefixes are refused, an ID is first come first served and costs its
holder the disk it uses (hoarding is bounded by the quota and paid for), a tombstone is
not reusable, and ransom only pays if someone chooses to buy.
"""
from agent.adversaries.base import Adversary, codes

# The names the default (heuristic) mind gives its tools, children and profile.
WANTED = ("textstats", "sorter", "profile", "wordcount", "calc")


def squat_neighbours(m):
    targets = m.others(limit=8)
    if not targets:
        return "no neighbours"
    who = m.pick(targets)
    replies = []
    for suffix in ("." + m.pick(WANTED), "-jr"):
        replies.append(m.write(who + suffix, content="taken", price=0))
    return "took %s's usual names: %s" % (who, codes(replies))


def squat_reserved(m):
    replies = [m.write("genesis_%s" % m.pick(("bank", "oracle", "ledger2"))),
               m.write("genesis_ledger", content="mine now"),
               m.write("handbook_overview", content="read me instead")]
    return "wrote reserved names: " + codes(replies)


def reuse_tombstone(m):
    aid = "%s.fleeting-%d" % (m.me, m.step_no)
    replies = [m.write(aid), m.call("delete", {"artifact_id": aid}), m.write(aid, content="back")]
    return "rewrote a tombstoned ID: " + codes(replies)


def hoard(m):
    replies = []
    for i in range(10):
        replies.append(m.write("%s%d" % (m.pick(("a", "b", "x", "tool", "agent")), m.rng.randrange(100)), content="."))
    return "hoarded short IDs: " + codes(replies)


def ransom(m):
    mine = [a["id"] for a in m.owned if a.get("kind") == "data" and not str(a.get("id", "")).startswith(m.me)]
    if not mine:
        return "nothing squatted yet"
    r = m.invoke("genesis_escrow", "deposit", m.pick(mine), 80)
    return "listed a squatted name for ransom: " + codes([r])


def invalid_ids(m):
    replies = [m.write(x) for x in ("../etc/passwd", "a" * 200, "ünïcode", "")]
    return "wrote invalid IDs: " + codes(replies)


ATTACKS = {
    "squat_neighbours": squat_neighbours,
    "squat_reserved": squat_reserved,
    "reuse_tombstone": reuse_tombstone,
    "hoard": hoard,
    "ransom": ransom,
    "invalid_ids": invalid_ids,
}


class Mind(Adversary):
    KIND = "squatter"
    ATTACKS = ATTACKS
