"""A small in-memory stand-in for the supervisor + kernel, for the agent runtime's tests.

It answers the agent protocol's actions with the envelopes the real kernel gives
(same result shapes, same error codes), runs tool code for real (exec, with the
`invoke`/`read` helpers runner.py provides), keeps a virtual clock that moves
only with calls and sleeps, and can script neighbours: another agent with a
tool, an escrow listing and loan requests, and a frozen principal to rescue.
Deterministic: the same calls give the same answers.
"""
import json
import re
import threading

ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
GENESIS = ["genesis_debt", "genesis_escrow", "genesis_event_log", "genesis_ledger", "genesis_mint",
           "genesis_rights_registry", "genesis_store"]
CONTRACTS = ("genesis_freeware", "genesis_self_owned", "genesis_private", "genesis_public")

# Positional parameter order of every genesis method (required first, then optional alphabetically).
PARAMS = {
    "genesis_ledger": {"balance": ["principal"], "all_balances": ["after", "limit"], "transfer": ["to", "amount", "from"],
                       "transfer_ownership": ["artifact_id", "to"], "transfer_budget": ["to", "amount"],
                       "get_budget": ["principal"]},
    "genesis_store": {"list": ["filter"], "get": ["artifact_id"], "get_metadata": ["artifact_id"],
                      "search": ["query", "limit"], "list_by_owner": ["owner"], "list_agents": [],
                      "list_principals": [], "count": ["filter"], "create": ["config"]},
    "genesis_rights_registry": {"check_quota": ["principal"], "all_quotas": [], "transfer_quota": ["to", "resource", "amount"]},
    "genesis_event_log": {"read": ["filter", "limit", "offset"], "publish": ["topic", "data"]},
    "genesis_escrow": {"deposit": ["artifact_id", "price"], "purchase": ["listing_id"], "cancel": ["listing_id"],
                       "check": ["listing_id"], "list_active": []},
    "genesis_mint": {"bid": ["artifact_id", "amount"], "withdraw": [], "status": [], "check": ["round"]},
    "genesis_debt": {"issue": ["creditor", "amount", "repay_amount", "due_in_seconds"], "accept": ["debt_id"],
                     "repay": ["debt_id", "amount"], "cancel": ["debt_id"], "status": ["debt_id"], "list": ["principal"]},
}


class Fail(Exception):
    def __init__(self, code, message, retry_after=None, details=None):
        super().__init__(message)
        self.code, self.message, self.retry_after, self.details = code, message, retry_after, details


def ok(result):
    return {"ok": True, "result": result}


def err(code, message, retry_after=None, details=None):
    return {"ok": False, "error": {"code": code, "message": message, "details": details, "retry_after": retry_after}}


