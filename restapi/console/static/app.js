// The operator console: sign-in, the live calls (a snapshot from
// GET /v1/calls, then kept current from the event stream), nodes, a
// call's timeline, call records, call control, and device states (BLF). DOM updates are
// batched: events only change the store; one animation frame renders
// what changed.

import * as api from "./api.js";
import { Stream } from "./stream.js";
import { Grid } from "./grid.js";

const $ = (id) => document.getElementById(id);
const ROW_HEIGHT = 30;
const MAX_TIMELINE = 200; // events kept per call
const MAX_ENDED = 500; // ended calls kept for their timeline
const MAX_RECORDS = 100; // records shown

// ---- state ----------------------------------------------------------------

const calls = new Map(); // live calls: id -> call (+ ver, events, hold, muted, seen)
const ended = new Map(); // recently ended: id -> call
let nodes = [];
let records = [];
let stream = null;
let selected = "";
let orderDirty = true;
let frame = 0;
let verSeq = 0;
let pending = []; // arrival times of events not rendered yet
const filters = { node: "", state: "", tag: "", number: "" };
const stats = { latencies: [], renders: [], renderedAt: {}, events: 0 };
const errors = []; // uncaught errors of the page, for the browser test
window.addEventListener("error", (e) => errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => errors.push(String(e.reason)));

// ---- store ------------------------------------------------------------------

function touch(c) { c.ver = ++verSeq; }

function upsert(id, fields) {
  let c = calls.get(id);
  if (!c) {
    c = { id, events: [], hold: false, muted: false, ver: 0, state: "down", tags: [] };
    calls.set(id, c);
    orderDirty = true;
  }
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) c[k] = v;
  touch(c);
  return c;
}

function addEvent(c, e) {
  const evs = c.events;
  if (e.seq && evs.some((x) => x.seq === e.seq && x.type === e.type)) return; // a replay
  evs.push(e);
  if (evs.length > 1 && evs[evs.length - 2].seq > e.seq) evs.sort((a, b) => (a.seq || 0) - (b.seq || 0));
  if (evs.length > MAX_TIMELINE) evs.splice(0, evs.length - MAX_TIMELINE);
}

function applyEvent(e) {
  const type = e.type || "";
  if (type.startsWith("node.")) { scheduleNodes(); return; }
  if (type === "device_state.changed") { deviceChanged(e); return; }
  if (!type.startsWith("call.") || !e.call_id) return;
  const id = e.call_id;
  if (ended.has(id) && type !== "call.hangup") { addEvent(ended.get(id), e); return; }
  const d = e.data || {};
  const base = { node: e.node, tenant: e.tenant, tags: e.tags, seen: e.time };
  let c;
  switch (type) {
    case "call.created":
      c = upsert(id, { ...base, state: d.state, direction: d.direction, from: d.from, to: d.to,
        created_at: d.created_at || e.time, answered_at: d.answered_at, channel: d.channel });
      break;
    case "call.ringing": c = upsert(id, { ...base, state: "ringing" }); break;
    case "call.answered": c = upsert(id, { ...base, state: "up", answered_at: d.answered_at || e.time }); break;
    case "call.hold": c = upsert(id, { ...base, hold: true }); break;
    case "call.unhold": c = upsert(id, { ...base, hold: false }); break;
    case "call.bridged": c = upsert(id, { ...base, bridge_id: d.bridge_id }); break;
    case "call.unbridged": c = upsert(id, { ...base, bridge_id: "" }); break;
    case "call.hangup": {
      c = calls.get(id) || ended.get(id) || { id, events: [], tags: [] };
      Object.assign(c, base, { state: "ended", hangup: d.hangup || d, ended_at: e.time });
      addEvent(c, e);
      touch(c);
      endCall(c);
      scheduleRecords();
      return;
    }
    default: c = upsert(id, base);
  }
  if (!c.created_at) c.created_at = e.time;
  addEvent(c, e);
}

