// Every server's log, one row per server, sized to fit its box. The grid
// shows what matters now: each leader's commit point, each follower's
// nextIndex and matchIndex as its own leader sees them, and the ends of the
// logs. A committed prefix that all servers share folds into one block; if
// the rest still does not fit, the gaps between the important indexes fold
// too. Every fold opens on click. Nothing is cut off for good: the full
// command of an entry is in its tooltip and in the inspector.
//
// Log compaction (section 7): a server's snapshot is one block at the start
// of its row, up to its last included index ("snapshot ≤5, t3"); its log
// holds the entries after it, each with its absolute index. Indexes every
// server has compacted take one slot of the block's width, not a column each.
import { el, clear, serverName } from "./dom.js";
import { entryText, entryName, entryWords, ownStanding } from "./membership.js";

// Term colours: Okabe–Ito and Tol hues without the colours that already mean
// something (leader green #009E73, danger vermillion #D55E00, down greys),
// ordered so that neighbouring terms differ in lightness as well as hue.
// Each comes with the text colour that reads on it; the term number is
// always printed, so colour is never the only cue.
const TERM_COLOURS = [
  ["#56B4E9", "#111"],   // sky blue
  ["#E69F00", "#111"],   // orange
  ["#0072B2", "#fff"],   // blue
  ["#F0E442", "#111"],   // yellow
  ["#882255", "#fff"],   // wine
  ["#CC79A7", "#111"],   // reddish purple
  ["#332288", "#fff"],   // indigo
];
const paletteAt = (term) => TERM_COLOURS[(((term - 1) % TERM_COLOURS.length) + TERM_COLOURS.length) % TERM_COLOURS.length];

export function termColour(term) {
  return paletteAt(term)[0];
}

/** The text colour that reads on termColour(term). */
export function termInk(term) {
  return paletteAt(term)[1];
}

const HSCROLL = 14;            // px: height of the sideways scrollbar, when one is needed

/** The last index of a server's log, its snapshot's entries included. */
export const lastIndex = (n) => (n.snapshot_index || 0) + n.log.length;

/** The entry at absolute index i, or undefined where the snapshot has compacted it (or past the end). */
export const entryAt = (n, i) => (i > (n.snapshot_index || 0) ? n.log[i - (n.snapshot_index || 0) - 1] : undefined);

/** What a snapshot block may say, longest first. */
export function snapshotTexts(index, term) {
  return [`snapshot ≤${index}, t${term}`, `snap ≤${index} t${term}`, `≤${index} t${term}`, `≤${index}`];
}
const PREFIX_MIN = 2;          // a shared prefix shorter than this is not worth a fold
const PREFIX_LONG = 12;
const MAX_KEPT_CONFIGS = 6;    // configuration entries always in view: the latest few, and every one a server uses        // ... and one shorter than this folds only when the columns cannot all fit

/**
 * The leader whose pointers a server's row shows, or null: the leader it
 * names, if that one is up, a leader and in its term; else (no leader heard
 * of yet) the only up leader of its term or later. Only followers have one.
 */
export function leaderOf(node, nodes) {
  if (!node.up || node.role !== "follower") return null;
  const named = nodes.get(node.leader_id);
  if (named && named.up && named.role === "leader" && named.term === node.term) return named;
  const leaders = [...nodes.values()].filter((n) => n.up && n.role === "leader" && n.term >= node.term);
  return leaders.length === 1 ? leaders[0] : null;
}

/** The pointers a leader keeps for a follower: {next, match} or null. */
export function pointersFor(node, leader) {
  if (!leader || !leader.next_index) return null;
  const key = String(node.id);
  if (!(key in leader.next_index)) return null;
  return { next: leader.next_index[key], match: (leader.match_index || {})[key] || 0 };
}

/**
 * How many leading entries every server holds alike (same index and term,
 * hence the same entry) and are committed: at most the highest commitIndex
 * among up servers.
 */
export function sharedCommitted(nodes) {
  const list = [...nodes.values()];
  if (!list.length) return 0;
  let k = 0;
  for (const n of list) if (n.up) k = Math.max(k, n.commit_index);
  for (const n of list) k = Math.min(k, lastIndex(n));
  // An index a snapshot covers is committed there, hence the same entry everywhere.
  for (let i = 1; i <= k; i++) {
    let term = null;
    for (const n of list) {
      const e = entryAt(n, i);
      if (!e) continue;
      if (term === null) term = e.term;
      else if (e.term !== term) return i - 1;
    }
  }
  return k;
}

/**
 * Which columns to show, in order: "prefix" (1..fold folded), "col" (one
 * index), "gap" (a folded run between shown indexes). Columns run from 1 to
 * `last`; `keep` must show, `opened` ranges are shown because the user asked.
 * If all columns fit at `cell` px they all show; otherwise runs grow around
 * the kept indexes while they fit and the rest folds. `fits` is false when
 * even the kept indexes do not fit (the box must then scroll sideways).
 */