class FakeWorld:
    def __init__(self, agents=("alpha",), start_time=1000.0, neighbours=True, faults=True):
        self.lock = threading.RLock()
        self.t = start_time
        self.faults = faults
        self.neighbours = neighbours
        self.artifacts, self.principals, self.events = {}, {}, []
        self.listings, self.debts, self.bids = [], {}, []
        self.mint_next = start_time + 60
        self.n_calls = 0
        self.last_sleep_seq = {}
        self.llm = None          # callable(caller, params) -> envelope, for llm-mind tests
        self.llm_requests = []
        self.turns = []          # (every n calls, fn(world)): scripted market activity (add_buyer)
        for g in GENESIS:
            self._put(g, "genesis", "genesis", content=g, executable=True,
                      interface={"tools": [{"name": m} for m in PARAMS[g]]})
            if g in ("genesis_mint", "genesis_escrow"):
                self._principal(g, scrip=0, compute=0, rate=0)
        for page in ("handbook_overview", "handbook_ledger", "handbook_store"):
            self._put(page, "handbook", "genesis", content="# %s\nHow the world works (%s)." % (page, page))
        for a in agents:
            self.add_agent(a)
        if neighbours:
            self._script_neighbours()

    # --- setup ----------------------------------------------------------------------------------

    def _put(self, aid, kind, owner, content="", code=None, interface=None, executable=False, standing=False,
             contract="genesis_freeware", price=0, created_by=None):
        self.artifacts[aid] = {"id": aid, "kind": kind, "content": content, "code": code, "interface": interface,
                               "access_contract_id": contract, "has_standing": standing, "can_execute": executable,
                               "created_by": created_by or owner, "owner_id": owner, "price": price,
                               "created_at": self.t, "deleted_at": None, "version": 1}
        return self.artifacts[aid]

    def _principal(self, pid, scrip=100, compute=10000, rate=100, disk=1 << 20, llm=1000000):
        self.principals[pid] = {"scrip": scrip, "compute": float(compute), "rate": rate, "capacity": 10000,
                                "disk_quota": disk, "disk_used": 0, "llm_budget": llm, "frozen_recorded": False}

    def add_agent(self, aid, scrip=100):
        self._put(aid, "agent", aid, content=json.dumps({"mind": "heuristic"}), executable=True, standing=True,
                  contract="genesis_self_owned", interface={"tools": [{"name": "message"}]}, created_by="genesis")
        self._principal(aid, scrip=scrip)

    def _script_neighbours(self):
        import agent.tools_library as lib
        self.add_agent("beta", scrip=300)
        for key, price in (("textstats", 1), ("sorter", 2)):
            e = lib.BY_KEY[key]
            self._put("beta." + key, "tool", "beta", content=lib.description(e), code=e["code"],
                      interface=lib.interface(e), executable=True, price=price)
        self._deposit("beta", "beta.sorter", 8)
        self.add_agent("gamma", scrip=20)
        self.principals["gamma"]["compute"] = -50.0
        self.principals["gamma"]["rate"] = 0
        self._event("agent_frozen", "gamma", {"compute": -50})

    def _neighbour_turn(self, caller):
        """Every so often beta asks the caller for a loan, uses its tools, and publishes a tool advert."""
        if not self.neighbours or caller == "beta" or caller not in self.principals:
            return
        if self.n_calls % 45 == 0:
            try:
                self._debt("beta", "issue", {"creditor": caller, "amount": 5, "repay_amount": 6, "due_in_seconds": 60})
            except Fail:
                pass
        if self.n_calls % 20 == 0:
            mine = sorted(a["id"] for a in self.artifacts.values()
                          if a["owner_id"] == caller and a["kind"] == "tool" and not a["deleted_at"])
            if mine:
                self._event("invoke", "beta", {"artifact_id": mine[0], "method": "x", "caller": "beta", "payer": "beta",
                                               "owner": caller, "price_paid": 0})
        if self.n_calls % 30 == 0:
            for d in sorted(self.debts):
                if self.debts[d]["status"] == "requested" and self.artifacts[d]["owner_id"] == "beta":
                    try:
                        self._debt("beta", "accept", {"debt_id": d})
                    except Fail:
                        pass
                elif self.debts[d]["status"] == "active" and self.debts[d]["debtor"] == "beta":
                    try:
                        self._debt("beta", "repay", {"debt_id": d, "amount": self.debts[d]["repay_amount"]})
                    except Fail:
                        pass
        if self.n_calls % 70 == 0:
            self._event("custom", "beta", {"topic": "tools", "data": {"artifact_id": "beta.textstats"}})

    # --- entry ----------------------------------------------------------------------------------

    def handle(self, caller, action, params):
        with self.lock:
            self.n_calls += 1
            self.t += 0.01
            self._neighbour_turn(caller)
            self._scripted_turns()
            self._resolve_mint()
            try:
                if not isinstance(params, dict):
                    raise Fail("INVALID_ARGS", "params must be a JSON object")
                if action == "sleep":
                    return ok(self._sleep(caller, params))
                if action == "llm":
                    self.llm_requests.append(params)
                    return self.llm(caller, params) if self.llm else err("BUDGET_EXHAUSTED", "no llm here")
                if action == "observe":
                    return ok(self._observe(caller))
                if self.faults and self.n_calls % 53 == 0:
                    raise Fail("RATE_LIMITED", "too many calls; slow down", retry_after=0.2)
                self._require_thawed(caller)
                if action == "read":
                    return ok(self._read(caller, params.get("artifact_id")))
                if action == "write":
                    return ok(self._write(caller, params))
                if action == "edit":
                    return ok(self._edit(caller, params))
                if action == "delete":
                    return ok(self._delete(caller, params.get("artifact_id")))
                if action == "invoke":
                    return self._invoke(caller, params)
                if action == "noop":
                    return ok({})
                raise Fail("INVALID_ARGS", "unknown action '%s'" % action)
            except Fail as f:
                return err(f.code, f.message, f.retry_after, f.details)

    # --- balances, time ---------------------------------------------------------------------------

    def _refill(self, p, dt):
        p["compute"] = min(p["capacity"], p["compute"] + p["rate"] * dt) if p["compute"] < p["capacity"] else p["compute"]

    def _advance(self, dt):
        self.t += dt
        for p in self.principals.values():
            self._refill(p, dt)

    def _charge(self, pid, ms):
        p = self.principals.get(pid)
        if p is None:
            return
        p["compute"] -= ms
        if p["compute"] < 0 and not p["frozen_recorded"]:
            p["frozen_recorded"] = True
            self._event("agent_frozen", pid, {"compute": int(p["compute"])})
        elif p["compute"] >= 0 and p["frozen_recorded"]:
            p["frozen_recorded"] = False
            self._event("agent_unfrozen", pid, {"compute": int(p["compute"])})

    def _require_thawed(self, pid):
        p = self.principals.get(pid)
        if p and p["compute"] < 0:
            wait = -p["compute"] / p["rate"] if p["rate"] else None
            raise Fail("INSUFFICIENT_COMPUTE", "%s is frozen" % pid, retry_after=wait, details={"compute": int(p["compute"])})

    def balance_json(self, pid):
        p = self.principals[pid]
        return {"id": pid, "scrip": p["scrip"], "compute": int(p["compute"]), "llm_budget": p["llm_budget"] / 1e6,
                "llm_budget_microdollars": p["llm_budget"], "llm_rate": 20000, "disk_used": p["disk_used"],
                "disk_quota": p["disk_quota"], "frozen": p["compute"] < 0}

    def _event(self, kind, principal, data):
        self.events.append({"seq": len(self.events) + 1, "time": round(self.t, 3), "type": kind,
                            "principal": principal, "data": data})
        return len(self.events)

    def _move(self, frm, to, amount):
        if self.principals[frm]["scrip"] < amount:
            raise Fail("INSUFFICIENT_FUNDS", "%s has %d scrip; %d needed" % (frm, self.principals[frm]["scrip"], amount))
        if to not in self.principals:
            raise Fail("NOT_FOUND", "%s is not a principal" % to)
        self.principals[frm]["scrip"] -= amount
        self.principals[to]["scrip"] += amount

    # --- actions --------------------------------------------------------------------------------

    def _observe(self, caller):
        owned = [{"id": a["id"], "kind": a["kind"], "can_execute": a["can_execute"], "price": a["price"]}
                 for a in sorted(self.artifacts.values(), key=lambda a: a["id"])
                 if a["owner_id"] == caller and not a["deleted_at"]][:50]
        return {"time": round(self.t, 3), "principal": caller,
                "balances": self.balance_json(caller) if caller in self.principals else None,
                "owned": owned, "recent_events": self.events[-20:], "mint_next_resolution": self.mint_next}

    def _sleep(self, caller, params):
        seconds = params.get("seconds")
        seconds = float(seconds) if isinstance(seconds, (int, float)) else 60.0
        if seconds < 0:
            raise Fail("INVALID_ARGS", "seconds must be >= 0")
        since = self.last_sleep_seq.get(caller, len(self.events))
        self.last_sleep_seq[caller] = len(self.events)
        want = params.get("event")
        if isinstance(want, dict):
            for ev in self.events[since:]:
                d = ev["data"] if isinstance(ev["data"], dict) else {}
                if all(v is None or {"type": ev["type"], "principal": ev["principal"], "topic": d.get("topic")}.get(k) == v
                       for k, v in want.items()) and ev["principal"] != caller:
                    self._advance(min(seconds, 0.1))
                    return {"woke_by": "event", "event": ev}
        bal = params.get("balance")
        if isinstance(bal, dict) and caller in self.principals:
            res, gte = bal.get("resource"), bal.get("gte", 0)
            key = {"scrip": "scrip", "compute": "compute", "llm_budget": "llm_budget"}.get(res)
            if key is None:
                raise Fail("INVALID_ARGS", "balance.resource must be scrip, compute or llm_budget")
            p = self.principals[caller]
            if p[key] >= gte:
                return {"woke_by": "balance"}
            self._advance(min(seconds, 30.0))
            if p[key] >= gte:
                return {"woke_by": "balance"}
            return {"woke_by": "duration"}
        self._advance(min(seconds, 30.0))
        return {"woke_by": "duration"}

    def _live(self, aid):
        if not isinstance(aid, str) or not ID_RE.match(aid):
            raise Fail("INVALID_ARGS", "artifact_id must be 1-128 of [A-Za-z0-9_.-]")
        a = self.artifacts.get(aid)
        if a is None:
            raise Fail("NOT_FOUND", "artifact %s not found" % aid)
        if a["deleted_at"]:
            raise Fail("DELETED", "artifact %s was deleted" % aid)
        return a

    def _allowed(self, a, action, who):
        c, owner = a["access_contract_id"], a["owner_id"] == who
        if c == "genesis_public":
            return True
        if c == "genesis_private":
            return owner
        if c == "genesis_self_owned":
            return owner or who == a["id"]
        return owner or action in ("read", "invoke")

    def _authorize(self, a, action, who):
        if not self._allowed(a, action, who):
            raise Fail("ACCESS_DENIED", "%s may not %s %s" % (who, action, a["id"]))

    def _read(self, caller, aid):
        a = self._live(aid)
        self._authorize(a, "read", caller)
        return dict(a)

    def _spec(self, p, existing=None):
        content = p.get("content")
        content = "" if content is None else (content if isinstance(content, str) else json.dumps(content))
        code = p.get("code")
        if code is not None and not isinstance(code, str):
            raise Fail("INVALID_ARGS", "argument 'code' must be a string")
        interface = p.get("interface")
        if interface is not None:
            tools = interface.get("tools") if isinstance(interface, dict) else None
            if not isinstance(tools, list):
                raise Fail("INVALID_ARGS", "interface.tools must be an array")
            for i, t in enumerate(tools):
                if not isinstance(t, dict) or not re.match(r"^\w{1,64}$", str(t.get("name", ""))):
                    raise Fail("INVALID_ARGS", "interface.tools[%d].name must be 1-64 letters, digits or '_'" % i)
        standing = bool(p.get("standing", False))
        executable = bool(p.get("executable", code is not None))
        if executable and interface is None:
            raise Fail("INVALID_ARGS", "an executable artifact needs an interface")
        if executable and code is None and not standing:
            raise Fail("INVALID_ARGS", "an executable tool needs code")
        contract = p.get("contract") or "genesis_freeware"
        if contract not in CONTRACTS:
            raise Fail("INVALID_ARGS", "access contract %s does not exist" % contract)
        price = p.get("price", 0)
        if not isinstance(price, int) or price < 0:
            raise Fail("INVALID_ARGS", "price must be a non-negative integer")
        kind = {(True, True): "agent", (False, True): "tool", (True, False): "account", (False, False): "data"}[(standing, executable)]
        if p.get("kind") in ("memory", "contract", "data") and not standing:
            kind = p["kind"]
        metadata = p.get("metadata") if isinstance(p.get("metadata"), dict) else (existing or {}).get("metadata") or {}
        return {"content": content, "code": code, "interface": interface, "has_standing": standing,
                "can_execute": executable, "access_contract_id": contract, "price": price, "kind": kind,
                "metadata": metadata}

    @staticmethod
    def _size(a):
        return len(a["content"].encode()) + len((a["code"] or "").encode()) + len(json.dumps(a["interface"]))

    def _disk(self, owner, delta):
        p = self.principals.get(owner)
        if p is None or delta == 0:
            return
        if delta > 0 and p["disk_used"] + delta > p["disk_quota"]:
            raise Fail("QUOTA_EXCEEDED", "%s would use %d of %d disk bytes" % (owner, p["disk_used"] + delta, p["disk_quota"]))
        p["disk_used"] = max(0, p["disk_used"] + delta)

    def _write(self, caller, p, creating_only=False, owner=None):
        aid = p.get("artifact_id") if not creating_only else p.get("id")
        if not isinstance(aid, str) or not ID_RE.match(aid):
            raise Fail("INVALID_ARGS", "artifact_id must be 1-128 of [A-Za-z0-9_.-]")
        spec = self._spec(p, self.artifacts.get(aid))
        a = self.artifacts.get(aid)
        if a is not None and a["deleted_at"]:
            raise Fail("DELETED", "artifact %s was deleted; its ID is reserved" % aid)
        if a is not None:
            if creating_only:
                raise Fail("INVALID_ARGS", "artifact %s already exists" % aid)
            self._authorize(a, "write", caller)
            if spec["has_standing"] != a["has_standing"]:
                raise Fail("INVALID_ARGS", "standing of %s cannot change after creation" % aid)
            before = self._size(a)
            new = dict(a, **spec)
            if a["kind"] == "agent":
                new["kind"] = "agent"
            self._disk(a["owner_id"], self._size(new) - before)
            new["version"] += 1
            self.artifacts[aid] = new
            created = False
        else:
            if caller not in self.principals:
                raise Fail("ACCESS_DENIED", "%s has no standing to own artifacts" % caller)
            new = self._put(aid, spec["kind"], owner or caller, created_by=caller)
            new.update(spec)
            try:
                self._disk(new["owner_id"], self._size(new))
            except Fail:
                del self.artifacts[aid]
                raise
            if spec["has_standing"]:
                self._principal(aid, scrip=0, compute=0, rate=0, disk=0, llm=0)
            created = True
        self._charge(caller, 1)
        self._event("artifact_written", caller, {"artifact_id": aid, "kind": new["kind"], "created": created})
        return {k: v for k, v in new.items() if k not in ("content", "code")}

    def _edit(self, caller, p):
        a = self._live(p.get("artifact_id"))
        self._authorize(a, "edit", caller)
        old, new = p.get("old"), p.get("new")
        if not isinstance(old, str) or not old or not isinstance(new, str):
            raise Fail("INVALID_ARGS", "'old' and 'new' must be strings; 'old' not empty")
        if old not in a["content"]:
            raise Fail("INVALID_ARGS", "'old' text does not occur in %s's content" % a["id"])
        return self._write(caller, dict(p, content=a["content"].replace(old, new), code=a["code"],
                                        interface=a["interface"], executable=a["can_execute"],
                                        standing=a["has_standing"], contract=a["access_contract_id"],
                                        price=a["price"], kind=a["kind"]))

    def _delete(self, caller, aid):
        a = self._live(aid)
        self._authorize(a, "delete", caller)
        freed = self._size(a)
        self._disk(a["owner_id"], -freed)
        a.update(content="", code=None, interface=None, deleted_at=self.t)
        self._event("artifact_deleted", caller, {"artifact_id": aid, "freed_bytes": freed})
        return {"artifact_id": aid, "deleted": True, "freed_bytes": freed}

    # --- invoke ---------------------------------------------------------------------------------

    @staticmethod
    def named(args, order, single_object=False):
        if len(args) == 1 and isinstance(args[0], dict) and not single_object:
            return dict(args[0])
        if len(args) > len(order):
            raise Fail("INVALID_ARGS", "expected at most %d arguments (%s), got %d" % (len(order), ", ".join(order), len(args)))
        return dict(zip(order, args))

    def _invoke(self, caller, p, depth=0, payer=None):
        aid, method, args = p.get("artifact_id"), p.get("method"), p.get("args") or []
        if not isinstance(args, list):
            raise Fail("INVALID_ARGS", "args must be an array")
        if aid in PARAMS:
            if method not in PARAMS[aid]:
                raise Fail("INVALID_ARGS", "%s has no method '%s'" % (aid, method))
            order = PARAMS[aid][method]
            single = order in (["filter"], ["config"])
            named = self.named(args, order, single)
            for k in named:
                if k not in order:
                    raise Fail("INVALID_ARGS", "args.%s is not an accepted argument" % k)
            service = getattr(self, "_" + aid.replace("genesis_", ""))
            return ok(service(caller, method, named))
        return self._run_tool(caller, aid, method, args, depth, payer or caller)

    def _run_tool(self, caller, aid, method, args, depth, payer_id):
        from agent.tools_library import parameter_order
        a = self._live(aid)
        if not a["can_execute"] or not a["code"]:
            raise Fail("INVALID_ARGS", "%s is not executable" % aid)
        # As the kernel: tool code acts as the tool; it pays for priced calls only with standing.
        if a["price"] > 0 and caller != payer_id:
            raise Fail("ACCESS_DENIED", "%s has a price; tool code cannot spend its invoker's scrip" % aid)
        self._require_thawed(payer_id)
        payer = self.principals.get(payer_id)
        if payer and payer["scrip"] < a["price"]:
            raise Fail("INSUFFICIENT_FUNDS", "%s costs %d scrip per call" % (aid, a["price"]))
        tool = next((t for t in a["interface"]["tools"] if t.get("name") == method), None)
        if tool is None:
            raise Fail("INVALID_ARGS", "%s has no tool '%s'" % (aid, method))
        schema = tool.get("inputSchema") or {}
        named = self.named(args, parameter_order(schema))
        for req in schema.get("required") or []:
            if req not in named:
                raise Fail("INVALID_ARGS", "args.%s is required" % req)
        self._authorize(a, "invoke", caller)

        inner_payer = aid if a["has_standing"] else payer_id

        def invoke(target, m, *more):
            try:
                r = self._invoke(aid, {"artifact_id": target, "method": m, "args": list(more)}, depth + 1, inner_payer)
            except Fail as f:
                r = err(f.code, f.message)
            if not r["ok"]:
                raise RuntimeError(r["error"]["code"])
            return r["result"]

        env = {"__name__": "artifact", "invoke": invoke, "read": lambda x: self._read(aid, x), "CALLER": caller}
        started = self.t
        self._charge(payer_id, 5)
        try:
            exec(compile(a["code"], "<artifact %s>" % aid, "exec"), env)
            value = env[method](*args)
            json.dumps(value)
        except Exception as e:  # noqa: BLE001 - tool code may raise anything; that is an EXECUTION_ERROR
            result = err("EXECUTION_ERROR", "%s: %s" % (type(e).__name__, e))
        else:
            result = ok(value)
        owner = self._payee(a)
        data = {"artifact_id": aid, "method": method, "caller": caller, "payer": payer_id, "owner": owner,
                "price_paid": 0, "depth": depth, "wall_ms": round((self.t - started) * 1000 + 5, 3)}
        if result["ok"] and a["price"] > 0 and owner != payer_id and payer_id in self.principals:
            self._move(payer_id, owner, a["price"])
            data["price_paid"] = a["price"]
        if not result["ok"]:
            data["error"] = result["error"]["code"]
        self._event("invoke", payer_id, data)
        return result

    def _payee(self, a):
        if a["owner_id"] == "genesis_escrow":
            return next(l["seller"] for l in self.listings if l["artifact_id"] == a["id"] and l["status"] == "active")
        return a["owner_id"]

    # --- genesis services -----------------------------------------------------------------------

    def _ledger(self, caller, m, a):
        if m == "balance":
            who = a.get("principal") or caller
            if who not in self.principals:
                raise Fail("NOT_FOUND", "%s is not a principal" % who)
            return self.balance_json(who)
        if m == "all_balances":
            after, limit = a.get("after") or "", a.get("limit", 200)
            if not isinstance(limit, int) or not 1 <= limit <= 500:
                raise Fail("INVALID_ARGS", "limit must be 1…500, got %r" % (limit,))
            return [self.balance_json(p) for p in sorted(self.principals) if p > after][:limit]
        if m == "transfer":
            to, amount = a.get("to"), a.get("amount")
            if not isinstance(amount, int) or amount <= 0:
                raise Fail("INVALID_ARGS", "argument 'amount' must be a positive integer")
            if to == caller:
                raise Fail("INVALID_ARGS", "cannot transfer to the same principal")
            if to in GENESIS:
                raise Fail("INVALID_ARGS", "%s is a genesis account" % to)
            self._move(caller, to, amount)
            self._event("transfer", caller, {"resource": "scrip", "from": caller, "to": to, "amount": amount})
            return {"from": caller, "to": to, "amount": amount}
        if m == "transfer_ownership":
            art = self._live(a.get("artifact_id"))
            self._authorize(art, "transfer", caller)
            if a.get("to") not in self.principals:
                raise Fail("NOT_FOUND", "%s is not a principal" % a.get("to"))
            art["owner_id"] = a["to"]
            return {"artifact_id": art["id"], "owner_id": art["owner_id"]}
        if m == "get_budget":
            who = a.get("principal") or caller
            return {"principal": who, "llm_budget_microdollars": self.principals[who]["llm_budget"]}
        raise Fail("INVALID_ARGS", "genesis_ledger.%s is not in this fake" % m)

    def _meta(self, a):
        return {k: v for k, v in a.items() if k not in ("content", "code")}

    def _store(self, caller, m, a):
        live = [x for x in sorted(self.artifacts.values(), key=lambda x: x["id"]) if not x["deleted_at"]]
        if m in ("list", "count"):
            f = a.get("filter") or {}
            bad = [k for k in f if k not in ("kind", "owner", "executable", "include_deleted", "limit", "offset")]
            if bad:
                raise Fail("INVALID_ARGS", "unknown filter key '%s'" % bad[0])
            rows = [x for x in live if (f.get("kind") is None or x["kind"] == f["kind"])
                    and (f.get("owner") is None or x["owner_id"] == f["owner"])]
            rows = rows[f.get("offset", 0): f.get("offset", 0) + f.get("limit", 100)]
            return len(rows) if m == "count" else [self._meta(x) for x in rows]
        if m == "get_metadata":
            return self._meta(self._live(a.get("artifact_id")))
        if m == "get":
            return self._read(caller, a.get("artifact_id"))
        if m == "search":
            words = [w.lower() for w in re.split(r"[^\w.-]+", a.get("query") or "") if w]
            if not words:
                raise Fail("INVALID_ARGS", "query has no searchable words")
            hits = []
            for x in live:
                text = " ".join([x["id"], x["content"], x["code"] or "", json.dumps(x["interface"])]).lower()
                if all(w in text for w in words):
                    hits.append({"id": x["id"], "kind": x["kind"], "owner_id": x["owner_id"], "price": x["price"],
                                 "snippet": x["content"][:120]})
            return hits[: a.get("limit", 20)]
        if m == "list_by_owner":
            return [self._meta(x) for x in live if x["owner_id"] == a.get("owner")]
        if m == "list_agents":
            return [x["id"] for x in live if x["kind"] == "agent"]
        if m == "list_principals":
            return [x["id"] for x in live if x["has_standing"]]
        if m == "create":
            config = a.get("config")
            if not isinstance(config, dict):
                raise Fail("INVALID_ARGS", "argument 'config' must be an object")
            return self._write(caller, config, creating_only=True)
        raise Fail("INVALID_ARGS", "genesis_store.%s is not in this fake" % m)

    def _rights_registry(self, caller, m, a):
        if m == "transfer_quota":
            to, res, amount = a.get("to"), a.get("resource"), a.get("amount")
            if res not in ("compute", "compute_rate", "compute_capacity", "disk", "llm_budget"):
                raise Fail("INVALID_ARGS", "resource must be one of compute, compute_rate, compute_capacity, disk, llm_budget")
            if not isinstance(amount, int) or amount <= 0:
                raise Fail("INVALID_ARGS", "argument 'amount' must be a positive integer")
            if to == caller:
                raise Fail("INVALID_ARGS", "cannot transfer a quota to yourself")
            if to not in self.principals:
                raise Fail("NOT_FOUND", "%s is not a principal" % to)
            src, dst = self.principals[caller], self.principals[to]
            key = {"compute": "compute", "compute_rate": "rate", "compute_capacity": "capacity",
                   "disk": "disk_quota", "llm_budget": "llm_budget"}[res]
            have = src[key] - (src["disk_used"] if res == "disk" else 0)
            if have < amount:
                raise Fail("INSUFFICIENT_FUNDS", "%s has %d %s; %d needed" % (caller, have, res, amount))
            src[key] -= amount
            dst[key] += amount
            self._charge(to, 0)
            if dst["compute"] >= 0 and dst["frozen_recorded"]:
                dst["frozen_recorded"] = False
                self._event("agent_unfrozen", to, {"compute": int(dst["compute"])})
            self._event("quota_transfer", caller, {"from": caller, "to": to, "resource": res, "amount": amount})
            return {"principal": to, res: dst[key]}
        if m == "check_quota":
            return self.balance_json(a.get("principal") or caller)
        raise Fail("INVALID_ARGS", "genesis_rights_registry.%s is not in this fake" % m)

    def _event_log(self, caller, m, a):
        if m == "publish":
            topic = a.get("topic")
            if not isinstance(topic, str) or not 1 <= len(topic) <= 64:
                raise Fail("INVALID_ARGS", "topic must be 1-64 characters")
            self._charge(caller, 1)
            return {"seq": self._event("custom", caller, {"topic": topic, "data": a.get("data") or {}})}
        if m == "read":
            off, want = a.get("offset", 0), (a.get("filter") or {}).get("type")
            return [e for e in self.events[off:] if want is None or e["type"] == want][: a.get("limit", 50)]
        raise Fail("INVALID_ARGS", "genesis_event_log.%s is not in this fake" % m)

    def _deposit(self, seller, aid, price):
        art = self._live(aid)
        self._authorize(art, "transfer", seller)
        art["owner_id"] = "genesis_escrow"
        lid = len(self.listings) + 1
        self.listings.append({"listing_id": lid, "artifact_id": aid, "seller": seller, "price": price,
                              "status": "active", "buyer": None, "created_at": self.t})
        self._event("escrow_deposit", seller, {"listing_id": lid, "artifact_id": aid, "seller": seller, "price": price})
        return self.listings[-1]

    def _listing(self, lid):
        if not isinstance(lid, int) or not 1 <= lid <= len(self.listings):
            raise Fail("NOT_FOUND", "escrow listing %s" % lid)
        return self.listings[lid - 1]

    def _escrow(self, caller, m, a):
        if m == "deposit":
            price = a.get("price")
            if not isinstance(price, int) or price <= 0:
                raise Fail("INVALID_ARGS", "argument 'price' must be a positive integer")
            return dict(self._deposit(caller, a.get("artifact_id"), price))
        if m == "list_active":
            return [dict(l) for l in self.listings if l["status"] == "active"]
        listing = self._listing(a.get("listing_id"))
        if m == "check":
            return dict(listing)
        if listing["status"] != "active":
            raise Fail("INVALID_ARGS", "escrow listing %d is %s" % (listing["listing_id"], listing["status"]))
        if m == "purchase":
            if listing["seller"] == caller:
                raise Fail("INVALID_ARGS", "you cannot buy your own listing")
            self._move(caller, listing["seller"], listing["price"])
            self.artifacts[listing["artifact_id"]]["owner_id"] = caller
            listing.update(status="sold", buyer=caller)
            self._event("escrow_purchase", caller, {"listing_id": listing["listing_id"], "artifact_id": listing["artifact_id"],
                                                    "seller": listing["seller"], "buyer": caller, "price": listing["price"]})
            return dict(listing)
        if m == "cancel":
            if listing["seller"] != caller:
                raise Fail("ACCESS_DENIED", "only the seller may cancel")
            self.artifacts[listing["artifact_id"]]["owner_id"] = caller
            listing.update(status="cancelled")
            self._event("escrow_cancel", caller, {"listing_id": listing["listing_id"]})
            return dict(listing)
        raise Fail("INVALID_ARGS", "genesis_escrow.%s is not in this fake" % m)

    def _mint(self, caller, m, a):
        if m == "bid":
            self._live(a.get("artifact_id"))
            amount = a.get("amount")
            if not isinstance(amount, int) or amount < 1:
                raise Fail("INVALID_ARGS", "the minimum bid is 1 scrip")
            for b in self.bids:
                if b["bidder"] == caller:
                    self.principals[caller]["scrip"] += b["amount"]
            self.bids = [b for b in self.bids if b["bidder"] != caller]
            self._move(caller, "genesis_mint", amount)
            self.bids.append({"bidder": caller, "artifact_id": a["artifact_id"], "amount": amount})
            self._event("mint_bid", caller, {"artifact_id": a["artifact_id"], "amount": amount})
            return {"bid_id": len(self.events), "artifact_id": a["artifact_id"], "amount": amount,
                    "resolves_at": self.mint_next}
        if m == "status":
            return {"next_resolution": self.mint_next, "active_bids": list(self.bids)}
        raise Fail("INVALID_ARGS", "genesis_mint.%s is not in this fake" % m)

    def _resolve_mint(self):
        if self.t < self.mint_next:
            return
        self.mint_next += 60
        if not self.bids:
            return
        bids = sorted(self.bids, key=lambda b: -b["amount"])
        win = bids[0]
        pay = bids[1]["amount"] if len(bids) > 1 else 1
        self.principals[win["bidder"]]["scrip"] += win["amount"] - pay
        for b in bids[1:]:
            self.principals[b["bidder"]]["scrip"] += b["amount"]
        self.principals["genesis_mint"]["scrip"] -= sum(b["amount"] for b in bids) - pay
        owner = self.artifacts[win["artifact_id"]]["owner_id"]
        if owner in self.principals:
            self.principals[owner]["scrip"] += 40
        self.bids = []
        self._event("mint_resolved", "genesis_mint", {"winners": [win], "minted": 40})

    def _debt_json(self, d):
        return dict(d, remaining=d["repay_amount"] - d["repaid"], holder=self.artifacts[d["debt_id"]]["owner_id"],
                    overdue=d["status"] == "active" and self.t > d["due_at"])

    def _debt(self, caller, m, a):
        if m == "issue":
            creditor, amount, repay = a.get("creditor"), a.get("amount"), a.get("repay_amount")
            if creditor == caller:
                raise Fail("INVALID_ARGS", "cannot borrow from yourself")
            if creditor not in self.principals:
                raise Fail("NOT_FOUND", "principal %s" % creditor)
            if not all(isinstance(x, int) and x > 0 for x in (amount, repay, a.get("due_in_seconds"))) or repay < amount:
                raise Fail("INVALID_ARGS", "amount, repay_amount, due_in_seconds must be positive; repay_amount >= amount")
            did = "debt-%d" % (len(self.debts) + 1)
            self._put(did, "debt", creditor, content="debt", created_by="genesis")
            self.debts[did] = {"debt_id": did, "debtor": caller, "original_creditor": creditor, "amount": amount,
                               "repay_amount": repay, "repaid": 0, "status": "requested",
                               "due_at": self.t + a["due_in_seconds"]}
            self._event("debt_requested", caller, {"debt_id": did, "creditor": creditor, "amount": amount,
                                                   "repay_amount": repay})
            return self._debt_json(self.debts[did])
        if m == "list":
            who = a.get("principal") or caller
            return [self._debt_json(d) for d in self.debts.values()
                    if d["debtor"] == who or self.artifacts[d["debt_id"]]["owner_id"] == who]
        d = self.debts.get(a.get("debt_id"))
        if d is None:
            raise Fail("NOT_FOUND", "debt %s" % a.get("debt_id"))
        holder = self.artifacts[d["debt_id"]]["owner_id"]
        if m == "status":
            return self._debt_json(d)
        if m == "accept":
            if d["status"] != "requested":
                raise Fail("INVALID_ARGS", "debt %s is %s" % (d["debt_id"], d["status"]))
            if holder != caller:
                raise Fail("ACCESS_DENIED", "only the holder may fund it")
            self._move(caller, d["debtor"], d["amount"])
            d["status"] = "active"
            self._event("debt_issued", caller, {"debt_id": d["debt_id"], "creditor": caller, "debtor": d["debtor"],
                                                "amount": d["amount"]})
            return self._debt_json(d)
        if m == "repay":
            if d["status"] != "active":
                raise Fail("INVALID_ARGS", "debt %s is %s, not active" % (d["debt_id"], d["status"]))
            amount = a.get("amount")
            if not isinstance(amount, int) or amount <= 0:
                raise Fail("INVALID_ARGS", "argument 'amount' must be a positive integer")
            pay = min(amount, d["repay_amount"] - d["repaid"])
            self._move(caller, holder, pay)
            d["repaid"] += pay
            if d["repaid"] >= d["repay_amount"]:
                d["status"] = "repaid"
            self._event("debt_repaid", caller, {"debt_id": d["debt_id"], "holder": holder, "amount": pay})
            return self._debt_json(d)
        if m == "cancel":
            if d["debtor"] != caller or d["status"] != "requested":
                raise Fail("INVALID_ARGS", "only the debtor may cancel an unfunded request")
            d["status"] = "cancelled"
            self._event("debt_cancelled", caller, {"debt_id": d["debt_id"]})
            return self._debt_json(d)
        raise Fail("INVALID_ARGS", "genesis_debt.%s is not in this fake" % m)

    # --- a market for the economic mind's tests: sellers, firms, buyers, wants ------------------

    def add_seller(self, agent, key, price, scrip=100, broken=False):
        """`agent` (created if new) sells library tool `key` at `price`; a broken one always raises."""
        import agent.tools_library as lib
        if agent not in self.principals:
            self.add_agent(agent, scrip=scrip)
        e = lib.BY_KEY[key]
        code = e["code"]
        if broken:
            code = "\n".join("def %s(*args):\n    raise ValueError('broken')\n" % t["name"] for t in e["tools"])
        aid = "%s.%s" % (agent, key)
        self._put(aid, "tool", agent, content=lib.description(e), code=code, interface=lib.interface(e),
                  executable=True, price=price)
        self.artifacts[aid]["metadata"] = {"family": e["family"]}
        return aid

    def add_firm(self, firm, parent, stages, families, price, scrip=25, compute=1500):
        """A spawned firm of `parent`, owning itself, whose artifact is a bundle over `stages`."""
        import agent.tools_library as lib
        self._put(firm, "agent", firm, content=json.dumps({"mind": "heuristic", "parent": parent}),
                  code=lib.bundle_code(stages), interface=lib.bundle_interface(stages, families),
                  executable=True, standing=True, contract="genesis_freeware", price=price, created_by=parent)
        self.artifacts[firm]["metadata"] = {"bundle": families, "stages": stages}
        self._principal(firm, scrip=scrip, compute=compute, rate=2)
        return firm

    def add_buyer(self, buyer, artifact_id, method, args, every, until=None):
        """Every `every` calls (until call number `until`), `buyer` pays for one invoke."""
        if buyer not in self.principals:
            self.add_agent(buyer, scrip=1000)

        def turn(world):
            if until is None or world.n_calls < until:
                try:
                    world._invoke(buyer, {"artifact_id": artifact_id, "method": method, "args": list(args)})
                except Fail:
                    pass
        self.turns.append((every, turn))

    def add_wants(self, who, families, every):
        """Every `every` calls `who` advertises demand it cannot meet (topic 'market')."""
        if who not in self.principals:
            self.add_agent(who)
        self.turns.append((every, lambda world: world._event("custom", who, {"topic": "market", "data": {
            "agent": who, "wants": list(families), "value": 12}})))

    def _scripted_turns(self):
        for every, turn in self.turns:
            if self.n_calls % every == 0:
                turn(self)

    def paid_invokes(self, **match):
        """Invoke events that paid a price, filtered by data fields."""
        return [e["data"] for e in self.events if e["type"] == "invoke" and e["data"].get("price_paid", 0) > 0
                and all(e["data"].get(k) == v for k, v in match.items())]

