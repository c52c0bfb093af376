// What the server has told this page, kept in one place. The model applies
// `state` and `events` messages as data (it never decides anything about
// Raft) and tells the views what changed:
//   "state"  -> everything changed (draw from scratch)
//   "update" -> detail: {records, nodes: Set of ids, clockOnly}
// It also estimates the virtual time between server messages, so messages
// and timers move smoothly without a server message per frame.

import { ringConfiguration } from "./membership.js";

const MAX_RECORDS = 3000;          // kept for the event log; older ones can be fetched
const MAX_MARKERS = 4000;          // timeline marks; past this, commit marks are thinned
const MAX_EXTRAPOLATION = 400;     // ms of wall time to run ahead of the last clock
const MAX_OPS = 300;               // client operations kept (the server sends the latest and counts of all)

const PERSONAL = ["token", "number", "control", "my_answer"];
const pick = (o, keys) => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));

/** The client history as the page holds it: the latest operations by id, counts, the verdict. */
function clientsFrom(c) {
  return { ops: new Map((c?.ops || []).map((op) => [op.id, op])), total: c?.total || 0,
    counts: c?.counts || { ok: 0, pending: 0, failed: 0, reads: 0, writes: 0 },
    running: c?.running || null, verdict: c?.verdict || null };
}

export class Model extends EventTarget {
  constructor() {
    super();
    this.ready = false;
    this.nodes = new Map();
    this.messages = new Map();
    this.records = [];
    this.markers = [];
    this.violations = [];
    this.clients = clientsFrom(null);
    this.lastNow = 0;
  }

  applyState(s) {
    this.ready = true;
    this.session = s.session;
    this.scenario = s.scenario;
    this.config = s.config;
    this.options = s.options;
    this.network = s.network;
    this.violations = s.violations;
    this.nodes = new Map(s.nodes.map((n) => [n.id, n]));
    this.messages = new Map(s.messages.map((m) => [m.id, m]));
    this.records = s.records.slice();
    this.markers = s.markers.slice();
    this.clients = clientsFrom(s.clients);
    this.notice = s.notice || null;
    // Classroom: the room this page is in (its role: owner or viewer), or the room a viewer's
    // own copy came from (trying), and, for the owner, the count per choice of the open question.
    // What concerns this viewer alone (its token, number, control, answer) comes to it alone: a
    // state sent to the whole class carries the room without it, so it is kept across states.
    const mine = s.room && this.room?.code === s.room.code ? pick(this.room, PERSONAL) : {};
    this.room = s.room ? { ...mine, ...s.room } : null;
    this.trying = s.trying || null;
    this.answers = s.answers || null;
    this.lastNow = 0;
    this.setClock({ time: s.time, seq: s.seq, length: s.length, mode: s.mode, speed: s.speed, oldest: s.oldest });
    this.dispatchEvent(new CustomEvent("state"));
  }