export function planColumns({ last, fold = 0, keep = [], opened = [], room, cell, prefixWidth = 0, gapWidth = 0, widthOf = null }) {
  const first = fold + 1;
  const lead = fold ? prefixWidth : 0;
  const slots = fold ? [{ kind: "prefix", from: 1, to: fold }] : [];
  // A column may need more than `cell` (a configuration entry's label).
  const cellAt = (i) => (widthOf ? Math.max(cell, widthOf(i)) : cell);
  let all = lead;
  for (let i = first; i <= last; i++) all += cellAt(i);
  if (all <= room) {
    for (let i = first; i <= last; i++) slots.push({ kind: "col", index: i });
    return { slots, fits: true };
  }
  const shown = new Set();
  for (const i of keep) if (i >= first && i <= last) shown.add(i);
  for (const [a, b] of opened) for (let i = Math.max(a, first); i <= Math.min(b, last); i++) shown.add(i);
  const width = () => {
    let w = lead, prev = fold;
    for (const i of [...shown].sort((a, b) => a - b)) {
      w += cellAt(i) + (i > prev + 1 ? gapWidth : 0);
      prev = i;
    }
    return w + (prev < last ? gapWidth : 0);
  };
  const fits = width() <= room;
  if (fits) {
    // Grow every run by one on each side per round, so the room is shared
    // out evenly around the places that matter.
    const seeds = [...shown];
    for (let d = 1, grew = true; grew && d <= last; d++) {
      grew = false;
      for (const k of seeds) {
        for (const i of [k - d, k + d]) {
          if (i < first || i > last || shown.has(i) || !(shown.has(i - 1) || shown.has(i + 1))) continue;
          shown.add(i);
          if (width() > room) shown.delete(i);
          else grew = true;
        }
      }
    }
    // A gap of one entry: show the entry itself if that still fits.
    for (let i = first; i <= last; i++) {
      if (shown.has(i) || !(i === first || shown.has(i - 1)) || !(i === last || shown.has(i + 1))) continue;
      shown.add(i);
      if (width() > room) shown.delete(i);
    }
  }
  let prev = fold;
  for (const i of [...shown].sort((a, b) => a - b)) {
    if (i > prev + 1) slots.push({ kind: "gap", from: prev + 1, to: i - 1 });
    slots.push({ kind: "col", index: i });
    prev = i;
  }
  if (prev < last) slots.push({ kind: "gap", from: prev + 1, to: last });
  return { slots, fits };
}

const clamp = (x, lo, hi) => Math.max(lo, Math.min(hi, x));

// Client sessions (the paper's section 8): the indexes of a log whose entry
// repeats a client's request that came earlier in the same log (its sequence
// number is not above the highest of that client before it): a retry, which
// the state machine does not apply again, or applies again under
// unsafe_no_dedup. Index -> the index of the earlier entry. Kept per log
// array (a log that changes is a new array).
const retriesOf = new WeakMap();

export function retries(log) {
  let found = retriesOf.get(log);
  if (found) return found;
  found = new Map();
  const seen = new Map();                // client -> [highest seq, its index]
  for (const e of log) {
    if (e.client === undefined || e.client === null) continue;
    const before = seen.get(e.client);
    if (before && e.seq <= before[0]) found.set(e.index, before[1]);
    else seen.set(e.client, [e.seq, e.index]);
  }
  retriesOf.set(log, found);
  return found;
}

const RETRY = "↻";

/** The configuration in force before log index i of a server's log: the
 * latest configuration entry before it, else its snapshot's, else the
 * cluster's initial one. */
export function configBefore(node, i, initial) {
  const log = node.log, off = node.snapshot_index || 0;
  for (let k = i - off - 2; k >= 0; k--) if (log[k].kind === "config" && log[k].config) return log[k].config;
  return node.snapshot?.config ?? initial;
}

/** The width a command has inside a cell of slot width w: less the gap between
 * cells (3), the borders (2 x 2), the text's padding (0.15 em a side) and the
 * term number when it stands beside the command. */
const cmdRoom = (w, cf, beside) => w - 3 - 4 - 0.3 * cf - 2 - beside;

/** The width a snapshot block's label (at the term numbers' size) has in a block of slot width
 * w: less the gap (3), its borders and shadow (2 x 2 + 3) and the label's padding (0.3 em a side). */
const snapRoom = (w, f) => w - 3 - 7 - 0.6 * f;

export class LogsView {
  constructor(root, model, { onEntry }) {
    this.root = root;
    this.model = model;
    this.onEntry = onEntry;
    this.rows = new Map();           // id -> {row, who, strip, key}
    this.size = { width: 0, height: 0 };
    this.geom = null;
    this.prefixOpen = false;         // the user opened the shared prefix
    this.opened = [];                // gap ranges [from, to] the user opened
    this.sx = 0;                     // sideways scroll, px
    this.atEnd = true;               // keep the newest entries in view while the user has not scrolled away
    this.widths = new Map();         // text width cache: measuring is cheap, but not free per cell
    this.ctx = document.createElement("canvas").getContext("2d");
    root.classList.add("logs-view");
    root.addEventListener("click", (e) => this.click(e));
    root.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    new ResizeObserver(([entry]) => {
      const { width, height } = entry.contentRect;
      if (Math.abs(width - this.size.width) < 1 && Math.abs(height - this.size.height) < 1) return;
      this.size = { width, height };
      this.refresh(true);
    }).observe(root);
    // Presenter mode changes the minimum text size even if the box keeps its size.
    new MutationObserver(() => {
      if (this.geom && this.geom.presenter !== document.body.classList.contains("presenter")) this.refresh(true);
    }).observe(document.body, { attributes: true, attributeFilter: ["class"] });
  }