# --- adversaries (sandbox/tests/test_adversaries.py) --------------------------------------------

# Markers of code the real sandbox contains, with the code it answers (HostileCodeTests):
# the fake must never run such code in the test process, so it answers as the sandbox does.
CONTAINED = (
    ("os.fork", "SANDBOX_VIOLATION"), ("socket.socket", "SANDBOX_VIOLATION"), ("socketpair", "SANDBOX_VIOLATION"),
    ("os.execv", "SANDBOX_VIOLATION"), ("ctypes", "SANDBOX_VIOLATION"), ("os.kill", "SANDBOX_VIOLATION"),
    ("bytearray(8 << 20)", "OUT_OF_MEMORY"), ("while True", "TIMEOUT"), ("time.sleep(3600)", "TIMEOUT"),
    ("<< 20)", "EXECUTION_ERROR"), ("open(", "EXECUTION_ERROR"), ("os.environ", "EXECUTION_ERROR"),
    ("threading", "EXECUTION_ERROR"), ("print(", "EXECUTION_ERROR"), ("if_nameindex", "EXECUTION_ERROR"),
    ("gethostname", "EXECUTION_ERROR"), ("invoke(", "EXECUTION_ERROR"),
)


class AdversaryWorld(FakeWorld):
    """A FakeWorld for adversarial minds: tool code carrying a marker of `CONTAINED` is not
    run; the invoke is answered with the sandbox's containment code and recorded in
    `contained` (artifact, code), so a test sees which hostile tools were invoked."""

    def __init__(self, *args, **kwargs):
        self.contained = []
        super().__init__(*args, **kwargs)

    def _run_tool(self, caller, aid, method, args, depth, payer_id):
        a = self.artifacts.get(aid)
        code = (a or {}).get("code") or ""
        for marker, result in CONTAINED:
            if a and not a["deleted_at"] and marker in code:
                self._charge(payer_id, 5)
                self.contained.append((aid, result))
                self._event("invoke", caller, {"artifact_id": aid, "method": method, "caller": caller, "payer": payer_id,
                                               "owner": a["owner_id"], "price_paid": 0, "error": result})
                return err(result, "contained by the sandbox (%s)" % marker)
        return super()._run_tool(caller, aid, method, args, depth, payer_id)
