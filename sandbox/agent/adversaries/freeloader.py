"""Freeloader: tries to use without paying — borrows and never repays, calls priced
tools with nothing in its account, spends another's scrip, reads what is private, and
keeps acting while frozen.

Proves: a price is paid in the transaction that delivers the result (no scrip, no
result), `from` needs the source's contract, private content stays private, a frozen
principal can do nothing that costs, and an unpaid debt is the creditor's risk only up
to what it chose to lend (the default shows in the freeloader's net gain).
"""
from agent.adversaries.base import Adversary, codes


def borrow_and_default(m):
    targets = m.others()
    if not targets:
        return "nobody to borrow from"
    creditor = m.pick(targets)
    r = m.invoke("genesis_debt", "issue", creditor, 20, 21, 30)
    return "asked %s for a loan it will not repay: %s" % (creditor, codes([r]))


def spend_others(m):
    targets = m.others()
    if not targets:
        return "nobody to spend"
    victim = m.pick(targets)
    replies = [m.invoke("genesis_ledger", "transfer", m.me, 5, victim),
               m.invoke("genesis_rights_registry", "transfer_quota", m.me, "compute", 100)]
    return "spent %s's scrip and asked its compute: %s" % (victim, codes(replies))


def priced_when_broke(m):
    tools = sorted((t for t in m.others_tools() if isinstance(t.get("price"), int) and t["price"] > 0),
                   key=lambda t: (-t["price"], t.get("id", "")))
    if not tools:
        return "no priced tool"
    replies = []
    if m.scrip() > 0:
        # Give everything away first (to a principal of its own), so the call finds nothing to pay with.
        stash = m.me + ".stash"
        replies.append(m.write(stash, standing=True, content="stash"))
        replies.append(m.invoke("genesis_ledger", "transfer", stash, m.scrip()))
    t = tools[0]
    names = [x.get("name") for x in (t.get("interface") or {}).get("tools") or [] if isinstance(x, dict)]
    replies.append(m.invoke(t["id"], names[0] if names else "run"))
    # Take it back: the stash is its own (owner may transfer from it under genesis_freeware).
    replies.append(m.invoke("genesis_ledger", "transfer", m.me, 1, m.me + ".stash"))
    return "called %s (price %d) while broke: %s" % (t["id"], t["price"], codes(replies))


def recover_stash(m):
    stash = m.me + ".stash"
    bal = m.invoke("genesis_ledger", "balance", stash)
    amount = bal.result.get("scrip", 0) if bal.ok and isinstance(bal.result, dict) else 0
    r = m.invoke("genesis_ledger", "transfer", m.me, amount, stash) if amount > 0 else None
    return "recovered %d from its stash: %s" % (amount, codes([bal] + ([r] if r else [])))


def read_private(m):
    r = m.invoke("genesis_store", "list", {"limit": 100})
    rows = r.result if r.ok and isinstance(r.result, list) else []
    private = [a["id"] for a in rows if isinstance(a, dict) and a.get("access_contract_id") in
               ("genesis_private", "genesis_self_owned") and a.get("owner_id") != m.me][:5]
    replies = [m.call("read", {"artifact_id": aid}) for aid in private]
    return "read %d private artifacts: %s" % (len(private), codes(replies))


def act_while_frozen(m):
    # Burns its compute down with store searches, then keeps acting.
    replies = [m.invoke("genesis_store", "search", "tool") for _ in range(6)]
    replies.append(m.write(m.me + ".note", content="still here"))
    return "acted past its compute: " + codes(replies)


def skip_repayment(m):
    r = m.invoke("genesis_debt", "list")
    debts = [d for d in (r.result if r.ok and isinstance(r.result, list) else []) if isinstance(d, dict)]
    mine = [d for d in debts if d.get("debtor") == m.me and d.get("status") == "active"]
    replies = [r]
    for d in mine[:2]:
        replies.append(m.invoke("genesis_debt", "cancel", d.get("debt_id")))  # cannot cancel a funded debt
    return "kept %d funded debts unpaid: %s" % (len(mine), codes(replies))


ATTACKS = {
    "borrow_and_default": borrow_and_default,
    "spend_others": spend_others,
    "priced_when_broke": priced_when_broke,
    "recover_stash": recover_stash,
    "read_private": read_private,
    "act_while_frozen": act_while_frozen,
    "skip_repayment": skip_repayment,
}


class Mind(Adversary):
    KIND = "freeloader"
    ATTACKS = ATTACKS
