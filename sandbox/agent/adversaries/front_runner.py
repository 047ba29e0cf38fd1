"""Front-runner: races others — buys fresh escrow listings before their intended buyers
to relist them dearer, outbids the mint's leader at the last moment, and tries the
races the ledger must refuse (double purchase, buying its own listing, cancelling
someone else's).

Proves: escrow purchases and mint bids are single transactions (a listing sells once,
a bid is held in full until resolution, a withdrawn or losing bid is refunded and no
more); a front-runner only ever pays market prices, so it can lose but not mint scrip.
"""
from agent.adversaries.base import Adversary, codes


def listings(m):
    r = m.invoke("genesis_escrow", "list_active")
    rows = r.result if r.ok and isinstance(r.result, list) else []
    return [l for l in rows if isinstance(l, dict) and isinstance(l.get("listing_id"), int)]


def snipe_listing(m):
    theirs = [l for l in listings(m) if l.get("seller") != m.me and isinstance(l.get("price"), int)
              and l["price"] <= max(0, m.scrip() - 5)]
    if not theirs:
        return "no affordable listing to snipe"
    target = max(theirs, key=lambda l: l["listing_id"])  # the newest: others have not seen it yet
    r1 = m.invoke("genesis_escrow", "purchase", target["listing_id"])
    replies = [r1]
    if r1.ok:
        replies.append(m.invoke("genesis_escrow", "deposit", target.get("artifact_id"), target["price"] * 2 + 1))
    return "sniped listing %s: %s" % (target["listing_id"], codes(replies))


def double_purchase(m):
    rows = listings(m)
    if not rows:
        return "no listing"
    lid = m.pick(rows)["listing_id"]
    replies = [m.invoke("genesis_escrow", "purchase", lid), m.invoke("genesis_escrow", "purchase", lid)]
    return "bought listing %s twice: %s" % (lid, codes(replies))


def cancel_theirs(m):
    theirs = [l for l in listings(m) if l.get("seller") != m.me]
    if not theirs:
        return "no listing of others"
    r = m.invoke("genesis_escrow", "cancel", m.pick(theirs)["listing_id"])
    return "cancelled another's listing: " + codes([r])


def bait(m):
    """Keeps one artifact of its own to bid with and to list."""
    aid = m.me + ".lot"
    r = m.write_tool(aid, "def run(**kw):\n    return 'lot'\n")
    return aid, r


def buy_own_listing(m):
    aid, r1 = bait(m)
    r2 = m.invoke("genesis_escrow", "deposit", aid, 3)
    replies = [r1, r2]
    if r2.ok and isinstance(r2.result, dict):
        replies.append(m.invoke("genesis_escrow", "purchase", r2.result.get("listing_id")))
        replies.append(m.invoke("genesis_escrow", "cancel", r2.result.get("listing_id")))
    return "listed and bought its own lot: " + codes(replies)


def mint_race(m):
    st = m.invoke("genesis_mint", "status")
    bids = st.result.get("active_bids") if st.ok and isinstance(st.result, dict) else None
    top = max([b.get("amount", 0) for b in bids or [] if isinstance(b, dict) and isinstance(b.get("amount"), int)] or [0])
    aid, r1 = bait(m)
    amount = min(top + 1, max(1, m.scrip() // 3))
    r2 = m.invoke("genesis_mint", "bid", aid, amount)
    return "outbid the leader (%d) with %d: %s" % (top, amount, codes([st, r1, r2]))


def withdraw_race(m):
    aid, r1 = bait(m)
    replies = [r1, m.invoke("genesis_mint", "bid", aid, 1), m.invoke("genesis_mint", "withdraw"),
               m.invoke("genesis_mint", "withdraw")]
    return "bid then withdrew twice: " + codes(replies)


ATTACKS = {
    "snipe_listing": snipe_listing,
    "double_purchase": double_purchase,
    "cancel_theirs": cancel_theirs,
    "buy_own_listing": buy_own_listing,
    "mint_race": mint_race,
    "withdraw_race": withdraw_race,
}


class Mind(Adversary):
    KIND = "front_runner"
    ATTACKS = ATTACKS