  /** Rebuild from scratch (a new state: new cluster, seek, scenario step). */
  render() {
    const ids = [...this.model.nodes.keys()].sort((a, b) => a - b);
    if (ids.join() !== [...this.rows.keys()].join()) {
      this.prefixOpen = false;
      this.opened = [];
      this.atEnd = true;
    }
    clear(this.root);
    this.rows.clear();
    this.frame = el("div", { class: "logs-frame" });
    this.indexStrip = el("div", { class: "strip" });
    this.frame.append(el("div", { class: "index-row", "aria-hidden": "true" },
      el("div", { class: "who", text: "index" }), el("div", { class: "lane" }, this.indexStrip)));
    for (const id of ids) {
      const who = el("div", { class: "who" });
      const strip = el("div", { class: "strip" });
      const row = el("div", { class: "log-row", "data-log-node": id }, who, el("div", { class: "lane" }, strip));
      this.rows.set(id, { row, who, strip, key: null });
      this.frame.append(row);
    }
    this.foldStrip = el("div", { class: "strip" });
    this.frame.append(el("div", { class: "folds" }, this.foldStrip));
    this.spacer = el("div");
    this.hscroll = el("div", { class: "hscroll", tabindex: "0", "aria-label": "Logs: scroll sideways", hidden: true }, this.spacer);
    this.hscroll.addEventListener("scroll", () => this.scrolled());
    // Arrow keys step the cluster elsewhere on the page; here they scroll.
    this.hscroll.addEventListener("keydown", (e) => {
      const by = { ArrowLeft: -this.geom.w, ArrowRight: this.geom.w, Home: -Infinity, End: Infinity }[e.key];
      if (by === undefined || e.ctrlKey || e.metaKey || e.altKey) return;
      e.preventDefault();
      e.stopPropagation();
      this.hscroll.scrollLeft = clamp(this.hscroll.scrollLeft + by * 2, 0, this.geom.total);
    });
    this.root.append(this.frame, this.hscroll);
    const css = getComputedStyle(this.root);
    this.font = css.fontFamily;
    this.mono = css.getPropertyValue("--mono").trim() || "monospace";
    this.layout();
  }

  /** The box was resized: measure it again and lay everything out. */
  layout() {
    this.size = { width: this.root.clientWidth, height: this.root.clientHeight };
    this.refresh(true);
  }

  /** Called on every model update; does nothing unless a server changed. */
  update(changed) {
    if (!this.frame) return;
    // Turning deduplication off or on changes what a retried entry says.
    const options = changed?.records?.some((r) => r.action?.type === "options");
    if (changed && !(changed.nodes && changed.nodes.size) && !changed.scenario && !options) return;
    this.refresh(!changed || !!changed.scenario || options, changed && changed.nodes);
  }

  refresh(all, ids) {
    if (!this.frame || !this.model.nodes.size) return;
    this.config = this.model.configuration();             // the ring's: for servers that know no configuration yet
    const g = this.plan();
    const same = !all && this.geom && this.geom.key === g.key;
    if (!same) {
      this.geom = g;
      this.applyGeometry(g);
    }
    for (const [id, r] of this.rows) {
      const key = this.rowKey(id);
      if (!same || (ids && ids.has(id)) || key !== r.key) this.buildRow(id, key);
    }
  }

  measure(text, px, bold = false, mono = false) {
    const k = `${bold ? "b" : ""}${mono ? "m" : ""}${px}|${text}`;
    let w = this.widths.get(k);
    if (w === undefined) {
      if (this.widths.size > 4000) this.widths.clear();
      this.ctx.font = `${bold ? "700 " : ""}${px}px ${mono ? this.mono : this.font}`;
      w = this.ctx.measureText(text).width;
      this.widths.set(k, w);
    }
    return w;
  }

  // What a row shows besides its own node: its leader's pointers and its scenario label.
  rowKey(id) {
    const n = this.model.nodes.get(id);
    const leader = leaderOf(n, this.model.nodes);
    const p = pointersFor(n, leader);
    return `${leader ? leader.id : ""}|${p ? `${p.next}/${p.match}` : ""}|${this.label(id)}|${this.tag(n)}`;
  }

  label(id) {
    const labels = this.model.scenario && this.model.scenario.labels;
    return (labels && labels[id]) || "";
  }

  /** The word beside a server's name: its role, or what kind of follower it is. */
  tag(n) {
    if (!n.up) return "down";
    if (n.role === "leader") return "★ leader";
    if (n.role === "candidate") return "candidate";
    if (n.pre_votes) return "pre-candidate";
    const where = ownStanding(n, this.config);           // by its own configuration, as in the ring
    return where === "learner" || where === "outside" ? where : "";
  }

  // The text lines of a row's label column; `lines` is how many fit.
  whoLines(n, lines) {
    const name = [serverName(n.id), this.label(n.id)].filter(Boolean).join(" ");
    const tag = this.tag(n);
    if (!n.up) return [{ name, tag }];
    const commit = `commit ${n.commit_index}`;
    const p = pointersFor(n, leaderOf(n, this.model.nodes));
    const pointers = p ? `next ${p.next} · match ${p.match}` : "";
    if (!pointers) return [{ name, tag }, { text: commit }];
    // A follower with pointers is tagged only as a learner or pre-candidate.
    if (lines >= 3) return [{ name, tag }, { text: commit }, { text: pointers }];
    return [{ name, tag, text: commit }, { text: pointers }];
  }

