// The Ecology observatory page: plain DOM and SVG, no library and no network beyond this server.
"use strict";

const KPI_EXPLAINED = {
  gini: "Inequality of scrip among agents: 0 = everyone holds the same, 1 = one agent holds everything.",
  velocity_per_agent_minute: "Scrip changing hands (transfers, paid tool calls, sales, loans and repayments) per agent per minute.",
  cross_agent_invoke_fraction: "Share of successful tool calls made by someone other than the tool's owner.",
  composition_fraction: "Share of successful tool calls made from inside another tool's code (tools built on tools).",
  tools_used_by_others: "Number of tools that at least one other agent has used successfully.",
  specialization_index: "How focused each seller's sales are on a few of its tools (1 = each sells one tool).",
  reuse_ratio: "Share of tool uses that reuse a tool already used (0 = every tool used once).",
  mint_hhi: "Concentration of minted scrip among winners (Herfindahl index: 1 = one owner won it all).",
  price_dispersion: "How much the prices paid for tool calls differ (standard deviation over the mean).",
  frozen_events: "Times an agent was frozen for running out of compute.",
  rescues: "Freezes during which another agent sent the frozen one scrip or compute.",
  debt_default_rate: "Share of loans now due that were not fully repaid in time.",
  llm_burn_dollars_per_hour: "Dollars spent on language-model calls per hour.",
};

const CHARTS = [
  { key: "scrip_supply", title: "Scrip supply", unit: "scrip", why: "All the money in the world; it grows when the mint creates scrip." },
  { key: "gini", sampled: true, title: "Inequality (Gini)", unit: "0–1", why: "0 = equal, 1 = one agent holds everything." },
  { key: "velocity_per_agent_minute", title: "Velocity", unit: "scrip per agent per minute", why: "How fast money changes hands." },
  { key: "actions_per_second", sampled: true, title: "Actions", unit: "per second", why: "Requests the agents make to the world." },
  { key: "invokes_per_second", title: "Tool calls", unit: "per second", why: "Calls of tools that agents wrote." },
  { key: "frozen_agents", title: "Frozen agents", unit: "agents", why: "Agents out of compute, waiting to recover." },
];

const state = { agents: [], sort: { key: "scrip", dir: -1 }, seenEvents: 0, lastSeq: 0, stream: null, agentTimer: null };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

async function api(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

async function control(path, body) {
  const token = document.getElementById("token").value || sessionStorage.getItem("ecology_token") || "";
  sessionStorage.setItem("ecology_token", token);
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
                                body: JSON.stringify(body || {}) });
  const answer = await r.json();
  if (!r.ok) throw new Error(answer.error || r.statusText);
  return answer;
}

function fmt(n, digits) {
  if (n === null || n === undefined) return "–";
  if (typeof n !== "number") return String(n);
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return n.toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 3 : digits });
}

function time(t) { return t ? new Date(t * 1000).toLocaleTimeString("en-GB") : "–"; }

function table(headers, rows) {
  const t = el("table");
  t.append(el("thead", {}, el("tr", {}, ...headers.map(h => el("th", { text: h })))));
  const body = el("tbody");
  for (const r of rows) body.append(el("tr", {}, ...r.map(c => el("td", { class: typeof c === "number" ? "num" : "" }, typeof c === "number" ? fmt(c) : (c ?? "–")))));
  if (rows.length === 0) body.append(el("tr", {}, el("td", { colspan: String(headers.length), class: "empty", text: "none yet" })));
  t.append(body);
  return t;
}

function card(title, value, note) {
  return el("div", { class: "card" }, el("div", { class: "card-title", text: title }), el("div", { class: "card-value", text: value }),
            el("div", { class: "card-note", text: note || "" }));
}

// ---- overview

