// The Clients pane: each client's operations as bars from invocation to
// response, one lane per client, as Porcupine draws a history; whether the
// history is linearizable, with the operations that no order explains
// outlined; and the controls for simulated clients and single requests.
//
// The axis keeps the order of every call and answer but not their distances
// (as Porcupine's): each bar is wide enough for its label, so a read answered
// at once at a deposed leader is as readable as a slow write. What the order
// shows is what linearizability is about: an operation answered before
// another began comes first in every order.
//
// The pane draws only while it is shown, and only when the operations, the
// verdict, its size or the text size changed.
import { $, el, svg, clear, serverName } from "./dom.js";

const GAP = 10;                 // px between two successive calls or answers on the axis
const MAX_STRETCH = 2.5;        // a short history is spread out at most this much
const LABEL_CHARS = 16;         // characters of a value shown in a label (the rest in its tooltip)

const short = (v) => {
  const s = String(v);
  return s.length > LABEL_CHARS ? `${s.slice(0, LABEL_CHARS - 1)}…` : s;
};
const definite = (op) => op.status === "ok" && op.returned !== null;
const clientName = (c) => (c === null || c === undefined ? "anon." : `c${c}`);
const fmt = (t) => `${Number(t).toFixed(t >= 100 ? 0 : 1)} ms`;

/** What a bar says: the command written, or the key read and what it saw. */
export function opLabel(op) {
  const retried = op.attempts > 1 ? ` ↻${op.attempts}` : "";
  if (op.kind === "read") {
    const seen = op.status === "ok" ? ` → ${op.result === null ? "nil" : short(op.result)}` : " …";
    return `${op.status === "failed" ? "✗ " : ""}read ${op.key}${seen}${retried}`;
  }
  const verb = op.op || "SET";
  const what = verb === "INCR" || verb === "DEL" ? `${verb} ${op.key}` : `${verb} ${op.key} ${short(op.value ?? "")}`;
  const reply = op.status === "ok" && verb === "INCR" && op.result !== null ? ` → ${short(op.result)}` : "";
  return `${op.status === "failed" ? "✗ " : ""}${what}${reply}${op.status === "pending" ? " …" : ""}${retried}`;
}

/** The whole story of an operation, for its tooltip. */
export function opTitle(op) {
  const who = op.client === null ? "An anonymous client" : `Client ${op.client}`;
  const what = op.kind === "read" ? `reads ${op.key}` : `writes “${op.command}”`;
  const seq = op.seq !== null && op.seq !== undefined ? `, its request ${op.seq}` : "";
  const at = op.server ? ` at ${serverName(op.server)}` : "";
  const tries = op.attempts > 1 ? ` after ${op.attempts} attempts` : "";
  const outcome = op.status === "ok"
    ? `answered at ${fmt(op.returned)}${tries}${op.kind === "read" ? `: it saw “${op.result ?? "nothing"}”` : op.result !== null ? `: “${op.result}”` : ""}`
    : op.status === "pending" ? "no answer yet"
      : `given up or refused at ${fmt(op.returned)}${tries}: the client cannot know whether it took effect`;
  return `${who} ${what} (operation ${op.id}${seq})${at}: called at ${fmt(op.invoked)}, ${outcome}.`;
}

/**
 * Where each operation's bar lies, on an axis that keeps the order of calls
 * and answers (at one instant calls come first: operations that touch
 * overlap), and in which row. Each client has a row, or more when its own
 * operations overlap (a pending request and a new one). A label stands above
 * its bar, from the bar's start, `widthOf(op)` wide; the next operation in
 * the same row starts after it. Pending operations run to the right end.
 * Returns {start, end: Map id -> x, row: Map id -> [client, k], rows: Map
 * client -> count, right, events: [{t, x}]}.
 */