  // Sizes and columns from the box, the mode and the logs. Reads no layout.
  plan() {
    const nodes = this.model.nodes;
    const count = nodes.size;
    const presenter = document.body.classList.contains("presenter");
    const m = presenter ? 18 : 13;                        // the smallest text allowed
    const W = this.size.width, H = this.size.height;
    const hh = Math.ceil(m * 1.25);                        // index row
    const rMin = Math.ceil(m * 1.05) + Math.ceil(m + 5) + 1;   // pointer band + a term-only cell + rule

    const sized = (height, cap = presenter ? 32 : 24) => {
      let r = Math.floor((height - hh) / count);
      const scrollY = r < rMin;
      if (scrollY) r = rMin;
      const f = clamp(Math.floor((r - 9) / 3), m, cap);
      const pf = Math.max(m, Math.round(f * 0.85));
      const band = Math.ceil(pf * 1.05);
      const cf = Math.max(m, Math.round(f * 0.8));
      // The command goes under the term number if there is room, else beside it.
      const cmd = r - band - 2 - 3 >= f + cf * 1.05 ? "stack" : "inline";
      // Row labels stay smaller than the cells: they repeat what the pointers show.
      const lf = Math.max(m, Math.min(Math.round(f * 0.8), presenter ? 22 : 17, Math.floor((r - 2) / 2.2)));
      const lines = 3 * lf * 1.1 <= r - 2 ? 3 : 2;
      return { r, scrollY, f, pf, band, cf, cmd, lf, lines };
    };

    // Tall rows give big text, and big cells may no longer fit across: smaller text
    // (never under the minimum) is better than folding entries away or hiding
    // the commands, in that order.
    const gaps = (r) => r.slots.some((x) => x.kind === "gap");
    // A command cut to one or two letters says nothing: then show term numbers only.
    const commands = (r, sz) => sz.cmd && cmdRoom(r.w, sz.cf, r.beside) >= this.measure("SET…", sz.cf, false, true);
    const whole = (r, sz) => sz.cmd && cmdRoom(r.w, sz.cf, r.beside) >= r.cmdW;
    // Scrolling sideways is worst of all: what is off to the left (the folded prefix, the commit point) is out of sight.
    const score = (r, sz) => (r.total > r.room + 0.5 ? 8 : 0) + (gaps(r) ? 4 : 0) + (whole(r, sz) ? 0 : commands(r, sz) ? 1 : 2);
    let s = sized(H);
    let result = this.columns(s, m, W);
    for (let cap = s.f - 1; score(result, s) > 0 && cap >= m; cap -= 1) {
      const smaller = sized(H, cap), tried = this.columns(smaller, m, W);
      if (score(tried, smaller) < score(result, s)) { s = smaller; result = tried; }
    }
    if (!result.fits) {
      s = sized(H - HSCROLL);
      result = this.columns(s, m, W);
    }
    const { slots, w, whoW, total, room, low } = result;
    s.cfgMode = s.cmd;                                  // configuration labels always show, stacked or beside the term
    if (!commands(result, s)) s.cmd = null;
    const key = JSON.stringify([W, H, presenter, s, whoW, w, slots]);
    return { key, presenter, m, hh, ...s, slots, w, whoW, low, beside: result.beside, total, room, overflow: total > room + 0.5 };
  }

