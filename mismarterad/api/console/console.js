// The web console: signs in, then follows GET /api/v1/events and redraws what changed.
// Plain DOM (no framework); text is always set as text, never as HTML. The token lives in
// sessionStorage: closing the tab signs out of this tab.
const API = "/api/v1";
const $ = (id) => document.getElementById(id);
const OPEN = new Set(["intent", "submitted", "accepted", "partially_filled"]);
let token = sessionStorage.getItem("token");
let role = null;
let stream = null;
let chart = null;
let points = [];
let refreshTimer = null;
let timezone = null; // the exchange's zone, from /pnl: the chart reads in market time
let lastEventId = null; // sent back on reconnecting: the stream resumes after it

// -- requests -------------------------------------------------------------------------------

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${token}` };
  const reply = await fetch(API + path, { ...options, headers });
  if (reply.status === 401) { signOut("your session ended: sign in again"); throw new Error("signed out"); }
  const body = reply.headers.get("content-type")?.includes("json") ? await reply.json() : await reply.blob();
  if (!reply.ok) throw new Error(body?.error?.message || `HTTP ${reply.status}`);
  return body;
}

async function signIn(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const form = new URLSearchParams({ username: $("username").value, password: $("password").value });
  const reply = await fetch(`${API}/auth/token`, { method: "POST", body: form });
  const body = await reply.json();
  if (!reply.ok) { $("login-error").textContent = body.error.message; return; }
  token = body.access_token;
  sessionStorage.setItem("token", token);
  $("password").value = "";
  await start();
}

function signOut(message) {
  if (token) fetch(`${API}/auth/revoke`, { method: "POST", headers: { Authorization: `Bearer ${token}` } })
    .catch(() => {});
  token = null;
  lastEventId = null;
  sessionStorage.removeItem("token");
  if (stream) stream.abort();
  stream = null;
  $("console-view").hidden = true;
  $("who").hidden = $("sign-out").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = typeof message === "string" ? message : "";
}

// -- events: server-sent events read with fetch, so the token goes in a header, not the URL --

async function follow() {
  stream = new AbortController();
  const mine = stream;
  while (token && !mine.signal.aborted) {
    try {
      const headers = { Authorization: `Bearer ${token}` };
      if (lastEventId) headers["Last-Event-ID"] = lastEventId;
      const reply = await fetch(`${API}/events`, { headers, signal: mine.signal });
      if (reply.status === 401) { signOut("your session ended: sign in again"); return; }
      live(true);
      const reader = reply.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      if (mine.signal.aborted) return;
    }
    live(false);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function dispatch(frame) {
  let kind = "message", data = "";
  for (const line of frame.split("\n")) {
    if (line.startsWith("event: ")) kind = line.slice(7);
    else if (line.startsWith("data: ")) data += line.slice(6);
    else if (line.startsWith("id: ")) lastEventId = line.slice(4);
  }
  if (!data) return;
  const body = JSON.parse(data);
  if (kind === "status") showStatus(body);
  else if (kind === "pnl") addPoint(body);
  else if (kind === "audit") addAudit(body, true);
  else if (kind === "signed_out") signOut(`signed out: ${body.reason}`);
  else if (kind === "fill" || kind === "state" || kind === "halt") refreshSoon();
  else if (kind === "gap") { refreshSoon(); loadOnce(); } // events were missed: read everything again
}

function live(on) {
  $("live").textContent = on ? "live" : "reconnecting";
  $("live").className = on ? "pill ok" : "pill bad";
}

// -- drawing ----------------------------------------------------------------------------------

const fmt = (v) => (v === null || v === undefined || v === "" ? "-" : typeof v === "number" ? v.toLocaleString("en-US", { maximumFractionDigits: 2 }) : String(v));

function table(id, rows, columns) {
  const el = $(id);
  el.replaceChildren();
  const head = el.insertRow();
  for (const [, title] of columns) { const th = document.createElement("th"); th.textContent = title; head.append(th); }
  if (!rows.length) {
    const cell = el.insertRow().insertCell();
    cell.colSpan = columns.length; cell.className = "empty"; cell.textContent = "none";
    return;
  }
  for (const row of rows) {
    const tr = el.insertRow();
    for (const [key] of columns) {
      const cell = tr.insertCell();
      const value = typeof key === "function" ? key(row) : row[key];
      if (value instanceof Node) cell.append(value); else cell.textContent = fmt(value);
      if (key === "pnl" && typeof value === "number") cell.className = value >= 0 ? "pos" : "neg";
    }
  }
}

function showStatus(s) {
  const b = s.broker || {};
  const reconnects = Object.entries(b.reconnects || {}).map(([k, n]) => `${k} ${n}`).join(", ");
  const fields = [
    ["state", s.state], ["clock", s.clock?.slice(0, 19).replace("T", " ")], ["session", s.session_date],
    ["next start", s.next_start?.slice(0, 16).replace("T", " ")], ["next stop", s.next_stop?.slice(0, 16).replace("T", " ")],
    ["halted", s.halted ? `yes, by ${s.halted_by} since ${s.halted_since?.slice(11, 19)}${s.halted_reason ? `: ${s.halted_reason}` : ""}` : "no"],
    ["loss halt", s.loss_halt ? `at ${s.loss_halt.time?.slice(11, 19)}` : "no"],
    ["broker", `${b.name || "-"}: ${b.connected ? "connected" : "DISCONNECTED"}${reconnects ? ` (reconnects: ${reconnects})` : ""}`],
    ["stream", s.last_bar_age_seconds === null ? "no session" : `last bar ${fmt(s.last_bar_age_seconds)} s ago, ${s.bars_processed} bars`],
    ["watchdog", s.watchdog_healthy ? "healthy" : "STALLED"], ["open orders", s.open_orders],
  ];
  const dl = $("status");
  dl.replaceChildren(...fields.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = fmt(v); dd.dataset.field = k;
    return [dt, dd];
  }));
  const banner = $("banner");
  banner.hidden = !s.halted && !s.loss_halt;
  banner.textContent = s.halted ? `HALTED by ${s.halted_by}${s.halted_reason ? `: ${s.halted_reason}` : ""} — new orders are refused until resume`
    : s.loss_halt ? "The daily loss limit halted trading" : "";
}

function drawChart() {
  if (!window.uPlot) return;
  const el = $("chart");
  const data = [points.map((p) => p.t), points.map((p) => p.equity), points.map((p) => p.total)];
  if (!chart) {
    chart = new uPlot({
      width: Math.max(320, el.clientWidth), height: 240,
      series: [{}, { label: "equity", stroke: "#1d4ed8", scale: "eq" }, { label: "P&L", stroke: "#15803d", scale: "pnl" }],
      axes: [{}, { scale: "eq", size: 90 }, { scale: "pnl", side: 1, size: 70, grid: { show: false } }],
      scales: { x: { time: true } },
      tzDate: (ts) => (timezone ? uPlot.tzDate(new Date(ts * 1e3), timezone) : new Date(ts * 1e3)),
    }, data, el);
  } else {
    chart.setData(data);
  }
}

function addPoint(point) {
  if (points.length && points[points.length - 1].t >= point.t) return;
  points.push(point);
  drawChart();
  showPnl(point);
}

function showPnl(p) {
  $("pnl-figures").textContent = `equity ${fmt(p.equity)} · realized ${fmt(p.realized)} · unrealized ${fmt(p.unrealized)}`;
}

function addAudit(entry, prepend) {
  const rows = prepend ? [entry, ...auditRows] : auditRows;
  auditRows = rows.slice(0, 20);
  table("audit", auditRows, [[(r) => r.time.slice(11, 19), "time"], ["user", "user"], ["action", "action"], ["result", "result"]]);
}
let auditRows = [];

// A report file opens in a tab of its own through a link signed for a minute: the tab cannot
// carry the token, and the file's own sandboxing policy (not this page's) lets report.html run
// its charts. The tab is opened at the click, before the request, so popup blockers allow it.
async function openFile(link) {
  const tab = window.open("", "_blank");
  try {
    const { url } = await api(`${link.slice(API.length)}/link`, { method: "POST" });
    if (tab) { tab.opener = null; tab.location.replace(url); }
  } catch (error) {
    tab?.close();
    $("control-result").textContent = `${link.split("/").pop()}: ${error.message}`;
  }
}

function reportLinks(report) {
  const span = document.createElement("span");
  for (const [name, link] of Object.entries(report.links)) {
    const a = document.createElement("a");
    a.href = "#"; a.textContent = name;
    a.addEventListener("click", (e) => { e.preventDefault(); openFile(link); });
    span.append(a, " ");
  }
  return span;
}

// -- loading ---------------------------------------------------------------------------------

function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 300);
}

async function refresh() {
  const [positions, orders, trades, quality, pnl] = await Promise.all(
    ["/positions", "/orders", "/trades", "/quality", "/pnl"].map((p) => api(p)));
  table("positions", positions, [["symbol", "symbol"], ["quantity", "qty"], ["avg_price", "avg price"], ["strategies", "strategies"]]);
  table("orders", orders.filter((o) => OPEN.has(o.status)),
    [["symbol", "symbol"], ["side", "side"], ["quantity", "qty"], ["type", "type"], ["status", "status"], ["strategy", "strategy"]]);
  table("trades", trades, [["symbol", "symbol"], ["quantity", "qty"], [(t) => t.entry_time?.slice(11, 16), "entry"],
    ["entry_price", "entry price"], [(t) => t.exit_time?.slice(11, 16), "exit"], ["exit_price", "exit price"], ["pnl", "pnl"], ["strategy", "strategy"]]);
  table("quality", quality, [["symbol", "symbol"], ["quality_pct", "quality %"], ["gaps", "gaps"]]);
  timezone = pnl.timezone;
  if (pnl.series.length > points.length) { points = pnl.series; drawChart(); }
  showPnl({ ...(pnl.strategies.find((r) => r.strategy === "total") || {}), equity: pnl.equity });
}

async function loadOnce() {
  const [audit, reports] = await Promise.all([api("/audit?limit=20"), api("/reports")]);
  auditRows = audit;
  addAudit(null, false);
  table("reports", reports, [["date", "date"], [(r) => r.summary?.final_equity, "final equity"],
    [(r) => r.summary?.trades, "trades"], [(r) => r.summary?.total_return, "return"], [reportLinks, "files"]]);
}

async function start() {
  let me;
  try { me = await api("/auth/me"); } catch { return; }
  role = me.role;
  $("who").textContent = `${me.user} (${me.role})`;
  $("who").hidden = $("sign-out").hidden = false;
  $("login-view").hidden = true;
  $("console-view").hidden = false;
  $("control-card").hidden = role === "viewer";
  showStatus(await api("/status"));
  await Promise.all([refresh(), loadOnce()]);
  follow();
}

// -- control ---------------------------------------------------------------------------------

function confirmed(text) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

async function control(action, question, body) {
  if (!(await confirmed(question))) return;
  const result = $("control-result");
  try {
    await api(`/system/${action}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
    result.textContent = `${action}: done`;
    result.className = "";
  } catch (error) {
    result.textContent = `${action}: ${error.message}`;
    result.className = "error";
  }
  refreshSoon();
}

$("login").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut());
$("halt").addEventListener("click", () => {
  const flatten = $("halt-flatten").checked;
  control("halt", flatten ? "Halt trading, cancel the open orders and close every position?" : "Halt trading and cancel the open orders?",
    { flatten, reason: $("halt-reason").value });
});
$("flatten").addEventListener("click", () => control("flatten", "Close every position with market orders now?"));
$("resume").addEventListener("click", () => control("resume", "Resume trading: accept new orders again?"));
window.addEventListener("load", () => (token ? start() : signOut()));