async function refreshOverview() {
  const o = await api("/api/overview");
  const byState = Object.entries(o.agents_by_state).sort((a, b) => b[1] - a[1]).map(([s, n]) => `${n} ${s}`).join(", ");
  const cards = document.getElementById("cards");
  cards.replaceChildren(
    card("Agents", fmt(o.agents), byState || "none"),
    card("Scrip supply", fmt(o.scrip_supply), `${fmt(o.scrip_initial)} at start + ${fmt(o.scrip_minted)} minted`),
    card("Actions per second", o.actions_per_second === null ? "–" : fmt(o.actions_per_second, 1), o.live ? "over the last second" : "world not running"),
    card("LLM spending", "$" + fmt(o.llm_dollars, 4), "language-model calls, all time"),
    card("Next mint", o.next_mint_in_seconds === null ? "–" : fmt(Math.round(o.next_mint_in_seconds)) + " s", `${fmt(o.mint_rounds)} rounds so far`),
    card("Events", fmt(o.last_event_seq), "changes recorded in the log"));
  document.getElementById("status").textContent = (o.live ? "live: the supervisor is running this world" : "stopped world (read-only view)") +
    ` · world time ${time(o.now)}`;
  document.getElementById("status").className = "status " + (o.live ? "live" : "stopped");
  const kpiBody = document.querySelector("#kpis tbody");
  if (o.kpis) {
    kpiBody.replaceChildren(...Object.keys(KPI_EXPLAINED).map(k => el("tr", {}, el("td", {}, el("code", { text: k })),
      el("td", { class: "num", text: fmt(o.kpis[k]) }), el("td", { text: KPI_EXPLAINED[k] }))));
  } else {
    kpiBody.replaceChildren(el("tr", {}, el("td", { colspan: "3", class: "empty", text: "KPIs are not available in this build" })));
  }
}

function lineChart(spec, times, values) {
  const W = 320, H = 120, L = 48, B = 22, T = 8, R = 8;
  const box = el("div", { class: "chart", "data-key": spec.key });
  box.append(el("div", { class: "chart-title" }, spec.title + " ", el("span", { class: "unit", text: "(" + spec.unit + ")" })));
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": spec.title });
  const pts = times.map((t, i) => [t, values[i]]).filter(p => typeof p[1] === "number");
  if (pts.length === 0) {
    const msg = svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "nodata" });
    msg.textContent = spec.sampled ? "sampled while the world runs" : "no data yet";
    s.append(msg);
  } else {
    const t0 = Math.min(...pts.map(p => p[0])), t1 = Math.max(...pts.map(p => p[0]));
    let lo = Math.min(0, ...pts.map(p => p[1])), hi = Math.max(...pts.map(p => p[1]));
    if (hi === lo) hi = lo + 1;
    const x = t => L + (t1 === t0 ? (W - L - R) / 2 : (t - t0) / (t1 - t0) * (W - L - R));
    const y = v => H - B - (v - lo) / (hi - lo) * (H - B - T);
    s.append(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
    s.append(svg("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
    for (const [v, anchor] of [[hi, T + 4], [lo, H - B]]) {
      const label = svg("text", { x: L - 4, y: anchor, "text-anchor": "end", class: "tick" });
      label.textContent = fmt(v, 2); s.append(label);
    }
    for (const [t, anchor] of [[t0, "start"], [t1, "end"]]) {
      const label = svg("text", { x: x(t), y: H - 6, "text-anchor": anchor, class: "tick" });
      label.textContent = time(t); s.append(label);
    }
    s.append(svg("polyline", { points: pts.map(p => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" "), class: "line" }));
    for (const p of pts.slice(-1)) s.append(svg("circle", { cx: x(p[0]), cy: y(p[1]), r: 3, class: "point" }));
    box.setAttribute("data-points", String(pts.length));
  }
  box.append(s, el("div", { class: "chart-why", text: spec.why }));
  return box;
}

async function refreshCharts() {
  const s = await api("/api/series?window=3600&buckets=60");
  document.getElementById("charts").replaceChildren(...CHARTS.map(c => c.sampled
    ? lineChart(c, s.sampled.time, s.sampled[c.key]) : lineChart(c, s.time, s[c.key])));
}

// ---- agents

function renderAgents() {
  const { key, dir } = state.sort;
  const rows = [...state.agents].sort((a, b) => (a[key] > b[key] ? 1 : a[key] < b[key] ? -1 : 0) * dir);
  const body = document.querySelector("#agents-table tbody");
  body.replaceChildren(...rows.map(a => {
    const tr = el("tr", { class: "clickable state-" + a.state.replace(/ /g, "-"), "data-agent": a.id },
      el("td", {}, el("a", { href: "#agent=" + encodeURIComponent(a.id), text: a.id })), el("td", { text: a.state }),
      el("td", { class: "num", text: fmt(a.scrip) }), el("td", { class: "num", text: fmt(a.compute) }),
      el("td", { class: "num", text: fmt(a.llm_budget, 4) }), el("td", { class: "num", text: fmt(a.disk_used) }),
      el("td", { class: "num", text: fmt(a.actions) }), el("td", { class: "num", text: fmt(a.restarts) }));
    tr.addEventListener("click", () => { location.hash = "agent=" + encodeURIComponent(a.id); });
    return tr;
  }));
  for (const th of document.querySelectorAll("#agents-table th")) {
    th.classList.toggle("sorted", th.dataset.key === key);
    th.dataset.dir = th.dataset.key === key ? (dir > 0 ? "▲" : "▼") : "";
  }
}

async function refreshAgents() {
  state.agents = (await api("/api/agents?limit=1000")).agents;
  renderAgents();
}

// ---- economy panels

function graphView(g) {
  const box = el("div");
  if (g.edges.length === 0) { box.append(el("p", { class: "empty", text: "No agent has called another's tool yet." })); return box; }
  const W = 520, H = 360, cx = W / 2, cy = H / 2, r = 140;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "graph" });
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }));
  defs.append(marker); s.append(defs);
  const pos = {};
  g.nodes.forEach((n, i) => { const a = 2 * Math.PI * i / g.nodes.length - Math.PI / 2; pos[n] = [cx + r * Math.cos(a), cy + r * Math.sin(a)]; });
  const maxCalls = Math.max(...g.edges.map(e => e.calls));
  for (const e of g.edges) {
    const [x1, y1] = pos[e.from], [x2, y2] = pos[e.to];
    const width = 1 + 5 * e.calls / maxCalls;
    if (e.from === e.to) {
      s.append(svg("circle", { cx: x1, cy: y1 - 18, r: 14, class: "edge self", "stroke-width": width }));
    } else {
      const dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy) || 1, k = 22 / len;
      s.append(svg("line", { x1: x1 + dx * k, y1: y1 + dy * k, x2: x2 - dx * k, y2: y2 - dy * k, class: "edge", "stroke-width": width, "marker-end": "url(#arrow)" }));
      const label = svg("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 4, "text-anchor": "middle", class: "edge-label" });
      label.textContent = `${e.calls} / ${e.scrip}`; s.append(label);
    }
  }
  for (const n of g.nodes) {
    const [x, y] = pos[n];
    s.append(svg("circle", { cx: x, cy: y, r: 20, class: "node" }));
    const t = svg("text", { x, y: y + 34, "text-anchor": "middle", class: "node-label" }); t.textContent = n; s.append(t);
  }
  box.append(s, table(["caller", "tool owner", "calls", "scrip paid", "tools", "failed"],
                      g.edges.map(e => [e.from, e.to, e.calls, e.scrip, e.tools, e.failed])));
  return box;
}