export function layoutOps(ops, widthOf, { gap = GAP, minBar = 14 } = {}) {
  const events = [];
  for (const op of ops) {
    events.push({ t: op.invoked, call: true, op });
    if (op.returned !== null && op.status !== "pending") events.push({ t: op.returned, call: false, op });
  }
  events.sort((a, b) => a.t - b.t || (a.call === b.call ? a.op.id - b.op.id : a.call ? -1 : 1));
  const start = new Map(), end = new Map(), row = new Map(), rows = new Map();
  const free = new Map();                  // "client/k" -> {x where the row is free, op still open in it}
  let x = -gap;
  for (const e of events) {
    const op = e.op;
    x += gap;
    if (e.call) {
      // The first row of this client with nothing open in it.
      let k = 0;
      while (free.get(`${op.client}/${k}`)?.open) k++;
      const slot = free.get(`${op.client}/${k}`);
      x = Math.max(x, slot ? slot.x : 0);
      rows.set(op.client, Math.max(rows.get(op.client) || 0, k + 1));
      row.set(op.id, [op.client, k]);
      start.set(op.id, x);
      free.set(`${op.client}/${k}`, { x: x + widthOf(op) + gap, open: true });
    } else {
      x = Math.max(x, start.get(op.id) + minBar);
      end.set(op.id, x);
      const slot = free.get(`${op.client}/${row.get(op.id)[1]}`);
      slot.open = false;
      slot.x = Math.max(slot.x, x + gap);
    }
    e.x = x;
  }
  let right = Math.max(0, x);
  for (const op of ops) right = Math.max(right, start.get(op.id) + widthOf(op));
  for (const op of ops) if (!end.has(op.id)) end.set(op.id, right + gap);
  return { start, end, row, rows, right: right + gap, events };
}

export class ClientsPanel {
  constructor(model, send, { isShown, toast, catalogue }) {
    this.model = model;
    this.send = send;
    this.isShown = isShown;
    this.toast = toast;
    this.catalogue = catalogue;
    this.view = "latest";                 // or "violation": only the operations no order explains
    this.badKey = null;                   // the verdict last seen not linearizable
    this.chart = $("#history-chart");
    this.ctx = document.createElement("canvas").getContext("2d");
    this.widths = new Map();
    this.size = 0;
    new ResizeObserver(() => {
      const w = Math.round(this.chart.clientWidth);
      if (w && w !== this.size) { this.size = w; this.render(); }
    }).observe(this.chart);
    new MutationObserver(() => {
      if (this.presenter !== document.body.classList.contains("presenter")) this.render();
    }).observe(document.body, { attributes: true, attributeFilter: ["class"] });
    this.wire();
  }