  // Label column width, cell width and the column plan for given text sizes.
  columns(s, m, W) {
    const nodes = this.model.nodes;
    let whoW = this.measure("index", m);
    let last = 0, maxTerm = 1, cmdW = 0, retried = false;
    const keep = new Set();
    // Indexes every server has compacted: one slot, wide enough for a snapshot block.
    let low = Infinity, snapText = "";
    const configs = new Set(), inUse = new Set(), labels = new Map();    // configuration entries: index -> label width
    for (const n of nodes.values()) {
      low = Math.min(low, n.snapshot_index || 0);
      // Where a snapshot block ends and the first entry after it must show.
      if (n.snapshot_index) { keep.add(n.snapshot_index); keep.add(n.snapshot_index + 1); }
    }
    if (!nodes.size) low = 0;
    for (const n of nodes.values()) {
      if (low && n.snapshot_index === low) snapText = snapshotTexts(low, n.snapshot_term)[0];
      for (const line of this.whoLines(n, s.lines)) {
        // The name is bold, and so is a leader's tag ("★ leader").
        const name = line.name ? this.measure(line.name, s.lf, true) : 0;
        const tag = line.tag ? this.measure(` ${line.tag}`, s.lf, true) : 0;
        const text = line.text ? this.measure(` ${line.text}`, s.lf) : 0;
        whoW = Math.max(whoW, name + tag + text);
      }
      last = Math.max(last, lastIndex(n));
      if (lastIndex(n)) keep.add(lastIndex(n));
      if (n.up && n.commit_index) keep.add(n.commit_index);
      const p = pointersFor(n, leaderOf(n, nodes));
      if (p) {
        keep.add(p.next);
        if (p.match) keep.add(p.match);
      }
      // Recent entries set how wide a cell must be to show its command.
      const again = retries(n.log);
      for (let i = Math.max(0, n.log.length - 50); i < n.log.length; i++) {
        const e = n.log[i];
        maxTerm = Math.max(maxTerm, e.term);
        if (again.has(e.index)) retried = true;
        if (e.kind !== "config") cmdW = Math.max(cmdW, this.textWidth(e, this.text(n, e), s.cf));
      }
      // Configuration entries are never folded away, and their columns are as
      // wide as their labels need (the others share what is left).
      for (const e of n.log) {
        if (e.kind !== "config") continue;
        configs.add(e.index);
        labels.set(e.index, Math.max(labels.get(e.index) || 0, this.textWidth(e, this.text(n, e), s.cf)));
      }
      if (n.config_index) inUse.add(n.config_index);
    }
    // All of them, or if there are many, the latest few and every one a server uses.
    for (const i of [...configs].sort((a, b) => b - a).slice(0, MAX_KEPT_CONFIGS)) keep.add(i);
    for (const i of inUse) if (configs.has(i)) keep.add(i);
    last += 1;                                          // the next free slot
    keep.add(last);
    whoW = Math.ceil(whoW + s.lf * 0.8);
    // A retried request's term number carries ↻: the cell is wide enough for both.
    const digits = (k) => "8".repeat(String(k).length) + (retried && k === maxTerm ? RETRY : "");
    const wMin = Math.ceil(Math.max(1.5 * s.f, this.measure(digits(maxTerm), s.f, true) + 8, this.measure(digits(last), m) + 6));
    // Cells grow to show their commands in full, up to a cap; without commands, to a square-ish box.
    const beside = s.cmd === "inline" ? Math.ceil(this.measure(digits(maxTerm), s.f, true) + 0.3 * s.f) : 0;
    const wCap = cmdW ? clamp(Math.ceil(beside + cmdW + 10 + 0.3 * s.cf), wMin, (beside ? 9 : 7) * s.f) : Math.max(wMin, Math.ceil(3 * s.f));
    // The width a configuration entry's column needs for its label (beside the term number where rows are low).
    // (Hatched, uncommitted, the term and the label each get a padded backing: room for that too.)
    const need = new Map([...labels].map(([i, lw]) => [i, Math.ceil(lw + 10 + 0.6 * s.cf + beside + (beside ? 0.3 * s.f : 0))]));
    const widthOf = (i) => need.get(i) || 0;
    // "▾next" on the next free slot runs past its cell: keep room for it at the end.
    const tail = Math.max(0, Math.ceil(this.measure("▾next", s.pf, true)) - wMin + 2);
    const room = Math.floor(W - whoW - tail - 2);
    const gapWidth = Math.ceil(m * 1.5);
    const shared = sharedCommitted(nodes);
    const block = Math.ceil(Math.max(this.measure(`1–${shared}`, m, true), this.measure("committed", m)) + 14);
    // Below this cell width the shared prefix folds: wide enough for the
    // commands, but not so wide that fewer than five entries show beside the fold.
    const want = clamp(wCap, wMin, (room - block) / 6);
    let fold = 0;
    if (shared - 1 >= PREFIX_MIN && (last * wMin > room || (shared - 1 >= PREFIX_LONG && last * want > room))) {
      // Fold just enough of 1..shared-1 for the rest to fit; the last shared
      // entry stays, so the commit point shows, and the fold never covers an
      // index that must show (a stale matchIndex, say).
      keep.add(shared);
      fold = Math.min(shared - 1, Math.min(...keep) - 1, last - Math.floor((room - block) / want));
      if (fold < PREFIX_MIN || fold * wMin < block + wMin) fold = 0;     // a block no narrower than what it hides
    }
    const opened = this.opened.slice();
    if (this.prefixOpen && shared - 1 >= PREFIX_MIN && !low) {
      opened.push([1, shared - 1]);
      fold = 0;
    }
    // Every server has compacted 1..low: that is the leading slot (nothing there to open), as wide
    // as its whole label where the columns after it still fit, else down to "≤low".
    const labelW = (text) => Math.ceil(this.measure(text, s.f, true) + 10 + 0.6 * s.f + 1);
    const snapW = low ? Math.max(wMin, Math.round(clamp(room - (last - low) * wMin, labelW(`≤${low}`), labelW(snapText)))) : 0;
    if (low) fold = low;
    // "committed on all" once every up server knows; until then the leader alone has committed them.
    let known = true;
    for (const n of nodes.values()) if (n.up && n.commit_index < fold) known = false;
    const words = known ? ["committed", "on all"] : ["same on all", "committed"];
    const prefixWidth = low ? snapW
      : fold ? Math.ceil(Math.max(this.measure(`1–${fold}`, m, true), ...words.map((t) => this.measure(t, m))) + 14) : 0;
    const refolds = opened.filter(([a, b]) => a <= last && b >= fold + 1).length + (this.prefixOpen && shared - 1 >= PREFIX_MIN && !low ? 1 : 0);
    const plan = planColumns({ last, fold, keep, opened, room: room - refolds * gapWidth, cell: wMin, prefixWidth, gapWidth, widthOf });

    // Mark where each opened range can be folded again, then place everything.
    const slots = [];
    const openStarts = new Map(opened.map(([a, b]) => [a, b]));
    if (this.prefixOpen && shared - 1 >= PREFIX_MIN && !low) openStarts.set(1, "prefix");
    for (const slot of plan.slots) {
      if (slot.kind === "prefix") Object.assign(slot, low ? { kind: "snapshot" } : { words, known });
      if (slot.kind === "col" && openStarts.has(slot.index)) {
        const to = openStarts.get(slot.index);
        slots.push(to === "prefix" ? { kind: "refold", from: 1, to: shared - 1, prefix: true } : { kind: "refold", from: slot.index, to });
      }
      slots.push(slot);
    }
    const lead = (x) => x.kind === "prefix" || x.kind === "snapshot";
    const fixed = slots.reduce((sum, x) => sum + (lead(x) ? prefixWidth : x.kind === "col" ? 0 : gapWidth), 0);
    const cols = slots.filter((x) => x.kind === "col");
    let w = Math.floor(clamp((room - fixed) / cols.length, wMin, wCap));
    // Configuration columns wider than that take what they need; the others share the rest.
    for (let k = 0; k < 3; k++) {
      const wide = cols.filter((x) => widthOf(x.index) > w);
      if (!wide.length || wide.length === cols.length) break;
      const used = wide.reduce((sum, x) => sum + widthOf(x.index), 0);
      const next = Math.floor(clamp((room - fixed - used) / (cols.length - wide.length), wMin, wCap));
      if (next === w) break;
      w = next;
    }
    // Room the columns leave (they stop growing at wCap) goes to the snapshot slot's label first.
    const spare = room - fixed - cols.reduce((sum, x) => sum + Math.max(w, widthOf(x.index)), 0);
    const grow = low ? Math.max(0, Math.min(labelW(snapText) - prefixWidth, spare)) : 0;
    let x = 0;
    for (const slot of slots) {
      slot.x = x;
      slot.w = lead(slot) ? prefixWidth + grow : slot.kind === "col" ? Math.max(w, widthOf(slot.index)) : gapWidth;
      x += slot.w;
    }
    return { slots, w, whoW, beside, cmdW, low, total: x + tail, room: room + tail, fits: x <= room };
  }