function endCall(c) {
  delete stats.renderedAt[c.id];
  if (calls.delete(c.id)) orderDirty = true;
  ended.set(c.id, c);
  if (ended.size > MAX_ENDED) ended.delete(ended.keys().next().value);
}

// ingest is where every event enters, from the stream or from inject().
function ingest(e, at) {
  stats.events++;
  applyEvent(e);
  pending.push(at);
  schedule();
}

// ---- rendering -------------------------------------------------------------

let order = [];
const grid = new Grid($("calls-grid"), $("calls-spacer"), {
  rowHeight: ROW_HEIGHT, columns: 8, schedule,
  cells: (c) => [stateText(c), c.node || "", c.tenant || "", c.to || "", c.from || "", dirText(c.direction),
    (c.tags || []).join(" "), age(c.created_at)],
  label: (c) => `${stateText(c)} call on ${c.node}, to ${c.to || "?"} from ${c.from || "?"}, ${age(c.created_at)}`,
  cls: (c) => "st-" + (c.state || "down") + (c.hold ? " held" : ""),
  onOpen: (id) => select(id),
  onDelete: (id) => hangup(id),
});

function dirText(d) { return d === "outbound" ? "out" : d === "inbound" ? "in" : d || ""; }

function stateText(c) { return (c.state || "?") + (c.hold ? " · held" : "") + (c.muted ? " · muted" : ""); }

function age(t) {
  if (!t) return "";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000));
  return s < 60 ? s + " s" : s < 3600 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

function matches(c) {
  if (filters.node && c.node !== filters.node) return false;
  if (filters.state && c.state !== filters.state) return false;
  if (filters.tag && !(c.tags || []).includes(filters.tag)) return false;
  if (filters.number) {
    const n = filters.number.toLowerCase();
    if (!((c.to || "").toLowerCase().includes(n) || (c.from || "").toLowerCase().includes(n) || c.id.includes(n))) return false;
  }
  return true;
}

function schedule() {
  if (!frame) frame = requestAnimationFrame(render);
}

function render() {
  frame = 0;
  const t0 = performance.now();
  // Membership and order change with calls coming and going and with
  // filters; a state change may move a call in or out of a state filter.
  if (orderDirty || filters.state || filters.tag) {
    const list = [];
    for (const c of calls.values()) if (matches(c)) list.push(c);
    list.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : -1));
    order = list.map((c) => c.id);
    grid.setItems(order, (id) => calls.get(id));
    orderDirty = false;
    nodesDirty = true; // the per-node counts of this page's calls
    $("calls-count").textContent = `(${calls.size}${order.length !== calls.size ? ", " + order.length + " shown" : ""})`;
  }
  grid.selected = selected;
  grid.render();
  if (detailDirty) renderDetail();
  if (nodesDirty) renderNodes();
  if (recordsDirty) renderRecords();
  if (devicesDirty) renderDevices();
  const t1 = performance.now();
  for (const id of order.slice(0, 50)) if (!(id in stats.renderedAt) && grid.has(id)) stats.renderedAt[id] = Date.now();
  for (const at of pending) stats.latencies.push(t1 - at);
  if (stats.latencies.length > 20000) stats.latencies.splice(0, 10000);
  stats.renders.push(t1 - t0);
  if (stats.renders.length > 5000) stats.renders.splice(0, 2500);
  if (pending.length) lastLatency = t1 - pending[0];
  pending = [];
}

let lastLatency = 0;
setInterval(() => {
  // the age column, and the figures in the footer
  grid.refresh();
  if (selected) detailDirty = true;
  if (stream && $("conn").dataset.state === "reconnecting") $("conn-text").textContent = stream.downText();
  const r = stats.renders.slice(-60);
  const worst = r.length ? Math.max(...r) : 0;
  $("perf").textContent = `${calls.size} live · ${stats.events} events · last update ${lastLatency.toFixed(1)} ms · slowest recent render ${worst.toFixed(1)} ms`;
  schedule();
}, 1000);

