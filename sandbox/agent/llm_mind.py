"""The llm mind: a language model chooses each action, through the supervisor's gateway.

Each turn: observe; recall memories that match recent events; build the prompt
(the agent's prompt, the handbook, the world's time and balances, recent events,
memory hits); call the `llm` action with the kernel actions as function-calling
tools (or, on backends without tools, asking for one JSON decision); check the
call against the action's schema; perform it; keep the exchange as short history.
A malformed call is never performed: it is traced and the model is told exactly
what was wrong (the gateway has already charged for the reply).
"""
import json
import re

from agent import schema
from agent.memory import MemoryBook

HISTORY_TURNS = 6
RESULT_LIMIT = 3000
HANDBOOK_PAGE_LIMIT = 4000
MAX_CALLS_PER_TURN = 3
KNOWN_PAGES = ["handbook_overview", "handbook_debt", "handbook_escrow", "handbook_event_log", "handbook_ledger",
               "handbook_mint", "handbook_rights_registry", "handbook_store"]
_NAME_OK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class LLMMind:
    def __init__(self, kernel, start):
        self.k = kernel
        self.me = str(start["agent_id"])
        self.prompt = str(start.get("prompt") or "You are %s, an agent in an economy." % self.me)
        self.model = start.get("model") or None
        # "tools" (function calling) unless the supervisor says the backend lacks it.
        self.use_tools = str(start.get("structured_output") or "tools") == "tools"
        self.max_tokens = start.get("max_tokens") if isinstance(start.get("max_tokens"), int) else None
        self.min_interval = float(start.get("pace", 1.0))
        self.memory = MemoryBook(self, self.me)
        self.handbook = ""
        self.turns = []          # each a list of messages: the nudge, the reply, the results
        self.step_no = 0
        self.now = 0.0
        self.balances = {}
        self.failures = 0        # consecutive failed llm calls, for backoff
        self.slept = False

    # --- start-up ---------------------------------------------------------------------------

    def boot(self):
        """Reads the handbook once, and finds this agent's memories (it may have been restarted)."""
        ids = list(KNOWN_PAGES)
        r = self.invoke("genesis_store", "list", {"kind": "handbook", "limit": 50})
        if r.ok and isinstance(r.result, list):
            listed = sorted(a["id"] for a in r.result if isinstance(a, dict) and isinstance(a.get("id"), str))
            ids = ["handbook_overview"] + [i for i in listed if i != "handbook_overview"]
        pages = []
        for pid in ids:
            page = self.k.call("read", {"artifact_id": pid})
            if page.ok and isinstance(page.result, dict):
                pages.append(str(page.result.get("content", ""))[:HANDBOOK_PAGE_LIMIT])
        self.handbook = "\n\n".join(pages)
        mine = self.invoke("genesis_store", "list_by_owner", self.me)
        if mine.ok and isinstance(mine.result, list):
            self.memory.restore(mine.result)

    # --- one turn ---------------------------------------------------------------------------

    def step(self):
        self.step_no += 1
        self.slept = False
        obs = self.k.call("observe")
        if not obs.ok:
            self.trace({"action": "observe", "outcome": obs.code, "reason": obs.message})
            self.k.sleep(seconds=self.backoff_seconds())
            return
        o = obs.result if isinstance(obs.result, dict) else {}
        self.absorb(o)
        if self.balances.get("frozen"):
            self.trace({"action": "wait_frozen", "outcome": "ok", "reason": "frozen: waiting for compute"})
            self.k.sleep(seconds=60, balance={"resource": "compute", "gte": 1})
            return
        hits = self.recall(o)
        nudge = {"role": "user", "content": "Turn %d. Choose your next action%s." % (
            self.step_no, " (call exactly one tool)" if self.use_tools else " as one JSON object {action, params, reason}")}
        messages = [{"role": "system", "content": self.system_prompt(o, hits)}]
        for turn in self.turns:
            messages.extend(turn)
        messages.append(nudge)
        reply = self.k.call("llm", self.llm_params(messages))
        if not reply.ok:
            self.on_llm_error(reply)
            return
        self.failures = 0
        result = reply.result if isinstance(reply.result, dict) else {}
        message = result.get("message") if isinstance(result.get("message"), dict) else {}
        turn = [nudge]
        meta = {"usage": result.get("usage"), "cost_microdollars": result.get("cost_microdollars")}
        if self.use_tools:
            self.act_on_tool_calls(message, turn, meta)
        else:
            self.act_on_json(message, turn, meta)
        self.turns.append(turn)
        del self.turns[:-HISTORY_TURNS]
        if not self.slept and self.min_interval > 0:
            self.k.sleep(seconds=self.min_interval)

    def llm_params(self, messages):
        params = {"messages": messages}
        if self.use_tools:
            params["tools"] = schema.function_tools()
        else:
            params["schema"] = schema.decision_schema()
        if self.model:
            params["model"] = self.model
        if self.max_tokens:
            params["max_tokens"] = self.max_tokens
        return params

    def act_on_tool_calls(self, message, turn, meta):
        content = message.get("content") if isinstance(message.get("content"), str) else ""
        calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
        echoed, results, problems = [], [], []
        for i, c in enumerate(calls):
            fn = c.get("function") if isinstance(c.get("function"), dict) else {}
            name = fn.get("name") if isinstance(fn.get("name"), str) else ""
            raw = fn.get("arguments")
            text = raw if isinstance(raw, str) else json.dumps(raw if raw is not None else {})
            cid = c.get("id") if isinstance(c.get("id"), str) and c.get("id") else "call_%d_%d" % (self.step_no, i)
            if not _NAME_OK.match(name):
                # Not even a possible function name: keep it out of the echoed tool_calls.
                problems.append("tool call %d names %r, which is not a tool; the tools are %s"
                                % (i, name, ", ".join(schema.ACTIONS)))
                self.trace_malformed(name, text, problems[-1], meta)
                continue
            echoed.append({"id": cid, "type": "function", "function": {"name": name, "arguments": text}})
            if i >= MAX_CALLS_PER_TURN:
                results.append(self.tool_message(cid, "not performed: at most %d calls per turn" % MAX_CALLS_PER_TURN))
                continue
            params, error = self.validate(name, text)
            if error:
                self.trace_malformed(name, text, error, meta)
                results.append(self.tool_message(cid, "ERROR: this call was not performed. %s" % error))
                continue
            outcome = self.perform(name, params, content, meta)
            results.append(self.tool_message(cid, outcome))
        turn.append({"role": "assistant", "content": content if (content or not echoed) else None,
                     **({"tool_calls": echoed} if echoed else {})})
        turn.extend(results)
        if not calls:
            problems.append("you answered with text but called no tool; every turn must call exactly one of: %s"
                            % ", ".join(schema.ACTIONS))
            self.trace_malformed(None, content, problems[-1], meta)
        if problems:
            turn.append({"role": "user", "content": "Not performed: " + "; ".join(problems) + "."})

    def act_on_json(self, message, turn, meta):
        content = message.get("content") if isinstance(message.get("content"), str) else ""
        turn.append({"role": "assistant", "content": content})
        decision, error = parse_decision(content)
        if error is None:
            params, error = self.validate(decision["action"], decision["params"])
        if error:
            self.trace_malformed(decision.get("action") if decision else None, content, error, meta)
            turn.append({"role": "user", "content": "Your decision was not performed: %s. Answer with one JSON object "
                         "{\"action\": one of %s, \"params\": {...}, \"reason\": \"...\"}." % (error, ", ".join(schema.ACTIONS))})
            return
        outcome = self.perform(decision["action"], params, decision.get("reason", ""), meta)
        turn.append({"role": "user", "content": "Result of %s: %s" % (decision["action"], outcome)})

    def validate(self, name, arguments):
        """(params, None) for a well-formed call of a known action, else (None, what is wrong)."""
        if name not in schema.ACTIONS:
            return None, "unknown action %r; the actions are %s" % (name, ", ".join(schema.ACTIONS))
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as e:
                return None, "the arguments of %s are not valid JSON (%s)" % (name, e)
        if not isinstance(arguments, dict):
            return None, "the arguments of %s must be a JSON object" % name
        error = schema.check(arguments, schema.parameters(name), "%s.arguments" % name)
        if error:
            return None, "%s; %s takes %s" % (error, name, json.dumps(schema.parameters(name)["properties"]))
        if name == "sleep" and not arguments:
            arguments = {"seconds": 5}  # a sleep with no condition would never end
        return arguments, None

    def perform(self, name, params, reason, meta):
        reply = self.k.call(name, params)
        if name == "sleep":
            self.slept = True
        if not reply.ok and reply.code == "INSUFFICIENT_COMPUTE":
            self.k.sleep(seconds=reply.retry_after or 10, balance={"resource": "compute", "gte": 1})
            self.slept = True
        self.trace(dict(meta, action=name, params=params, reason=reason, outcome="ok" if reply.ok else reply.code))
        text = json.dumps(reply.envelope(), ensure_ascii=False, default=str)
        return text if len(text) <= RESULT_LIMIT else text[:RESULT_LIMIT] + "… (truncated)"

    def on_llm_error(self, reply):
        """The llm action failed: wait for what is missing, never spin."""
        code = reply.code
        details = reply.details if isinstance(reply.details, dict) else {}
        self.trace({"action": "llm", "outcome": code, "reason": reply.message[:300]})
        if code == "BUDGET_EXHAUSTED":
            need = details.get("required_microdollars")
            gte = need if isinstance(need, int) and need > 1 else 1
            self.k.sleep(balance={"resource": "llm_budget", "gte": gte})
        elif code == "RATE_LIMITED":
            if reply.retry_after is None and self.max_tokens != 64:
                self.max_tokens = max(64, (self.max_tokens or 512) // 2)  # never fits: ask for less
            self.k.sleep(seconds=reply.retry_after if reply.retry_after is not None else 1.0)
        elif code == "INSUFFICIENT_COMPUTE":
            self.k.sleep(seconds=reply.retry_after or 10, balance={"resource": "compute", "gte": 1})
        elif code == "INVALID_ARGS":
            del self.turns[:2]  # most likely the context grew too long: forget the oldest turns
            self.k.sleep(seconds=1.0)
        else:
            self.k.sleep(seconds=self.backoff_seconds())

    def backoff_seconds(self):
        self.failures += 1
        return min(60.0, 2.0 ** self.failures)

    # --- the prompt ---------------------------------------------------------------------------

    def absorb(self, o):
        t = o.get("time")
        if isinstance(t, (int, float)) and not isinstance(t, bool):
            self.now = float(t)
        self.balances = o.get("balances") if isinstance(o.get("balances"), dict) else {}

    def recall(self, o):
        """Memories that mention who or what appeared in the latest events."""
        words = []
        for ev in reversed(o.get("recent_events") or []):
            if not isinstance(ev, dict):
                continue
            data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
            for w in (ev.get("principal"), data.get("artifact_id"), data.get("topic")):
                if isinstance(w, str) and w and w != self.me and not w.startswith("genesis") and w not in words:
                    words.append(w)
            if len(words) >= 2:
                break
        hits = []
        for w in words[:2]:
            hits.extend(self.memory.recall([w]))
        return hits[:5]

    def system_prompt(self, o, hits):
        b = self.balances
        events = []
        for ev in (o.get("recent_events") or [])[-10:]:
            if isinstance(ev, dict):
                events.append("- #%s t=%s %s by %s: %s" % (ev.get("seq"), ev.get("time"), ev.get("type"),
                                                            ev.get("principal"), json.dumps(ev.get("data"))[:200]))
        owned = ", ".join("%s (%s, price %s)" % (a.get("id"), a.get("kind"), a.get("price"))
                          for a in (o.get("owned") or [])[:30] if isinstance(a, dict)) or "nothing"
        memories = "\n".join("- %s: %s" % (h.get("id"), h.get("snippet")) for h in hits) or "- none matched"
        how = ("Act by calling exactly one tool per turn." if self.use_tools else
               "Answer with one JSON object: {\"action\": <observe|read|write|edit|delete|invoke|sleep|noop>, "
               "\"params\": {...the action's parameters...}, \"reason\": \"why\"}.")
        return "\n".join([
            self.prompt, "",
            "You are the agent %s. %s Invoke args are positional in the order the handbook lists "
            "(or one object of named args). Keep memories with write(artifact_id=\"%s.mem.<n>\", content=..., "
            "kind=\"memory\", contract=\"genesis_private\"); find them with invoke(genesis_store, search, [words]). "
            "Sleep when there is nothing worth paying for: every action costs compute and every turn costs LLM budget."
            % (self.me, how, self.me), "",
            "# Handbook", self.handbook, "",
            "# Now (world clock)",
            "time: %s; next mint resolution: %s" % (o.get("time"), o.get("mint_next_resolution")),
            "balances: scrip %s, compute %s CPU-ms%s, llm_budget %s micro-dollars, llm_rate %s tokens, disk %s/%s bytes"
            % (b.get("scrip"), b.get("compute"), " (FROZEN)" if b.get("frozen") else "",
               b.get("llm_budget_microdollars"), b.get("llm_rate"), b.get("disk_used"), b.get("disk_quota")),
            "you own: " + owned,
            "recent events:", "\n".join(events) or "- none",
            "memories that may matter:", memories,
        ])

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def tool_message(call_id, text):
        return {"role": "tool", "tool_call_id": call_id, "content": text}

    def invoke(self, artifact_id, method, *args):
        return self.k.call("invoke", {"artifact_id": artifact_id, "method": method, "args": list(args)})

    def call(self, action, params=None):
        return self.k.call(action, params)

    def trace(self, data):
        self.k.trace("decision", dict(data, step=self.step_no, time=self.now, mind="llm", observation={
            "scrip": self.balances.get("scrip"), "compute": self.balances.get("compute"),
            "llm_budget_microdollars": self.balances.get("llm_budget_microdollars")}))

    def trace_malformed(self, name, raw, error, meta):
        self.trace(dict(meta, action=name, outcome="malformed", error=error, raw=raw))


def parse_decision(text):
    """({action, params, reason}, None) from a JSON answer (code fences tolerated), else (None, why)."""
    s = text.strip()
    fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", s, re.S)
    if fenced:
        s = fenced.group(1)
    try:
        d = json.loads(s)
    except ValueError as e:
        return None, "the answer is not valid JSON (%s)" % e
    if not isinstance(d, dict):
        return None, "the answer must be a JSON object"
    if not isinstance(d.get("action"), str):
        return None, "the answer needs \"action\" (a string)"
    if "params" not in d:
        d["params"] = {}
    return d, None