async function refreshEconomy() {
  const [g, m, mint, d, sb] = await Promise.all([api("/api/graph?limit=60"), api("/api/market?limit=20"), api("/api/mint?limit=10"),
                                                 api("/api/debt?limit=20"), api("/api/sandbox?limit=10")]);
  document.getElementById("graph-view").replaceChildren(graphView(g));
  document.getElementById("market-view").replaceChildren(
    el("p", { text: `${m.active} listed now, ${m.sold} sold for ${fmt(m.sales_volume)} scrip in all, ${m.cancelled} withdrawn.` }),
    el("h4", { text: "For sale now" }), table(["artifact", "seller", "price (scrip)", "listed"], m.listings.map(l => [l.artifact_id, l.seller, l.price, time(l.listed_at)])),
    el("h4", { text: "Sales (price over time)" }), table(["time", "artifact", "seller", "buyer", "price (scrip)"], m.sales.map(s => [time(s.sold_at), s.artifact_id, s.seller, s.buyer, s.price])),
    el("h4", { text: "Priced tools" }), table(["tool", "owner", "price per call (scrip)"], m.tool_prices.map(p => [p.artifact_id, p.owner, p.price])));
  document.getElementById("mint-view").replaceChildren(
    el("p", { text: `next round at ${time(mint.next_resolution_at)}` }),
    el("h4", { text: "Bids waiting" }), table(["bidder", "artifact", "bid (scrip)"], mint.active_bids.map(b => [b.bidder, b.artifact_id, b.amount])),
    el("h4", { text: "Recent rounds" }), table(["round", "time", "winners (score → minted)", "paid in bids", "UBI per agent", "minted"],
      mint.rounds.slice().reverse().map(r => [r.round, time(r.resolved_at),
        (r.winners || []).map(w => `${w.owner || w.bidder || "?"} (${fmt(w.score)} → ${fmt(w.minted)})`).join(", ") || "none",
        r.payments, r.ubi_per_agent, r.minted])));
  document.getElementById("debt-view").replaceChildren(
    el("p", { text: `${d.active} active, ${d.defaulted} defaulted, ${d.repaid} repaid, ${d.requested} requested, ${d.cancelled} cancelled.` }),
    table(["debt", "debtor", "creditor", "lent", "to repay", "repaid", "due", "status"], d.debts.map(x => [x.id, x.debtor, x.holder, x.amount, x.repay_amount, x.repaid, time(x.due_at), x.status])));
  document.getElementById("sandbox-view").replaceChildren(
    el("p", { text: `${fmt(sb.timeouts)} timeouts, ${fmt(sb.out_of_memory)} out-of-memory stops.` }),
    table(["blocked syscall", "times"], sb.violations_by_syscall.map(v => [v.syscall, v.count])));
}