// ---- detail and timeline ---------------------------------------------------

let detailDirty = false;

function select(id) {
  selected = id;
  detailDirty = true;
  grid.refresh();
  schedule();
}

function current() { return calls.get(selected) || ended.get(selected) || records.find((r) => r.id === selected); }

function renderDetail() {
  detailDirty = false;
  const c = current();
  $("detail-empty").hidden = !!c;
  $("detail-body").hidden = !c;
  if (!c) return;
  const dl = $("detail-fields");
  const rows = [["id", c.id], ["state", stateText(c)], ["node", c.node], ["tenant", c.tenant], ["to", c.to], ["from", c.from],
    ["direction", c.direction], ["tags", (c.tags || []).join(", ")], ["created", fmtTime(c.created_at)],
    ["answered", fmtTime(c.answered_at)], ["bridge", c.bridge_id]];
  if (c.state === "ended") {
    const h = c.hangup || {};
    rows.push(["ended", fmtTime(c.ended_at)], ["outcome", [h.cause_text, h.dial_status].filter(Boolean).join(" · ")],
      ["reason", c.end_reason || h.reason]);
  }
  dl.replaceChildren(...rows.filter(([, v]) => v).flatMap(([k, v]) => [el("dt", k), el("dd", String(v))]));
  const live = calls.has(c.id);
  for (const b of document.querySelectorAll("#detail-body button, #detail-body input")) b.disabled = !live;
  const ol = $("timeline");
  const evs = (c.events || []).slice().sort((a, b) => (a.seq || 0) - (b.seq || 0));
  if (!evs.length) { ol.replaceChildren(el("li", "no events seen by this page for this call", "muted")); return; }
  ol.replaceChildren(...evs.map((e) => {
    const li = el("li", "");
    li.append(el("span", "#" + (e.seq || "–"), "seq"), el("span", fmtTime(e.time, true), "time"), el("span", e.type, "type"),
      el("span", summary(e), "data"));
    return li;
  }));
}

function summary(e) {
  const d = e.data || {};
  switch (e.type) {
    case "call.created": return [d.direction, d.to && "to " + d.to, d.from && "from " + d.from].filter(Boolean).join(" ");
    case "call.hangup": return [d.cause_text || (d.hangup && d.hangup.cause_text), d.reason].filter(Boolean).join(" · ");
    case "call.dtmf": return "digit " + d.digit;
    case "call.bridged": case "call.unbridged": return "bridge " + (d.bridge_id || "");
    case "call.playback.started": case "call.playback.finished": return (d.media || []).join?.(" ") || String(d.media || "");
    default: return "";
  }
}

function el(tag, text, cls) {
  const x = document.createElement(tag);
  if (text) x.textContent = text;
  if (cls) x.className = cls;
  return x;
}

function fmtTime(t, ms) {
  if (!t) return "";
  const d = new Date(t);
  return ms ? d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0")
    : d.toLocaleString([], { hour12: false });
}

// ---- nodes -----------------------------------------------------------------

let nodesDirty = false;
let nodesTimer = 0;

function scheduleNodes() {
  clearTimeout(nodesTimer);
  nodesTimer = setTimeout(loadNodes, 300);
}

async function loadNodes() {
  try {
    nodes = (await api.request("GET", "v1/nodes")).nodes || [];
  } catch (err) {
    if (err.code === "forbidden") nodes = null; else return;
  }
  nodesDirty = true;
  const opts = (nodes || []).map((n) => n.node);
  for (const sel of [$("f-node"), $("o-node")]) {
    const keep = sel.value;
    const first = sel.options[0];
    sel.replaceChildren(first, ...opts.map((id) => { const o = el("option", id); o.value = id; return o; }));
    sel.value = opts.includes(keep) ? keep : "";
  }
  schedule();
}