  applyEvents(u) {
    if (!this.ready) return;
    if (u.clock) this.setClock(u.clock);       // news of a room alone may come without one
    const changed = { records: u.records || [], nodes: new Set(), clockOnly: !u.records, notice: u.notice };
    // A room's news is merged: what concerns one viewer only (its control) is sent to it alone.
    if (u.room && this.room) { this.room = { ...this.room, ...u.room }; changed.room = true; }
    if (u.trying && this.trying) { this.trying = { ...this.trying, ...u.trying }; changed.room = true; }
    if (u.answers) { this.answers = u.answers; changed.room = true; }
    if (changed.records.length) {
      // Marks at or after the first new record were the recorded future: the records replace them.
      const first = changed.records[0].seq;
      const kept = this.markers.filter((m) => m.seq < first);
      changed.markersReset = kept.length !== this.markers.length;
      this.markers = kept;
    }
    for (const r of changed.records) {
      this.records.push(r);
      for (const m of r.sent || []) this.messages.set(m.id, m);
      if (r.marks.length) this.markers.push({ seq: r.seq, time: r.time, marks: r.marks });
    }
    if (this.records.length > MAX_RECORDS) this.records.splice(0, this.records.length - MAX_RECORDS);
    if (this.markers.length > MAX_MARKERS) {
      let n = 0;
      this.markers = this.markers.filter((m) => m.marks.length > 1 || m.marks[0] !== "commit" || n++ % 2 === 0);
      changed.markersReset = true;
    }
    for (const view of u.nodes || []) {
      // A server added while the cluster runs (add_server) arrives as a change like any other.
      const old = this.nodes.get(view.id) || { log: [], store: {}, snapshot: null };
      if (!this.nodes.has(view.id)) changed.grew = true;
      // A log patch works by absolute index: the log now holds indexes `first` on (after its
      // snapshot; 1 when left out); keep the entries sent up to `from` - 1, then these.
      const patch = view.log_patch;
      delete view.log_patch;
      if (patch) {
        const first = patch.first ?? 1;
        const had = old.log.length ? old.log[0].index : first;
        view.log = old.log.slice(Math.max(0, first - had), Math.max(0, patch.from - had)).concat(patch.entries);
      } else {
        view.log = old.log;
      }
      // The snapshot comes only when it is another one.
      if (!("snapshot" in view)) view.snapshot = old.snapshot ?? null;
      // Stores come as changes: the keys set and the keys removed.
      const storePatch = view.store_patch;
      delete view.store_patch;
      view.store = old.store;
      if (storePatch) {
        view.store = { ...old.store, ...storePatch.set };   // spread, not assign: a key may be "__proto__"
        for (const key of storePatch.removed) delete view.store[key];
      }
      this.nodes.set(view.id, view);
      changed.nodes.add(view.id);
    }
    if (u.in_flight) {
      const keep = new Set(u.in_flight);
      for (const id of this.messages.keys()) if (!keep.has(id)) this.messages.delete(id);
    }
    if (u.network) this.network = u.network;
    if (u.violations) this.violations = u.violations;
    if (u.options) this.options = u.options;
    if ("scenario" in u) { this.scenario = u.scenario; changed.scenario = true; }
    if (u.clients) { this.applyClients(u.clients); changed.clients = true; }
    this.dispatchEvent(new CustomEvent("update", { detail: changed }));
  }

  /** New and changed client operations; the oldest are forgotten past MAX_OPS. */
  applyClients(c) {
    if (c.reset) { this.clients = clientsFrom(c); return; }
    const h = this.clients;
    for (const op of c.ops || []) h.ops.set(op.id, op);
    if (h.ops.size > MAX_OPS) {
      const gone = [...h.ops.keys()].sort((a, b) => a - b).slice(0, h.ops.size - MAX_OPS);
      for (const id of gone) h.ops.delete(id);
    }
    if ("total" in c) h.total = c.total;
    if (c.counts) h.counts = c.counts;
    if ("running" in c) h.running = c.running;
    if ("verdict" in c) h.verdict = c.verdict;
  }

  setClock(c) {
    this.clock = c;
    this.clockAt = performance.now();
    this.mode = c.mode;
    this.speed = c.speed;
    this.seq = c.seq;
    this.length = c.length;
    this.oldest = c.oldest;
    if (c.mode !== "playing") this.lastNow = c.time;
  }

  /** The virtual time to draw now (ms). */
  now() {
    if (!this.ready) return 0;
    if (this.mode !== "playing") return this.clock.time;
    const wall = Math.min(performance.now() - this.clockAt, MAX_EXTRAPOLATION);
    // Never run backwards between two server clocks: messages would jitter.
    this.lastNow = Math.max(this.lastNow, this.clock.time + wall * this.speed);
    return this.lastNow;
  }

  /** The configuration the ring shows (membership.js): the leader's, or the most recent. */
  configuration() {
    return ringConfiguration(this.nodes);
  }

  /** The voters a new cluster starts with: the reset's members, or every server it had. */
  initialConfiguration() {
    const c = this.config || {};
    const voters = c.members || Array.from({ length: c.size || 0 }, (_, k) => k + 1);
    return { voters, old_voters: null, learners: [] };
  }

  /** This page may look at the cluster but not change it: it follows a class (and was not
   *  handed control), or it is the owner's, showing a viewer's own copy. */
  lookOnly() {
    return (this.room?.role === "viewer" && !this.room.control) || (this.room?.role === "owner" && this.room.showing != null);
  }

  /** The room this page belongs to, following it or trying on a copy. */
  classRoom() {
    return this.room || this.trying;
  }

  leader() {
    let best = null;
    for (const n of this.nodes.values()) {
      if (n.up && n.role === "leader" && (!best || n.term > best.term)) best = n;
    }
    return best;
  }

  blocked(a, b) {
    return this.network.blocked.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
  }

  cut(a, b) {
    return this.network.cuts.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
  }
}