  applyGeometry(g) {
    const style = this.root.style;
    const px = { hh: g.hh, r: g.r, band: g.band, f: g.f, pf: g.pf, cf: g.cf, lf: g.lf, m: g.m, who: g.whoW };
    for (const [k, v] of Object.entries(px)) style.setProperty(`--${k}`, `${v}px`);
    this.root.classList.toggle("no-cmd", !g.cmd);
    this.root.classList.toggle("inline-cmd", g.cmd === "inline");
    this.root.classList.toggle("scroll-y", g.scrollY);
    // A box that scrolls must be reachable from the keyboard.
    if (g.scrollY) {
      this.root.setAttribute("tabindex", "0");
      this.root.setAttribute("aria-label", "Logs of all servers (scrolls)");
    } else {
      this.root.removeAttribute("tabindex");
      this.root.removeAttribute("aria-label");
    }
    this.hscroll.hidden = !g.overflow;
    this.spacer.style.width = `${g.total}px`;
    this.colX = new Map();
    for (const slot of g.slots) if (slot.kind === "col") this.colX.set(slot.index, slot);

    clear(this.indexStrip);
    for (const slot of g.slots) {
      if (slot.kind === "col") this.indexStrip.append(el("span", { class: "i", style: `left:${slot.x}px;width:${slot.w}px`, text: slot.index }));
      // Indexes every server has compacted: their range, over the snapshot blocks.
      if (slot.kind === "snapshot") this.indexStrip.append(el("span", { class: "i", style: `left:${slot.x}px;width:${slot.w}px`, text: `1–${slot.to}` }));
    }
    clear(this.foldStrip);
    for (const slot of g.slots) if (slot.kind !== "col" && slot.kind !== "snapshot") this.foldStrip.append(this.foldButton(slot));
    this.snapSlot = g.slots.find((slot) => slot.kind === "snapshot") || null;
    if (g.overflow) {
      const max = g.total - g.room;
      this.sx = this.atEnd ? max : Math.min(this.sx, max);
      this.hscroll.scrollLeft = this.sx;
    } else {
      this.sx = 0;
    }
    style.setProperty("--sx", `${this.sx}px`);
  }

  foldButton(slot) {
    const range = `${slot.from}–${slot.to}`;
    const attrs = { class: `fold ${slot.kind}`, style: `left:${slot.x}px;width:${slot.w}px`, "data-from": slot.from, "data-to": slot.to, "data-kind": slot.kind };
    if (slot.kind === "prefix") {
      const label = `Entries ${range}: the same on every server and committed` +
        `${slot.known ? "" : " (not every server knows it yet)"}. Click to show them.`;
      return el("button", { ...attrs, title: label, "aria-label": label },
        el("b", { text: range }), ...slot.words.map((text) => el("span", { text })));
    }
    if (slot.kind === "gap") {
      const label = `Entries ${range} are folded. Click to show them.`;
      return el("button", { ...attrs, title: label, "aria-label": label, text: `…${range}…` });
    }
    const label = `Fold entries ${range} again`;
    return el("button", { ...attrs, "data-prefix": slot.prefix ? "true" : null, title: label, "aria-label": label, text: `fold ${range}` });
  }