function renderNodes() {
  nodesDirty = false;
  const body = $("nodes-body");
  if (nodes === null) { body.replaceChildren(row(["this token lacks nodes:read"], 7)); return; }
  if (!nodes.length) { body.replaceChildren(row(["no node is known to this gateway yet"], 7)); return; }
  const mine = new Map();
  for (const c of calls.values()) mine.set(c.node, (mine.get(c.node) || 0) + 1);
  body.replaceChildren(...nodes.map((n) => {
    const tr = row([n.node, n.state + (n.healthy === false ? " (unhealthy" + (n.reason ? ": " + n.reason : "") + ")" : ""),
      n.asterisk_version || "", String(mine.get(n.node) || 0), n.calls === undefined ? "–" : String(n.calls),
      n.capacity ? String(n.capacity) : "–", fmtTime(n.last_seen, true)]);
    tr.className = "node-" + n.state;
    return tr;
  }));
}

function row(cells, span) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = el("td", c);
    if (span) td.colSpan = span;
    tr.appendChild(td);
  }
  return tr;
}

// ---- records ---------------------------------------------------------------

let recordsDirty = false;
let recordsTimer = 0;

function scheduleRecords() {
  clearTimeout(recordsTimer);
  recordsTimer = setTimeout(loadRecords, 1000);
}

async function loadRecords() {
  try {
    const list = (await api.request("GET", "v1/calls?state=ended" + (adminAll() ? "&tenant=*" : ""))).calls || [];
    records = list.slice(-MAX_RECORDS).reverse();
    recordsDirty = true;
    schedule();
  } catch (err) {
    toast("call records: " + err.message);
  }
}

function renderRecords() {
  recordsDirty = false;
  $("records-count").textContent = `(${records.length}${records.length === MAX_RECORDS ? ", the latest" : ""})`;
  $("records-body").replaceChildren(...records.map((r) => {
    const h = r.hangup || {};
    const tr = row([fmtTime(r.ended_at, true), r.node, r.tenant || "", r.to || "", r.from || "", [h.cause_text, h.dial_status].filter(Boolean).join(" · "),
      r.end_reason || "", r.talk_ms !== undefined ? (r.talk_ms / 1000).toFixed(1) + " s" : "–", (r.tags || []).join(" ")]);
    tr.tabIndex = 0;
    tr.dataset.id = r.id;
    tr.setAttribute("aria-label", `ended call to ${r.to}: ${h.cause_text || ""}; Enter shows it`);
    return tr;
  }));
}

$("records-body").addEventListener("click", (ev) => { const tr = ev.target.closest("tr[data-id]"); if (tr) openRecord(tr.dataset.id); });
$("records-body").addEventListener("keydown", (ev) => {
  const tr = ev.target.closest("tr[data-id]");
  if (!tr) return;
  if (ev.key === "Enter") openRecord(tr.dataset.id);
  if (ev.key === "ArrowDown" && tr.nextElementSibling) { tr.nextElementSibling.focus(); ev.preventDefault(); }
  if (ev.key === "ArrowUp" && tr.previousElementSibling) { tr.previousElementSibling.focus(); ev.preventDefault(); }
});

function openRecord(id) {
  const r = records.find((x) => x.id === id);
  if (r && ended.has(id)) Object.assign(ended.get(id), { ...r, events: ended.get(id).events });
  select(id);
}

// ---- device states ---------------------------------------------------------
// GET /v1/device-states once (and after a resynchronisation), then
// device_state.changed events from the stream: no polling. A deleted
// device comes as UNKNOWN and leaves the list. Presence has no API
// (Asterisk's ARI has none).

const devices = new Map(); // name@node -> {name, node, state}
let devicesDirty = false;
let devicesNote = "";

const devKey = (d) => d.name + "@" + (d.node || "");
const devPath = (name) => "v1/device-states/" + encodeURIComponent(name).replace(/%3A/gi, ":");