// ---- live events

function describe(e) {
  const d = e.data || {};
  switch (e.type) {
    case "transfer": return `${d.from} → ${d.to}: ${d.amount} ${d.resource}`;
    case "invoke": return `${d.caller} called ${d.artifact_id}.${d.method}${d.price_paid ? ` for ${d.price_paid} scrip` : ""}${d.error ? ` (${d.error})` : ""}`;
    case "artifact_written": return `${d.artifact_id || d.id || ""}`;
    case "custom": return `topic ${d.topic}${d.injected ? " (injected by operator)" : ""}`;
    default: { const s = JSON.stringify(d); return s.length > 120 ? s.slice(0, 117) + "…" : s; }
  }
}

function eventRow(e) {
  return el("tr", { class: "event", "data-seq": String(e.seq) }, el("td", { class: "num", text: e.seq }), el("td", { text: time(e.time) }),
            el("td", { text: e.type }), el("td", { text: e.principal || "" }), el("td", { text: describe(e) }));
}

async function openStream() {
  if (state.stream) state.stream.close();
  const type = document.getElementById("filter-type").value, principal = document.getElementById("filter-principal").value.trim();
  const q = new URLSearchParams({ limit: "30" });
  if (type) q.set("type", type);
  if (principal) q.set("principal", principal);
  const body = document.querySelector("#events-table tbody");
  let recent;
  try { recent = await api("/api/events?" + q); } catch (err) { body.replaceChildren(el("tr", {}, el("td", { colspan: "5", class: "empty", text: err.message }))); return; }
  body.replaceChildren(...recent.events.reverse().map(eventRow));
  state.seenEvents = 0;
  document.getElementById("events-count").textContent = "0 new events";
  const sq = new URLSearchParams({ after: String(recent.next_after) });
  if (type) sq.set("type", type);
  if (principal) sq.set("principal", principal);
  state.stream = new EventSource("/api/stream?" + sq);
  state.stream.addEventListener("world", m => {
    const e = JSON.parse(m.data);
    body.prepend(eventRow(e));
    while (body.children.length > 200) body.lastChild.remove();
    state.seenEvents += 1;
    document.getElementById("events-count").textContent = `${state.seenEvents} new events`;
  });
}

async function refreshEventTypes() {
  const select = document.getElementById("filter-type");
  const current = select.value;
  const types = (await api("/api/event-types")).types.map(t => t.type);
  select.replaceChildren(el("option", { value: "", text: "all" }), ...types.map(t => el("option", { value: t, text: t })));
  select.value = types.includes(current) ? current : "";
}

// ---- one agent