  buildRow(id, key) {
    const g = this.geom;
    const n = this.model.nodes.get(id);
    const r = this.rows.get(id);
    r.key = key;
    r.row.classList.toggle("down", !n.up);
    r.row.classList.toggle("leader", n.up && n.role === "leader");
    clear(r.who);
    for (const line of this.whoLines(n, g.lines)) {
      const div = el("div", {}, line.name ? el("b", { text: line.name }) : null);
      if (line.tag) div.append(" ", el("span", { class: "tag", text: line.tag }));
      if (line.text) div.append(line.name ? " " : "", line.text);
      r.who.append(div);
    }
    clear(r.strip);
    const [lo, hi] = this.window();
    const off = n.snapshot_index || 0, end = lastIndex(n);
    if (off) r.strip.append(this.snapshotBlock(n));
    for (const slot of g.slots) {
      if (slot.kind === "col" && slot.index > off && slot.index <= end && slot.x + slot.w >= lo && slot.x <= hi) {
        r.strip.append(this.cell(n, entryAt(n, slot.index), slot));
      }
    }
    this.pointers(n, r.strip);
  }

  /** The slot an index is drawn in: its column, or the leading snapshot slot. */
  slotOf(index) {
    return this.colX.get(index) || (this.snapSlot && index <= this.snapSlot.to ? this.snapSlot : null);
  }

  /** A server's snapshot: one block from the start of its row to its last included index. */
  snapshotBlock(n) {
    const g = this.geom;
    const off = n.snapshot_index, end = this.slotOf(off);
    // It starts after the folds that lie over the rows before it (a folded prefix or gap), so its
    // label shows.
    let left = 0;
    for (const slot of g.slots) {
      if (slot.kind === "col" || slot.kind === "snapshot" || slot.to >= off) break;
      left = slot.x + slot.w;
    }
    const right = end ? end.x + end.w : left + g.w;
    const width = right - left;
    const room = snapRoom(width, g.f);
    const forms = snapshotTexts(off, n.snapshot_term);
    const text = forms.find((t) => this.measure(t, g.f, true) <= room) ?? forms.at(-1);
    const store = n.snapshot?.store || {};
    const state = Object.entries(store).map(([k, v]) => `${k}=${v}`).join(", ") || "empty";
    const title = `${serverName(n.id)}'s snapshot: it replaces indexes 1–${off} (last included index ${off}, term ` +
      `${n.snapshot_term}); its state machine: ${state}. Click for details.`;
    return el("div", {
      class: "snap", style: `left:${left + 1}px;width:${width - 3}px`, title, "aria-label": title,
      "data-snapshot-index": off, "data-snapshot-term": n.snapshot_term,
    }, el("span", { class: "c", text }));
  }

  // The part of the strip worth building: all of it, or when it scrolls, a
  // screenful either side of what is in view.
  window() {
    const g = this.geom;
    if (!g.overflow) return [-Infinity, Infinity];
    this.built = [this.sx - g.room, this.sx + 2 * g.room];
    return this.built;
  }

  /** What an entry's cell says: its command, or a configuration's or a no-op's label. */
  text(node, entry) {
    if (entry.kind !== "config") return entryText(entry);
    return entryText(entry, this.before(node, entry));
  }

  /** The configuration a server used before a configuration entry of its log. */
  before(node, entry) {
    return configBefore(node, entry.index, this.model.initialConfiguration());
  }

  /** Commands are set in monospace; labels of configurations and no-ops in the text face (narrower). */
  textWidth(entry, text, px) {
    const label = entry.kind === "config" || entry.kind === "noop" || entry.command === null;
    return this.measure(text, px, entry.kind === "config", !label);
  }

  cell(node, entry, slot) {
    const g = this.geom;
    const committed = entry.index <= node.commit_index;
    const kind = entry.kind === "config" ? "config" : entry.kind === "noop" || entry.command === null ? "noop" : "command";
    const command = this.text(node, entry);
    const fits = (text) => !g.cmd || this.textWidth(entry, text, g.cf) <= cmdRoom(slot.w, g.cf, g.beside);
    const name = kind === "config" ? entryName(entry.config, this.before(node, entry)) : "";
    const what = kind === "config" ? `${name ? `${name}, ` : ""}“${command}”: ${entryWords(entry.config)}`
      : kind === "noop" ? "a leader's no-op entry" : command;
    // A client's request: its client and sequence number; a retry of one marked ↻.
    const client = entry.client !== undefined && entry.client !== null;
    const first = client ? retries(node.log).get(entry.index) : undefined;
    const twice = first !== undefined && this.model.options?.unsafe_no_dedup;
    const who = !client ? "" : ` — client ${entry.client}'s request ${entry.seq}` + (first === undefined ? ""
      : `, a retry of index ${first}: ${twice ? "applied a second time (unsafe switch: no deduplication)"
        : "not applied again (the state machine answers with the saved reply)"}`);
    // A configuration entry is white inside a frame of its term's colour: it stands
    // out among commands, and its term still shows.
    const colours = kind === "config" ? "background-color:#fff;color:#111"
      : `background-color:${termColour(entry.term)};color:${termInk(entry.term)}`;
    const c = el("div", {
      class: `cell${committed ? "" : " uncommitted"}${kind === "command" ? "" : ` ${kind}`}${client ? " client" : ""}` +
        `${kind === "config" ? ` cfg-${g.cfgMode}` : ""}` +
        `${first !== undefined ? ` retry${twice ? " twice" : ""}` : ""}`,
      style: `left:${slot.x + 1}px;width:${slot.w - 3}px;--fill:${termColour(entry.term)};${colours}`,
      title: `${serverName(node.id)} index ${entry.index}, term ${entry.term}: ${what}${who} — ${committed ? "committed" : "not committed yet"}`,
      "data-index": entry.index, "data-term": entry.term, "data-committed": String(committed), "data-kind": kind,
      "data-client": client ? entry.client : null, "data-client-seq": client ? entry.seq : null,
      "data-retry-of": first !== undefined ? first : null,
    }, el("span", { class: "t", text: first !== undefined ? `${entry.term}${RETRY}` : entry.term }), el("span", { class: "c", text: command }));
    // In presenter mode a command that does not fit is hidden rather than cut
    // (a configuration's label always fits: its column is made wide enough).
    if (g.presenter && g.cmd && kind !== "config" && !fits(command)) c.classList.add("no-c");
    return c;
  }