async function loadDevices() {
  try {
    const list = (await api.request("GET", "v1/device-states")).device_states || [];
    devices.clear();
    for (const d of list) devices.set(devKey(d), d);
    devicesNote = "";
  } catch (err) {
    devices.clear();
    devicesNote = err.code === "forbidden" ? "this token lacks calls:read" : "device states: " + err.message;
  }
  devicesDirty = true;
  schedule();
}

function deviceChanged(e) {
  const d = { ...(e.data || {}) };
  if (!d.name) return;
  d.node = d.node || e.node;
  if (d.state === "UNKNOWN") devices.delete(devKey(d)); else devices.set(devKey(d), d);
  devicesDirty = true;
}

function renderDevices() {
  devicesDirty = false;
  const list = [...devices.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.node < b.node ? -1 : 1));
  $("dev-count").textContent = `(${list.length})`;
  const body = $("dev-body");
  if (devicesNote || !list.length) { body.replaceChildren(row([devicesNote || "no device states"], 4)); return; }
  body.replaceChildren(...list.map((d) => {
    const tr = row([d.name, d.state, d.node || ""]);
    tr.dataset.device = devKey(d);
    tr.cells[0].title = d.name;
    tr.className = "dev-" + d.state;
    const td = el("td", "");
    if (d.name.startsWith("Stasis:")) { // only custom devices can be changed
      const b = el("button", "Delete", "danger");
      b.type = "button";
      b.dataset.name = d.name;
      b.dataset.node = d.node || "";
      b.setAttribute("aria-label", `Delete device state ${d.name} on ${d.node}`);
      td.appendChild(b);
    }
    tr.appendChild(td);
    return tr;
  }));
  const names = [...new Set(list.filter((d) => d.name.startsWith("Stasis:")).map((d) => d.name))];
  $("dev-names").replaceChildren(...names.map((n) => { const o = el("option"); o.value = n; return o; }));
}

$("dev-body").addEventListener("click", async (ev) => {
  const b = ev.target.closest("button[data-name]");
  if (!b) return;
  const { name, node } = b.dataset;
  if (!(await confirmDialog(`Delete the device state ${name} on ${node}?`, "Delete"))) return;
  act("delete device state", () => api.request("DELETE", devPath(name) + (node ? "?node=" + encodeURIComponent(node) : "")));
});

$("dev-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const name = $("dev-name").value.trim();
  const state = $("dev-state").value;
  if (name) act("set device state", () => api.request("PUT", devPath(name), { state }));
});

// ---- snapshot --------------------------------------------------------------

async function loadCalls(resync) {
  const started = new Date().toISOString();
  let list;
  try {
    list = await api.request("GET", "v1/calls" + (adminAll() ? "?tenant=*" : ""));
  } catch (err) {
    toast("calls: " + err.message);
    return;
  }
  const seen = new Set();
  for (const c of list.calls || []) {
    seen.add(c.id);
    if (ended.has(c.id)) continue; // its hangup came on the stream meanwhile
    const prev = calls.get(c.id);
    upsert(c.id, { ...c, events: prev ? prev.events : [] });
  }
  if (resync) {
    // Calls the snapshot no longer has and that saw nothing since it was
    // asked for ended while the stream was away.
    for (const c of [...calls.values()]) {
      if (!seen.has(c.id) && (c.seen || c.created_at || "") < started) {
        c.state = "ended";
        endCall(c);
      }
    }
  }
  const missing = list.missing_nodes || [];
  $("calls-note").textContent = missing.length ? `Nodes ${missing.join(", ")} did not answer: the list may lack their calls.` : "";
  orderDirty = true;
  schedule();
}

// ---- control ---------------------------------------------------------------

function confirmDialog(text, ok) {
  const d = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  return new Promise((resolve) => {
    d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true });
    d.returnValue = "";
    d.showModal();
    $("confirm-cancel").focus();
  });
}