  wire() {
    const ranges = Object.fromEntries((this.catalogue?.actions.find((a) => a.type === "clients")?.fields || [])
      .map((f) => [f.name, f.range]));
    const limit = (id, range, scale = 1) => {
      if (range) Object.assign($(id), { min: range[0] * scale, max: range[1] * scale });
    };
    limit("#clients-n", ranges.n);
    limit("#clients-rate", ranges.rate);
    limit("#clients-keys", ranges.keys);
    limit("#clients-timeout", ranges.timeout);
    $("#clients-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const num = (id) => Number($(id).value);
      this.send({ type: "clients", n: num("#clients-n"), rate: num("#clients-rate"), keys: num("#clients-keys"),
        read_ratio: num("#clients-reads") / 100, timeout: num("#clients-timeout") });
    });
    $("#clients-stop").addEventListener("click", () => this.send({ type: "stop_clients" }));
    $("#read-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const action = { type: "read", key: $("#read-key").value.trim() };
      if ($("#read-node").value) action.node = Number($("#read-node").value);
      if ($("#read-client").value !== "") action.client = Number($("#read-client").value);
      this.send(action);
    });
    $("#write-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const action = { type: "submit", command: $("#write-command").value };
      if ($("#write-node").value) action.node = Number($("#write-node").value);
      if ($("#write-client").value !== "") action.client = Number($("#write-client").value);
      if ($("#write-seq").value !== "") action.seq = Number($("#write-seq").value);
      this.send(action).then((ack) => {
        if (ack.ok && ack.index === null && ack.note) this.toast(ack.note, "info");
      });
    });
    $("#check-linearizable").addEventListener("click", () => this.send({ type: "check_linearizable" }));
  }

  // ----- reflecting the model ----------------------------------------------------------
  update(changed) {
    if (!changed || changed.clients || changed.grew) this.render();
  }

  render() {
    if (!this.isShown()) { this.stale = true; return; }
    this.stale = false;
    if (!this.shownOnce) {
      // On the projector the chart gets the height: the controls fold away until asked for.
      this.shownOnce = true;
      if (document.body.classList.contains("presenter")) $("#clients-controls").open = false;
    }
    this.servers();
    this.verdict();
    this.running();
    this.draw();
  }

  /** The server lists of the read and write forms: the leader, or a given server. */
  servers() {
    const ids = [...this.model.nodes.keys()].sort((a, b) => a - b);
    const key = ids.join();
    if (key === this.serversKey) return;
    this.serversKey = key;
    for (const id of ["#read-node", "#write-node"]) {
      const select = $(id);
      const keep = select.value;
      clear(select).append(el("option", { value: "", text: "leader" }),
        ...ids.map((i) => el("option", { value: i, text: serverName(i) })));
      select.value = ids.includes(Number(keep)) ? keep : "";
    }
  }

  verdict() {
    const h = this.model.clients;
    const v = h.verdict;
    const box = $("#verdict");
    const key = JSON.stringify([v, h.total]);
    if (key === this.verdictKey) return;
    this.verdictKey = key;
    clear(box);
    box.className = `verdict ${v === null ? "none" : v.ok === true ? "good" : v.ok === false ? "bad" : "none"}`;
    const newer = v && h.total > v.checked ? ` (${h.total - v.checked} newer not checked yet)` : "";
    if (!h.total) {
      box.append(el("p", { class: "hint", text: this.model.lookOnly()
        ? "No client operations yet: the lecturer has not started any clients."
        : "No client operations yet. Start simulated clients below, or send a read or a write with a client id." }));
    } else if (!v) {
      box.append(el("p", { class: "hint", text: `${h.total} operation${h.total === 1 ? "" : "s"}, not checked yet.` }));
    } else if (v.ok === null) {
      box.append(el("p", {}, el("strong", { text: "Not checked. " }), v.reason));
    } else if (v.ok) {
      box.append(el("p", { title: "There is an order of the operations, each taking effect between its call and its answer, " +
        "in which a single key-value store gives every one the answer it got." },
      el("strong", { class: "word", text: "✓ Linearizable" }),
      ` — all ${v.checked} operation${v.checked === 1 ? "" : "s"} checked${newer}.`));
    } else {
      box.append(el("p", {}, el("strong", { class: "word", text: "✗ Not linearizable: " }), v.explanation),
        el("p", { class: "hint", text: `The ${v.operations.length} operations outlined in red are the fewest that no order explains${newer}.` }));
    }
    // A verdict that has just turned bad shows its operations; the user may go back to the latest.
    const bad = v && v.ok === false ? JSON.stringify(v.operations) : null;
    if (bad !== this.badKey) {
      this.badKey = bad;
      this.view = bad ? "violation" : "latest";
    }
    const views = clear($("#history-views"));
    if (bad) {
      for (const [name, text] of [["violation", "The culprits"], ["latest", "The latest"]]) {
        views.append(el("button", { type: "button", "aria-pressed": String(this.view === name), text,
          onclick: () => { this.view = name; this.verdictKey = null; this.render(); } }));
      }
    }
    $("#check-linearizable").disabled = !h.total;
  }

  running() {
    const h = this.model.clients;
    const r = h.running;
    const c = h.counts;
    const ops = h.total ? ` ${h.total} operation${h.total === 1 ? "" : "s"} so far: ${c.ok} answered, ${c.pending} pending, ${c.failed} failed or refused.` : "";
    const ids = r ? r.clients : [];
    const who = !r ? "No simulated clients run." : `${ids.length} simulated client${ids.length === 1 ? "" : "s"} (${ids.length > 2 ? `c${ids[0]}–c${ids.at(-1)}` : ids.map(clientName).join(", ")}) run: ` +
      `${r.rate} operations a second each, ${Math.round(r.read_ratio * 100)} % reads, on ${r.keys.join(", ")}, retrying after ${r.timeout} ms without an answer.`;
    $("#clients-running").textContent = who + ops;
    $("#clients-stop").disabled = !r;
  }

  measure(text, px) {
    const k = `${px}|${text}`;
    let w = this.widths.get(k);
    if (w === undefined) {
      if (this.widths.size > 3000) this.widths.clear();
      this.ctx.font = `600 ${px}px ${this.font}`;
      w = this.ctx.measureText(text).width;
      this.widths.set(k, w);
    }
    return w;
  }

  /** The operations to draw: the verdict's, or the latest that fit the width. */
  pick(room, widthOf) {
    const h = this.model.clients;
    const v = h.verdict;
    if (this.view === "violation" && v && v.ok === false) {
      const ops = v.ops.slice().sort((a, b) => a.id - b.id);
      return { ops, layout: layoutOps(ops, widthOf) };
    }
    const all = [...h.ops.values()].sort((a, b) => a.id - b.id);
    // The longest run of the latest operations whose bars all fit (at least one).
    let lo = 1, hi = all.length, best = null;
    while (lo <= hi) {
      const k = (lo + hi) >> 1;
      const layout = layoutOps(all.slice(-k), widthOf);
      if (layout.right <= room || k === 1) { best = { ops: all.slice(-k), layout }; lo = k + 1; } else hi = k - 1;
    }
    return best || { ops: [], layout: layoutOps([], widthOf) };
  }

  draw() {
    const box = this.chart;
    const presenter = document.body.classList.contains("presenter");
    this.presenter = presenter;
    if (!box.clientWidth) return;
    this.font = getComputedStyle(box).fontFamily;
    // Text of 13 px (18 on the projector), a little more where the chart is wide (a large screen).
    const f = (presenter ? 18 : 13) + (box.clientWidth >= 640 ? 2 : 0);
    const labelH = Math.round(f * 1.3), barH = Math.max(8, Math.round(f * 0.62)), laneH = labelH + barH + 7, pad = 8;
    const h = this.model.clients;
    const v = h.verdict;
    const flagged = new Set(v && v.ok === false ? v.operations : []);
    const clientsOf = (ops) => [...new Set(ops.map((op) => op.client))].sort((a, b) => (a ?? 1e9) - (b ?? 1e9));
    const names = clientsOf([...h.ops.values()]).map(clientName).concat("anon.");
    const nameW = Math.ceil(Math.max(...names.map((n) => this.measure(n, f)))) + 10;
    const room = box.clientWidth - nameW - 2 * pad - 2;
    const widthOf = (op) => Math.ceil(this.measure(opLabel(op), f)) + 6;
    const { ops, layout } = this.pick(room, widthOf);
    const key = JSON.stringify([presenter, box.clientWidth, this.view, ops, [...flagged]]);
    if (key === this.drawnKey) return;
    this.drawnKey = key;
    clear(box);
    if (!ops.length) {
      box.append(el("p", { class: "hint empty", text: "The operations of the clients will show here as bars, one lane per client." }));
      return;
    }
    const lanes = [];
    for (const c of clientsOf(ops)) for (let k = 0; k < layout.rows.get(c); k++) lanes.push([c, k]);
    const laneY = new Map(lanes.map(([c, k], i) => [`${c}/${k}`, i * laneH + 4]));
    // Spread out to the width: a little for the latest (bars of similar length), more for the few culprits.
    // Labels keep their width, so the most the positions may be spread is what keeps every label and bar inside.
    let most = this.view === "violation" ? 3 * MAX_STRETCH : MAX_STRETCH;
    for (const op of ops) {
      const x0 = layout.start.get(op.id), x1 = layout.end.get(op.id);
      if (x0 > 0) most = Math.min(most, (room - widthOf(op)) / x0);
      if (x1 > 0 && op.status !== "pending") most = Math.min(most, room / x1);
    }
    const stretch = Math.max(1, most);
    const sx = (x) => nameW + pad + x * stretch;
    const width = Math.max(box.clientWidth - 2, Math.ceil(sx(layout.right)) + pad);
    const axisH = f + 14;
    const axisY = lanes.length * laneH + 6;
    const height = axisY + axisH;
    const reads = ops.filter((op) => op.kind === "read").length;
    const shownFlagged = ops.filter((op) => flagged.has(op.id)).length;
    const chart = svg("svg", { class: "history", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `${ops.length} client operations (${reads} reads, ${ops.length - reads} writes) of ` +
        `${clientsOf(ops).length} client(s), in the order of their calls and answers` +
        (shownFlagged ? `; ${shownFlagged} outlined that no order explains` : "") });
    chart.style.setProperty("--t", `${f}px`);
    chart.append(svg("defs", {}, svg("pattern", { id: "history-hatch", width: 8, height: 8, patternUnits: "userSpaceOnUse",
      patternTransform: "rotate(45)" }, svg("rect", { width: 8, height: 8, fill: "#e4e4e4" }),
    svg("line", { x1: 0, y1: 0, x2: 0, y2: 8, stroke: "#8a8a8a", "stroke-width": 3 }))));
    // Lanes: the client's name, a rule under each.
    lanes.forEach(([c, k], i) => {
      const y = i * laneH + 4;
      if (i) chart.append(svg("line", { class: "lane-rule", x1: 0, x2: width, y1: y - 4, y2: y - 4 }));
      if (k === 0) chart.append(svg("text", { class: "lane-name", x: nameW - 6, y: y + (labelH + barH) / 2, text: clientName(c) }));
    });
    // The axis: the times of some calls and answers, as many as fit apart.
    chart.append(svg("line", { class: "axis", x1: nameW, x2: width, y1: axisY, y2: axisY }));
    let lastRight = -Infinity;
    for (const e of layout.events) {
      const x = sx(e.x);
      const text = fmt(e.t);
      const w = this.measure(text, presenter ? f : f * 0.9);
      if (x - w / 2 < lastRight + 14 || x + w / 2 > width - 2 || x - w / 2 < nameW) continue;
      lastRight = x + w / 2;
      chart.append(svg("line", { class: "tick", x1: x, x2: x, y1: axisY, y2: axisY + 5 }),
        svg("text", { class: "time", x, y: axisY + 6, text }));
    }
    // The operations: a label, and under it a bar from the call to the answer.
    for (const op of ops) {
      const [c, k] = layout.row.get(op.id);
      const y = laneY.get(`${c}/${k}`);
      const x0 = sx(layout.start.get(op.id));
      const x1 = op.status === "pending" ? width - 3 : sx(layout.end.get(op.id));
      const by = y + labelH;
      const g = svg("g", { class: ["op", op.kind, op.status, flagged.has(op.id) ? "flagged" : ""].join(" "),
        "data-op-id": op.id, "data-client": op.client ?? "", "data-kind": op.kind, "data-status": op.status,
        "data-flagged": flagged.has(op.id) ? "true" : null },
        svg("title", { text: opTitle(op) }),
        svg("text", { class: "label", x: x0, y: y + labelH / 2, text: opLabel(op) }),
        svg("rect", { class: "bar", x: x0, y: by, width: Math.max(6, x1 - x0), height: barH,
          rx: op.kind === "read" ? barH / 2 : 1 }));
      if (op.status === "pending") g.append(svg("path", { class: "open-end", d: `M${x1 - 7},${by - 3} l7,${barH / 2 + 3} l-7,${barH / 2 + 3}` }));
      chart.append(g);
    }
    box.append(chart);
  }
}