  // ▾next at the left of its slot, match▾ / commit▾ ending at the right of
  // their entry; flipped or shortened to stay inside their run of columns.
  pointers(n, strip) {
    const g = this.geom;
    const marks = [];
    if (n.up && n.role === "leader" && n.commit_index) {
      marks.push({ index: n.commit_index, word: "commit", end: true, title: "this leader's commitIndex" });
    } else {
      const p = pointersFor(n, leaderOf(n, this.model.nodes));
      if (p) {
        if (p.match) marks.push({ index: p.match, word: "match", end: true, title: "matchIndex: what the leader knows this server holds" });
        marks.push({ index: p.next, word: "next", end: false, title: "nextIndex: the next entry the leader will send this server" });
      }
    }
    let used = -Infinity;                                   // right end of the previous mark
    marks.forEach((mark, k) => {
      const slot = this.slotOf(mark.index);
      if (!slot) return;
      const [runLo, runEnd] = this.run(slot);
      const after = marks[k + 1] && this.slotOf(marks[k + 1].index);    // leave the next mark its start
      const runHi = after ? Math.min(runEnd, after.x) : runEnd;
      const full = { start: `▾${mark.word}`, end: `${mark.word}▾` };
      const fit = (text, end) => {
        const w = this.measure(text, g.pf, true);
        const left = end ? slot.x + slot.w - w : slot.x;
        return left >= Math.max(runLo, used) && left + w <= runHi ? { left, w, text } : null;
      };
      const at = fit(mark.end ? full.end : full.start, mark.end) || fit(mark.end ? full.start : full.end, !mark.end) ||
        fit(`▾${mark.word[0]}`, false) || { left: slot.x, w: 0, text: "▾" };
      used = at.left + at.w;
      strip.append(el("span", { class: "pointer", style: `left:${at.left}px`, title: `${mark.word}: ${mark.title}`, text: at.text }));
    });
  }

  // The x range of the run of columns a slot belongs to (folds bound it).
  run(slot) {
    const slots = this.geom.slots;
    let i = slots.indexOf(slot), j = i;
    while (i > 0 && slots[i - 1].kind === "col") i--;
    while (j < slots.length - 1 && slots[j + 1].kind === "col") j++;
    const end = j === slots.length - 1 ? this.geom.total : slots[j].x + slots[j].w;
    return [slots[i].x, end];
  }

  click(e) {
    const fold = e.target.closest("button.fold");
    if (fold) {
      const from = Number(fold.dataset.from), to = Number(fold.dataset.to);
      if (fold.dataset.kind === "prefix") this.prefixOpen = true;
      else if (fold.dataset.kind === "gap") this.opened.push([from, to]);
      else if (fold.dataset.prefix) this.prefixOpen = false;
      else this.opened = this.opened.filter(([a, b]) => a !== from || b !== to);
      this.atEnd = false;
      this.refresh(true);
      // Keep the opened range in view.
      const slot = this.colX.get(from);
      if (this.geom.overflow && slot) this.hscroll.scrollLeft = Math.max(0, slot.x - 20);
      return;
    }
    const cell = e.target.closest(".cell, .snap");
    const row = cell && cell.closest("[data-log-node]");
    if (!row) return;
    const node = this.model.nodes.get(Number(row.dataset.logNode));
    if (node && cell.classList.contains("snap")) {
      this.onEntry(node.id, { snapshot: true, index: node.snapshot_index });
      return;
    }
    const entry = node && entryAt(node, Number(cell.dataset.index));
    if (entry) this.onEntry(node.id, entry);
  }

  wheel(e) {
    if (!this.geom || !this.geom.overflow) return;
    const dx = e.shiftKey ? e.deltaY || e.deltaX : e.deltaX;
    if (!dx || (!e.shiftKey && Math.abs(e.deltaX) < Math.abs(e.deltaY))) return;
    e.preventDefault();
    this.hscroll.scrollLeft += dx;
  }

  scrolled() {
    const g = this.geom;
    if (!g || !g.overflow) return;
    this.sx = this.hscroll.scrollLeft;
    this.atEnd = this.sx >= g.total - g.room - 2;
    this.root.style.setProperty("--sx", `${this.sx}px`);
    // Build the cells that scroll into view.
    const [lo, hi] = this.built || [0, 0];
    if (this.sx < lo || this.sx + g.room > hi) {
      for (const [id, r] of this.rows) this.buildRow(id, r.key);
    }
  }
}