async function act(what, f) {
  try {
    await f();
    announce(what + ": done");
  } catch (err) {
    toast(`${what}: ${err.message}${err.code ? " (" + err.code + ")" : ""}`);
  }
}

async function hangup(id) {
  const c = calls.get(id);
  if (!c) return;
  if (!(await confirmDialog(`Hang up the call to ${c.to || c.id} on ${c.node}?`, "Hang up"))) return;
  await act("hang up", () => api.request("DELETE", callURL(id)));
}

// callURL is the API path of a call (and suffix): with all tenants on, it
// names the call's tenant, which lets an admin token act on any tenant's
// call (the API's tenant query on the routes on one call).
function callURL(id, suffix = "") {
  const c = calls.get(id);
  const q = adminAll() && c && c.tenant ? "?tenant=" + encodeURIComponent(c.tenant) : "";
  return api.callPath(id) + suffix + q;
}

const actions = {
  hangup: (id) => hangup(id),
  hold: (id) => act("hold", () => api.request("POST", callURL(id, "/hold"))),
  unhold: (id) => act("unhold", () => api.request("POST", callURL(id, "/unhold"))),
  mute: (id) => act("mute", async () => { await api.request("POST", callURL(id, "/mute"), { direction: "both" }); mark(id, true); }),
  unmute: (id) => act("unmute", async () => { await api.request("POST", callURL(id, "/unmute"), { direction: "both" }); mark(id, false); }),
};

function mark(id, muted) {
  const c = calls.get(id);
  if (c) { c.muted = muted; touch(c); detailDirty = true; schedule(); }
}

document.querySelector("#detail-body .actions").addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-act]");
  if (b && selected) actions[b.dataset.act](selected);
});

$("play-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const media = $("play-media").value.trim();
  if (selected && media) act("play", () => api.request("POST", callURL(selected, "/play"), { media: [media] }));
});

$("redirect-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const endpoint = $("redirect-endpoint").value.trim();
  const id = selected;
  if (!id || !endpoint) return;
  if (!(await confirmDialog(`Transfer the call to ${endpoint}? It leaves callgw's control.`, "Transfer"))) return;
  act("blind transfer", () => api.request("POST", callURL(id, "/redirect"), { endpoint }));
});

$("bridge-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const other = $("bridge-with").value.trim();
  if (selected && other) act("bridge", () => api.request("POST", "v1/bridges", { calls: [selected, other] }));
});

$("originate-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = { to: $("o-to").value.trim() };
  if ($("o-from").value.trim()) body.from = $("o-from").value.trim();
  if ($("o-node").value) body.node = $("o-node").value;
  const tags = $("o-tags").value.split(/[\s,]+/).filter(Boolean);
  if (tags.length) body.tags = tags;
  act("originate", async () => {
    const c = await api.request("POST", "v1/calls", body, { "Idempotency-Key": crypto.randomUUID() });
    if (c && c.id) { announce("call " + c.id + " placed"); select(c.id); }
  });
});

// ---- filters and keys ------------------------------------------------------

for (const [id, key] of [["f-node", "node"], ["f-state", "state"], ["f-tag", "tag"], ["f-number", "number"]]) {
  $(id).addEventListener("input", () => { filters[key] = $(id).value.trim(); orderDirty = true; schedule(); });
}
$("filters").addEventListener("submit", (ev) => ev.preventDefault());

document.addEventListener("keydown", (ev) => {
  if (ev.target.closest("input, textarea, select, dialog")) {
    if (ev.key === "Escape" && ev.target.id === "f-number") { ev.target.value = ""; filters.number = ""; orderDirty = true; schedule(); }
    return;
  }
  if (ev.key === "/") { ev.preventDefault(); $("f-number").focus(); }
  if (ev.key === "g") { ev.preventDefault(); $("calls-grid").focus(); }
  if (ev.key === "o") { ev.preventDefault(); $("o-to").focus(); }
  if (ev.key === "Escape" && selected) { select(""); $("calls-grid").focus(); }
});