async function showAgent(id) {
  const a = await api("/api/agents/" + encodeURIComponent(id) + "?traces=30");
  const ag = a.agent;
  document.getElementById("agent-title").textContent = `Agent ${ag.id}`;
  document.getElementById("agent-cards").replaceChildren(card("State", ag.state, `mind: ${ag.mind || "?"}`), card("Scrip", fmt(ag.scrip), "money"),
    card("Compute", fmt(ag.compute), "CPU-milliseconds it may still use"), card("LLM budget", "$" + fmt(ag.llm_budget, 4), "left to spend on language models"),
    card("Disk", fmt(ag.disk_used), `bytes of ${fmt(ag.disk_quota)}`), card("Restarts", fmt(ag.restarts), `${fmt(ag.actions)} actions`));
  document.getElementById("statement").replaceChildren(statementView(a.statement));
  document.getElementById("agent-artifacts").replaceChildren(table(["artifact", "kind", "version", "price", "bytes", "updated"],
    a.artifacts.map(x => [x.id, x.kind, x.version, x.price, x.size_bytes, time(x.updated_at)])));
  document.getElementById("agent-traces").replaceChildren(table(["time", "kind", "what"],
    a.traces.slice().reverse().map(t => [time(t.time), t.kind, JSON.stringify(t.data).slice(0, 160)])));
}

function statementView(st) {
  const box = el("div", { class: "statement" });
  if (!st) { box.append(el("p", { class: "empty", text: "This principal has no statement." })); return box; }
  const lines = st.lines || [];
  // Read as a bank statement: when, what caused it, which account, the movement, the balance after.
  const order = ["time", "seq", "event", "resource", "delta", "balance", "counterparty", "note"];
  const present = lines.length ? Object.keys(lines[0]) : order;
  const columns = order.filter(c => present.includes(c)).concat(present.filter(c => !order.includes(c)));
  box.append(table(columns, lines.map(l => columns.map(c => typeof l[c] === "object" && l[c] !== null ? JSON.stringify(l[c]) :
    (c === "time" ? time(l[c]) : l[c])))));
  const totals = st.totals || {}, balances = st.balances || {};
  const checks = Object.keys(totals).map(k => {
    const ok = Math.abs(Number(totals[k]) - Number(balances[k])) < 1e-9;
    return [k, totals[k], balances[k], ok ? "✓ sums to the balance" : "✗ does not match"];
  });
  box.append(el("h4", { text: "Check: movements add up to the balance" }), table(["resource", "sum of movements", "balance now", ""], checks));
  box.setAttribute("data-balanced", checks.length > 0 && checks.every(c => c[3].startsWith("✓")) ? "yes" : "no");
  return box;
}

// ---- routing and refresh

function route() {
  const m = location.hash.match(/^#agent=(.+)$/);
  document.getElementById("overview-page").hidden = !!m;
  document.getElementById("agent-page").hidden = !m;
  clearInterval(state.agentTimer);
  if (m) {
    const id = decodeURIComponent(m[1]);
    const show = () => showAgent(id).catch(err => { document.getElementById("agent-title").textContent = err.message; });
    show();
    state.agentTimer = setInterval(show, 3000);
  }
}

async function refresh() {
  try {
    await Promise.all([refreshOverview(), refreshCharts(), refreshAgents(), refreshEconomy()]);
  } catch (err) {
    document.getElementById("status").textContent = "cannot reach the server: " + err.message;
    document.getElementById("status").className = "status error";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const th of document.querySelectorAll("#agents-table th")) {
    th.addEventListener("click", () => {
      state.sort = { key: th.dataset.key, dir: state.sort.key === th.dataset.key ? -state.sort.dir : (th.classList.contains("num") ? -1 : 1) };
      renderAgents();
    });
  }
  document.getElementById("filter-type").addEventListener("change", openStream);
  document.getElementById("filter-principal").addEventListener("change", openStream);
  document.getElementById("token").value = sessionStorage.getItem("ecology_token") || "";
  document.getElementById("inject").addEventListener("click", () => {
    control("/api/inject", { topic: document.getElementById("inject-topic").value })
      .then(r => { document.getElementById("control-result").textContent = `event ${r.seq} injected`; })
      .catch(err => { document.getElementById("control-result").textContent = err.message; });
  });
  for (const b of document.querySelectorAll("#agent-page button[data-verb]")) {
    b.addEventListener("click", () => {
      const m = location.hash.match(/^#agent=(.+)$/);
      if (!m) return;
      control(`/api/agents/${m[1]}/${b.dataset.verb}`)
        .then(r => { document.getElementById("agent-control-result").textContent = `${r.agent} ${r.done}`; })
        .catch(err => { document.getElementById("agent-control-result").textContent = err.message + " (set the token on the overview page)"; });
    });
  }
  window.addEventListener("hashchange", route);
  route();
  refresh();
  refreshEventTypes().then(openStream);
  setInterval(refresh, 2000);
  setInterval(refreshEventTypes, 15000);
});
