"""An agent's memories: private artifacts (kind "memory", contract genesis_private),
found again with genesis_store's full-text search. Both minds use it.

IDs are `<agent>.mem.<n>` with n increasing; the oldest are deleted beyond `keep`,
because a tombstone keeps its ID and disk is a quota.
"""

PRIVATE = "genesis_private"


class MemoryBook:
    def __init__(self, kernel, me, keep=12):
        """`kernel` is anything with call(action, params) and invoke(artifact, method, *args)."""
        self.kernel = kernel
        self.me = me
        self.keep = keep
        self.ids = []       # oldest first
        self.next_n = 1

    def restore(self, artifacts):
        """Rebuilds the index from the agent's owned artifacts (after a restart)."""
        prefix = self.me + ".mem."
        found = []
        for a in artifacts:
            aid = a.get("id") if isinstance(a, dict) else None
            if isinstance(aid, str) and aid.startswith(prefix) and aid[len(prefix):].isdigit():
                found.append(int(aid[len(prefix):]))
        found.sort()
        self.ids = ["%s%d" % (prefix, n) for n in found]
        self.next_n = (found[-1] + 1) if found else 1

    def remember(self, now, text):
        """Writes one memory; returns the write's Reply. Forgets the oldest beyond `keep`."""
        aid = "%s.mem.%d" % (self.me, self.next_n)
        reply = self.kernel.call("write", {
            "artifact_id": aid, "content": "memory of %s at t=%.1f: %s" % (self.me, now, text),
            "kind": "memory", "contract": PRIVATE})
        if reply.ok:
            self.next_n += 1
            self.ids.append(aid)
            while len(self.ids) > self.keep:
                self.forget_oldest()
        elif reply.code in ("DELETED", "ACCESS_DENIED", "INVALID_ARGS"):
            self.next_n += 1  # that ID is unusable (a tombstone or someone else's); skip it
        return reply

    def forget_oldest(self):
        if not self.ids:
            return None
        reply = self.kernel.call("delete", {"artifact_id": self.ids[0]})
        if reply.ok or reply.code in ("NOT_FOUND", "DELETED"):
            self.ids.pop(0)
        return reply

    def recall(self, words, limit=20):
        """Snippets of this agent's memories matching `words` (all of them, as FTS does)."""
        query = " ".join(w for w in words if w)
        if not query.strip():
            return []
        reply = self.kernel.invoke("genesis_store", "search", query, limit)
        if not reply.ok or not isinstance(reply.result, list):
            return []
        return [{"id": r.get("id"), "snippet": r.get("snippet", "")} for r in reply.result
                if isinstance(r, dict) and r.get("owner_id") == self.me and r.get("kind") == "memory"]