// live ids for the bridge field
setInterval(() => {
  if (!selected) return;
  const dl = $("live-ids");
  const ids = [...calls.keys()].filter((id) => id !== selected).slice(0, 50);
  if (dl.childElementCount !== ids.length) dl.replaceChildren(...ids.map((id) => { const o = el("option"); o.value = id; return o; }));
}, 2000);

// ---- messages --------------------------------------------------------------

function announce(text) { $("announce").textContent = text; }

let toastTimer = 0;
function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 8000);
}

function setConn(state, text) {
  const c = $("conn");
  c.dataset.state = state;
  $("conn-text").textContent = text;
}

// ---- session ---------------------------------------------------------------

function adminAll() { return $("all-tenants").checked; }

function hasScope(s) {
  const cl = api.claims();
  if (api.token() === "dev") return true;
  const scopes = (cl.scope || "").split(" ");
  return scopes.includes(s) || scopes.includes("admin");
}

function startStream() {
  if (stream) stream.stop();
  stream = new Stream({ tenant: adminAll() ? "*" : "" }, {
    event: ingest,
    status: setConn,
    gap: () => { loadCalls(true); loadRecords(); loadNodes(); loadDevices(); },
    // The browser gave up on the stream (an HTTP error): if the token is
    // no longer accepted, this request's 401 signs out.
    closed: () => { api.request("GET", "v1/calls?limit=1").catch(() => {}); },
    fatal: (code, msg) => { toast("event stream ended: " + msg); if (code === "revoked" || code === "token_expired") signOut(msg); },
  });
  stream.start();
}

function showApp() {
  $("signin-view").hidden = true;
  $("app-view").hidden = false;
  $("who").hidden = false;
  const cl = api.claims();
  const dev = api.token() === "dev";
  $("who-text").textContent = dev ? "development gateway (no auth)" : `${cl.sub || "token"} · tenant ${cl.tenant || "?"}`;
  $("all-tenants-label").hidden = !(dev || hasScope("admin"));
  calls.clear();
  ended.clear();
  orderDirty = true;
  startStream(); // the stream first, then the snapshot: nothing falls between
  loadCalls(false);
  loadNodes();
  loadRecords();
  loadDevices();
  $("calls-grid").focus();
}

function signOut(why) {
  if (stream) stream.stop();
  stream = null;
  api.setToken("");
  setConn("off", "not connected");
  $("app-view").hidden = true;
  $("who").hidden = true;
  $("signin-view").hidden = false;
  $("signin-error").textContent = why || "";
  $("client-id").focus();
}

api.setOnUnauthorized(() => signOut("the gateway refused the token: sign in again"));

$("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("signin-error").textContent = "";
  try {
    api.setToken(await api.signIn($("client-id").value.trim(), $("client-secret").value));
    $("client-secret").value = "";
    showApp();
  } catch (err) {
    $("signin-error").textContent = "Sign-in refused: " + err.message;
  }
});

$("token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = $("token-input").value.trim().replace(/^Bearer\s+/i, "");
  if (!t) return;
  api.setToken(t);
  $("token-input").value = "";
  showApp();
});

$("sign-out").addEventListener("click", () => signOut(""));
$("all-tenants").addEventListener("change", () => { calls.clear(); orderDirty = true; startStream(); loadCalls(false); loadRecords(); loadDevices(); });
$("records-refresh").addEventListener("click", loadRecords);
setInterval(() => { if (stream) loadNodes(); }, 5000); // heartbeats (versions, node-wide counts) are not events

if (api.token()) showApp(); else signOut("");

// ---- for tests and the curious: the figures, and a way to feed events ----

window.__console = {
  stats,
  errors,
  calls,
  inject(events) { const at = performance.now(); for (const e of events) ingest(e, at); },
  rendered: (id) => grid.has(id),
  dropStream: (ms) => stream && stream.blip(ms),
  order: () => order,
  devices,
};
