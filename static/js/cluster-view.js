// The cluster on a ring, in SVG. Draws what the model holds; moves messages
// and election timers from their absolute virtual times.
//
// Sizes are screen pixels: the viewBox is the stage's own size, so a text
// size set here is the size on screen (presenter mode guarantees 18 px at
// 1280x720). The ring is laid out to fill the stage, leaving room for the
// timer arcs above each server and its captions below.
import { svg, clear, serverName } from "./dom.js";
import { standing as standingIn, ownStanding, configBadges, otherConfigurations, knowsConfig, isPlain, serverList } from "./membership.js";

const ROLE_LABEL = { follower: "follower", candidate: "candidate", leader: "leader" };
// Partition halos: pale fills, in colours the configuration's rings (pink C_old,
// blue C_new) do not use.
const GROUP_COLOURS = ["#F0E442", "#E69F00", "#009E73", "#999999"];
const DEATH_MS = 1500;           // wall ms a lost message's mark stays while playing
const DOTS_ABOVE = 5;            // with more servers than this, messages are small shapes

export function messageLabel(m) {
  switch (m.type) {
    case "RequestVote": return { text: "Vote?", cls: "rv", shape: "diamond" };
    case "RequestVoteReply": return m.vote_granted ? { text: "Yes", cls: "ok", shape: "circle" }
      : { text: "No", cls: "no", shape: "circle" };
    // PreVote and its replies are hollow: they change no term and no vote.
    case "PreVote": return { text: "Pre?", cls: "pv", shape: "diamond" };
    case "PreVoteReply": return m.vote_granted ? { text: "Pre ✓", cls: "pok", shape: "circle" }
      : { text: "Pre ✗", cls: "pno", shape: "circle" };
    case "TimeoutNow": return { text: "Now!", cls: "tn", shape: "triangle" };
    case "AppendEntries":
      return m.entries.length ? { text: `+${m.entries.length}`, cls: "ae", shape: "square" }
        : { text: "♥", cls: "hb", shape: "square" };
    case "AppendEntriesReply": return m.success ? { text: "OK", cls: "ok", shape: "small-square" }
      : { text: "✗", cls: "no", shape: "small-square" };
    // Section 7: the leader's whole snapshot, up to its last included index; the reply says whether it took.
    case "InstallSnapshot": return { text: `Snap ≤${m.last_included_index}`, cls: "is", shape: "hexagon" };
    case "InstallSnapshotReply": return m.match_index ? { text: "Snap ✓", cls: "isok", shape: "small-hexagon" }
      : { text: "Snap ✗", cls: "isno", shape: "small-hexagon" };
    default: return { text: "?", cls: "", shape: "circle" };
  }
}

export function messageTitle(m) {
  const who = `${serverName(m.src)} → ${serverName(m.dst)}`;
  switch (m.type) {
    case "RequestVote": return `RequestVote ${who}, term ${m.term}${m.transfer ? " (a leadership transfer)" : ""}`;
    case "RequestVoteReply": return `Vote ${m.vote_granted ? "granted" : "refused"} ${who}, term ${m.term}`;
    case "PreVote": return `PreVote ${who}: could ${serverName(m.src)} win an election for term ${m.term}? (no term changes)`;
    case "PreVoteReply": return `Pre-vote ${m.vote_granted ? "granted" : "refused"} ${who}, term ${m.term}`;
    case "TimeoutNow": return `TimeoutNow ${who}: start an election at once (leadership transfer)`;
    case "InstallSnapshot": return `InstallSnapshot ${who}: the leader's snapshot through index ${m.last_included_index} ` +
      `(term ${m.last_included_term}), for a follower that needs entries the leader has discarded`;
    case "InstallSnapshotReply": return m.match_index ? `Snapshot taken ${who}: it now matches through index ${m.match_index}`
      : `Snapshot refused ${who}, term ${m.term}`;
    case "AppendEntries": {
      const n = m.entries.length;
      if (!n) return `Heartbeat (empty AppendEntries) ${who}`;
      const configs = m.entries.filter((e) => e.kind === "config").length;
      return `AppendEntries ${who} with ${n} entr${n === 1 ? "y" : "ies"}${configs ? ` (${configs} a configuration)` : ""}`;
    }
    default: return `AppendEntries ${m.success ? "succeeded" : "failed"} ${who}`;
  }
}

/** The first caption line: the role, or for a follower what kind of follower it is. */
export function nodeCaption(n, standing = "voter") {
  if (!n.up) return "down";
  if (n.role === "follower") {
    if (n.pre_votes) return "pre-candidate";             // asking for pre-votes, still a follower (thesis 9.6)
    if (standing === "learner") return "learner";
    if (standing === "outside") return "outside";
  }
  return ROLE_LABEL[n.role];
}

export function nodeSubCaption(n, standing = "voter", leader = null) {
  if (!n.up) return "crashed";
  if (n.role === "candidate") return `${n.votes.length} vote${n.votes.length === 1 ? "" : "s"}`;
  if (n.role === "leader") {
    if (n.transfer_to) return `handing to ${serverName(n.transfer_to)}`;
    return standing === "outside" ? "not a voter" : "";
  }
  if (n.pre_votes) return `${n.pre_votes.length} pre-vote${n.pre_votes.length === 1 ? "" : "s"}`;
  if (standing === "learner" && leader?.catch_up?.[n.id]) return "catching up";
  if (n.leader_id && n.leader_id !== n.id) return `follows ${serverName(n.leader_id)}`;
  if (standing === "outside") return "not a voter";
  return n.voted_for ? `voted ${serverName(n.voted_for)}` : "no vote yet";
}

/** Words for a server's place in its own configuration (its accessible name says them). */
const STANDING_WORDS = {
  voter: "", both: "in C_old and C_new", old: "in C_old only (leaving)", new: "in C_new only (joining)",
  learner: "learner (receives the log, does not vote)", outside: "outside the configuration",
};
/** ... and in the joint configuration the ring shows (its rings). */
const GROUP_WORDS = { both: "in the ring's C_old and C_new", old: "in the ring's C_old only", new: "in the ring's C_new only" };

/** Where a server is in the ring's joint configuration: "both", "old", "new", or "" (not joint, or in neither). */
function jointGroup(config, id) {
  if (!config?.old_voters) return "";
  const s = standingIn(config, id);
  return s === "both" || s === "old" || s === "new" ? s : "";
}

// How far the rings around a shape reach beyond it: the timer (r + 9) and vote
// dots; during joint consensus C_old (r + 13) and C_new (r + 18); an isolated
// server's red ring (r + 23.5).
const RINGS = 25.5, TIMER_RING = 15;

// Ways to make a crowded ring fit, tried in turn (at each, the text first comes
// down to its floor): drop the lines about other servers' configurations (each
// such server keeps its badge); on a wide, short stage, lay the servers out in
// two rows (a ring squashed flat); badges without "uses"; drop the second
// caption line, then the lines across the top (every server then gets a badge
// where servers disagree), then draw the shapes smaller. Servers never overlap
// while one of these is left. `rows`: "wide" means two rows where the stage is wide.
const FULL = { others: true, subs: true, lines: true, short: false, rScale: 1, rows: false };
const LEVELS = [
  { ...FULL },
  { ...FULL, others: false },
  { ...FULL, rows: true },
  { ...FULL, others: false, rows: true },
  { ...FULL, others: false, short: true, rows: "wide" },
  { ...FULL, others: false, short: true, subs: false, rows: "wide" },
  { ...FULL, others: false, short: true, subs: false, lines: false, rows: "wide" },
  { ...FULL, others: false, short: true, subs: false, lines: false, rows: "wide", rScale: 0.88 },
];
const WIDE = 1.2;              // a stage at least this much wider than high may hold two rows

/** Where each of n servers sits, in units of the ring's half axes: on an
 * ellipse clockwise from the top, or in two rows (the ring squashed flat, the
 * lower row between the servers of the upper one, S1 in the middle on top). */
function arrangement(n, rows) {
  if (n === 1) return [{ x: 0, y: 0 }];
  if (!rows) return Array.from({ length: n }, (_, k) => {
    const a = -Math.PI / 2 + (2 * Math.PI * k) / n;
    return { x: Math.cos(a), y: Math.sin(a) };
  });
  const t = Math.ceil(n / 2), b = n - t;
  const spots = [];
  for (let i = 0; i < t; i++) spots.push({ x: t === 1 ? 0 : -1 + (2 * i) / (t - 1), y: -1 });
  // The lower row, right to left (clockwise), each between two of the upper row when it can.
  const step = t === 1 ? 2 : 2 / (t - 1);
  for (let i = 0; i < b; i++) spots.push({ x: (b - 1) / 2 * step - i * step, y: 1 });
  const first = Math.floor((t - 1) / 2);
  return Array.from({ length: n }, (_, k) => spots[(k + first) % n]);
}

/** The shape of a message drawn small: its type by shape and colour (the legend shows them). */
export function messageShape(shape, s) {
  switch (shape) {
    case "diamond": return svg("polygon", { class: "body", points: `0,${-s * 1.3} ${s * 1.3},0 0,${s * 1.3} ${-s * 1.3},0` });
    case "square": return svg("rect", { class: "body", x: -s, y: -s, width: 2 * s, height: 2 * s, rx: 2 });
    case "small-square": return svg("rect", { class: "body", x: -s * 0.8, y: -s * 0.8, width: 1.6 * s, height: 1.6 * s, rx: s * 0.4 });
    case "triangle": return svg("polygon", { class: "body", points: `0,${-s * 1.4} ${s * 1.3},${s * 0.9} ${-s * 1.3},${s * 0.9}` });
    case "hexagon": case "small-hexagon": {                     // InstallSnapshot and its reply
      const r = shape === "hexagon" ? s * 1.35 : s * 0.95;
      const points = Array.from({ length: 6 }, (_, k) => `${(r * Math.cos(k * Math.PI / 3)).toFixed(1)},${(r * Math.sin(k * Math.PI / 3)).toFixed(1)}`);
      return svg("polygon", { class: "body", points: points.join(" ") });
    }
    default: return svg("circle", { class: "body", r: s });
  }
}

export class ClusterView {
  constructor(root, model, { onSelect, onLink }) {
    this.root = root;
    this.model = model;
    this.onSelect = onSelect;
    this.onLink = onLink;
    this.selected = null;                  // {kind: "node"|"message", id}
    this.positions = new Map();
    this.nodeEls = new Map();
    this.messageEls = new Map();
    this.deaths = [];                      // lost messages: where and when they died
    this.preferDots = localStorage.getItem("raftviz-dots") === "on";
    this.halos = svg("g", { class: "halos" });
    this.links = svg("g", { class: "links" });
    this.nodeLayer = svg("g", { class: "nodes" });
    this.messageLayer = svg("g", { class: "messages" });
    this.deathLayer = svg("g", { class: "deaths", "aria-hidden": "true" });
    // Captions lie above everything, with a halo, so a message passing by never
    // makes them unreadable; clicks go through them to what is below.
    this.captionLayer = svg("g", { class: "captions", "aria-hidden": "true" });
    // Lines of text across the top: the partition's groups and the configuration.
    this.topLines = svg("g", { class: "top-lines" });
    this.measurer = document.createElement("canvas").getContext("2d");
    this.widths = new Map();               // measured text widths
    // Messages lie above the servers (a click on a message just sent selects the
    // message); they are placed clear of their sender's and receiver's shapes and
    // captions, so they never hide them.
    root.append(this.halos, this.links, this.nodeLayer, this.messageLayer, this.deathLayer, this.captionLayer,
      this.topLines);
    this.onResize = null;
    // Re-laid out at once when the stage changes size (the narration grows, the
    // drawer opens), before the browser paints: text never shows at a wrong scale.
    let size = "";
    new ResizeObserver(() => {
      const now = `${root.clientWidth}x${root.clientHeight}`;
      if (now === size) return;
      size = now;
      if (this.model.ready) { this.render(); this.onResize?.(); }
    }).observe(root);
  }

  get dots() {
    return this.preferDots || this.model.nodes.size > DOTS_ABOVE;
  }

  setPreferDots(on) {
    this.preferDots = on;
    localStorage.setItem("raftviz-dots", on ? "on" : "off");
    this.render();
  }

  // ----- layout, in screen pixels --------------------------------------------------
  layout(ids) {
    const W = Math.max(this.root.clientWidth, 160), H = Math.max(this.root.clientHeight, 120);
    const presenter = document.body.classList.contains("presenter");
    // A scenario's label ("(a)") stands left of the shape, beside the server's name.
    const labels = this.model.scenario?.labels || {};
    this.labels = JSON.stringify(labels);
    this.config = this.model.configuration();
    const wide = W >= WIDE * H;
    // The text size follows the stage (presenter mode never goes below 18 px); it
    // comes down, to its floor, while neighbouring servers' captions would collide.
    const floor = presenter ? 18 : 13;
    const T0 = presenter ? Math.max(18, Math.min(30, H / 27)) : Math.max(13, Math.min(22, H / 36));
    const widest = (texts, T, weight) => Math.max(0, ...texts.filter(Boolean).map((t) => this.textWidth(t, T, weight)));
    const place = (level, stretch, T) => {
      this.level = level;
      this.badges = this.badgeTexts(ids);
      this.lines = level.lines ? this.statusLines(ids, W, T, level.others) : [];
      const extra = { label: widest(Object.values(labels), T, 700), badge: widest([...this.badges.values()], T, 600) };
      this.placeRing(ids, W, H, T, T / T0, extra, presenter, stretch, level, this.reservesBadges(ids));
      return this.overlap(ids);
    };
    // If nothing fits, the way that overlaps least (the first of equals).
    let best = null, fitted = false;
    for (const each of LEVELS) {
      if (each.rows === true && !wide) continue;
      const level = { ...each, rows: each.rows === "wide" ? wide : each.rows };
      // Then, on a short stage, the ring may stretch wider than usual.
      for (const stretch of level.rows ? [1] : [1.6, 2.6]) {
        let depth;
        for (let T = T0; ; T = Math.max(floor, T - 1)) {
          depth = place(level, stretch, T);
          if (T <= floor || !depth) break;
        }
        if (!depth) { fitted = true; break; }
        if (!best || depth < best.depth - 0.5) best = { depth, level, stretch };
      }
      if (fitted) break;
    }
    if (!fitted) place(best.level, best.stretch, floor);
    this.legend = this.cornerLegend(ids);
    this.root.setAttribute("viewBox", `${-W / 2} ${-H / 2} ${W} ${H}`);
    this.root.style.setProperty("--t", `${this.geo.T.toFixed(1)}px`);
  }

  textWidth(text, T, weight = 400) {
    const key = `${weight}|${T}|${text}`;
    let w = this.widths.get(key);
    if (w === undefined) {
      const font = this.font ??= getComputedStyle(this.root).fontFamily;     // read once: reading styles may cost a recalculation
      this.measurer.font = `${weight} ${T}px ${font}`;
      w = this.measurer.measureText(text).width;
      if (this.widths.size > 2000) this.widths.clear();
      this.widths.set(key, w);
    }
    return w;
  }

  /** Each server's badge: what its own configuration is, where it is not the
   * ring's (named above the ring), or for every server where servers disagree
   * and that line is not shown. */
  badgeTexts(ids) {
    const { lines, short } = this.level;
    const found = configBadges(this.model.nodes, this.config, { all: !lines, short });
    // A new server outside the configuration that knows none: its caption ("outside") says enough.
    const said = (id) => !knowsConfig(this.model.nodes.get(id)?.config) && standingIn(this.config, id) === "outside";
    return new Map(ids.filter((id) => found.has(id) && !said(id)).map((id) => [id, found.get(id)]));
  }

  /** Whether the captions keep a line for badges: while any server has one, or
   * while a change is under way (learners, or joint consensus): badges then come
   * and go as the new configuration spreads, and the ring should not jump each time. */
  reservesBadges() {
    const c = this.config;
    return this.badges.size > 0 || Boolean(c && (c.old_voters || c.learners?.length));
  }

  /** How far the rings around a shape reach beyond it now. */
  ringsOut() {
    return this.config?.old_voters || this.model.network.isolated.length ? RINGS : TIMER_RING;
  }

  /** Positions on an ellipse that fills the stage, for text size T. */
  placeRing(ids, W, H, T, shrink, extra, presenter, stretch, level, reserve) {
    const n = ids.length;
    const r = level.rScale * Math.max(2.15 * T, Math.min(W, H) * (n <= 5 ? 0.085 : n <= 7 ? 0.072 : 0.062) * shrink);
    // Below the shape, its caption lines: the role, what it does (voted, follows), its configuration's badge.
    const rows = 1 + (level.subs ? 1 : 0) + (reserve ? 1 : 0);
    const cap = (0.3 + 1.2 * rows) * T;
    // Above: the rings, the timer arc and vote dots (and the lines of text at the top left).
    const rings = Math.max(this.ringsOut(), 0.3 * r + 4);       // (a candidate's diamond reaches 1.3 r)
    const top = r + rings + this.lines.length * 1.4 * T;
    const bottom = r + cap;
    // The shape with its rings and label (left of it), or its widest caption or badge.
    // The shape with its rings, or its widest caption or badge; left of it, a scenario's label.
    const halfR = Math.max(r + rings, 3.2 * T, extra.badge / 2 + 0.4 * T);
    const halfL = Math.max(halfR, extra.label ? r + 14 + extra.label : 0);
    const half = halfL;
    const spots = arrangement(n, level.rows);
    const sinMax = n === 1 ? 0 : Math.max(...spots.map((p) => p.y));
    const cosMax = n === 1 ? 1 : Math.max(...spots.map((p) => Math.abs(p.x)));
    const ay = n === 1 ? 0 : Math.max(0, (H - top - bottom - 8) / (1 + sinMax));
    const cy = n === 1 ? (top - bottom) / 2 : -H / 2 + top + 4 + ay;
    // (Shifted right by half what the labels add on the left.)
    const cx = (halfL - halfR) / 2;
    const ax = n === 1 ? 0 : Math.min(Math.max(0, (W / 2 - (halfL + halfR) / 2 - 6) / cosMax), level.rows ? Infinity : ay * stretch);
    this.positions.clear();
    ids.forEach((id, k) => this.positions.set(id, { x: cx + ax * spots[k].x, y: cy + ay * spots[k].y }));
    const mt = presenter ? Math.max(18, 0.9 * T) : 0.85 * T;       // message text
    this.geo = { W, H, T, r, top, bottom, half, halfL, halfR, cap, rows, rings, reserve, badgeW: extra.badge, mt, dot: Math.max(7, 0.5 * T), presenter };
  }

  /** The lines of text across the top, each a list of [text, class] pieces,
   * wrapped to the stage's width at text size T: the partition's groups; the
   * ring's configuration when it is anything but "everyone votes" or when
   * servers disagree; and (with `others`) each other configuration servers use,
   * with who uses it (a second leader's among them). */
  statusLines(ids, W, T, others = true) {
    const lines = [];
    const groups = this.model.network.partition;
    if (groups) lines.push([[`Partition: ${groups.map((g) => `{${g.map(serverName).join(", ")}}`).join("  |  ")}`, "head"]]);
    const c = this.config;
    if (!c) return lines;
    // (New servers outside the configuration that know none are already "outside" on the line.)
    const rest = otherConfigurations(this.model.nodes, c)
      .filter((g) => knowsConfig(g.config) || g.ids.some((id) => standingIn(c, id) !== "outside"));
    if (isPlain(c, ids) && !rest.length) return lines;
    const outside = ids.filter((id) => standingIn(c, id) === "outside");
    const whose = c.byLeader ? `leader ${serverName(c.of)}` : `${serverName(c.of)}, latest`;
    const items = c.old_voters
      ? [[`C_old,new (${whose}):`, "head"], [`old ${serverList(c.old_voters)}`, "old"], [`new ${serverList(c.voters)}`, "new"]]
      : [[`Configuration (${whose}):`, "head"], [`voters ${serverList(c.voters)}`, ""]];
    if (c.learners?.length) items.push([`learner${c.learners.length > 1 ? "s" : ""} ${serverList(c.learners)}`, "learner"]);
    if (outside.length) items.push([`outside ${serverList(outside)}`, "outside"]);
    this.wrap(lines, items, W, T);
    if (!others) return lines;
    for (const g of rest) {
      const names = g.ids.map((id) => `${serverName(id)}${g.leaders.includes(id) ? " (leader)" : ""}`);
      const who = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : names[0];
      const one = g.ids.length === 1;
      if (!knowsConfig(g.config)) {
        this.wrap(lines, [[`${who} know${one ? "s" : ""} no configuration yet`, "differs"]], W, T);
        continue;
      }
      const own = g.config;
      const parts = own.old_voters
        ? [[`C_old,new: old ${serverList(own.old_voters)}`, ""], [`new ${serverList(own.voters)}`, ""]]
        : [[`voters ${serverList(own.voters)}`, ""]];
      if (own.learners?.length) parts.push([`learner${own.learners.length > 1 ? "s" : ""} ${serverList(own.learners)}`, "learner"]);
      this.wrap(lines, [[`${who} use${one ? "s" : ""}:`, "differs"], ...parts], W, T);
    }
    return lines;
  }

  /** Greedy wrapping by measured width into new lines, so no line runs off the stage.
   * Items are separated by " · ", except the heading, followed by a space. */
  wrap(lines, items, W, T) {
    const heads = new Set(["head", "differs"]);
    const width = (text, cls) => this.textWidth(text, T, heads.has(cls) ? 700 : 400);
    const room = W - 20;
    let line = [], used = 0;
    const sep = () => (!line.length ? "" : line.length === 1 && heads.has(line[0][1]) ? " " : " · ");
    for (const [text, cls] of items) {
      if (line.length && used + width(sep() + text, cls) > room) { lines.push(line); line = []; used = 0; }
      const piece = [sep() + text, cls];
      line.push(piece);
      used += width(piece[0], cls);
    }
    if (line.length) lines.push(line);
  }

  /** Where the lines across the top gave way during joint consensus: the rings'
   * legend in a corner of the stage that no server's box reaches, if one is free. */
  cornerLegend(ids) {
    const c = this.config;
    if (this.level.lines || !c?.old_voters) return null;
    const { W, H, T } = this.geo;
    const items = [[`old ${serverList(c.old_voters)}`, "old"], [`new ${serverList(c.voters)}`, "new"]];
    const bw = Math.max(...items.map(([t]) => this.textWidth(t, T, 700))) + 0.95 * T + 4;
    const bh = 2.6 * T + 4;
    const boxes = ids.map((id) => this.nodeBox(this.positions.get(id)));
    for (const [sx, sy] of [[-1, -1], [1, -1], [-1, 1], [1, 1]]) {
      const x = sx < 0 ? -W / 2 + 8 : W / 2 - 8 - bw, y = sy < 0 ? -H / 2 + 4 : H / 2 - 4 - bh;
      const box = { x: x + bw / 2, y: y + bh / 2, hw: bw / 2, hh: bh / 2 };
      if (!boxes.some((b) => overlaps(b, box, box))) return { x, y, items };
    }
    return null;
  }

  drawStatusLines() {
    const { W, H, T } = this.geo;
    clear(this.topLines);
    const legend = this.legend;
    legend?.items.forEach(([piece, cls], k) => {
      const y = legend.y + 1.1 * T + k * 1.3 * T;
      this.topLines.append(svg("circle", { class: `swatch ${cls}`, cx: legend.x + 0.45 * T, cy: y - 0.33 * T, r: 0.32 * T }),
        svg("text", { class: "status-line legend", x: legend.x + 0.95 * T, y }, svg("tspan", { class: cls }, piece)));
    });
    this.lines.forEach((line, k) => {
      const x0 = -W / 2 + 10, y = -H / 2 + T + 4 + k * 1.4 * T;
      const text = svg("text", { class: "status-line", x: x0, y });
      let x = x0;
      for (const [piece, cls] of line) {
        // C_old and C_new come with a sample of their rings: the legend of the ring.
        if (cls === "old" || cls === "new") {
          const lead = piece.match(/^(?: · | )?/)[0];
          const cx = x + this.textWidth(lead, T) + 0.45 * T;
          this.topLines.append(svg("circle", { class: `swatch ${cls}`, cx, cy: y - 0.33 * T, r: 0.32 * T }));
          text.append(svg("tspan", { class: cls }, lead), svg("tspan", { class: cls, dx: 0.95 * T }, piece.slice(lead.length)));
          x += 0.95 * T;
        } else {
          text.append(svg("tspan", { class: cls || null }, piece));
        }
        x += this.textWidth(piece, T, cls === "head" || cls === "differs" ? 700 : cls === "old" || cls === "new" ? 700 : 400);
      }
      this.topLines.append(text);
    });
    this.linesKey = JSON.stringify([this.lines, this.legend]);
  }

  /** The box a server takes with its rings, label and captions, around its centre. */
  nodeBox(p) {
    const { r, cap, halfL, halfR, rings } = this.geo;
    return { x: p.x + (halfR - halfL) / 2, y: p.y + (cap - rings) / 2, hw: (halfL + halfR) / 2, hh: (r + rings + r + cap) / 2 };
  }

  /** Whether two servers' boxes overlap. */
  /** How far servers' boxes overlap: the sum over pairs of the depth of each overlap (0: none). */
  overlap(ids) {
    const boxes = ids.map((id) => this.nodeBox(this.positions.get(id)));
    let depth = 0;
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i], b = boxes[j];
        const dx = a.hw + b.hw - Math.abs(a.x - b.x), dy = a.hh + b.hh - Math.abs(a.y - b.y);
        if (dx > 0 && dy > 0) depth += Math.min(dx, dy);
      }
    }
    return depth;
  }

  // ----- from scratch -------------------------------------------------------------
  render() {
    const ids = [...this.model.nodes.keys()].sort((a, b) => a - b);
    this.layout(ids);
    clear(this.halos);
    clear(this.links);
    clear(this.nodeLayer);
    clear(this.messageLayer);
    clear(this.deathLayer);
    clear(this.captionLayer);
    this.nodeEls.clear();
    this.messageEls.clear();
    this.deaths.forEach((d) => d.el?.remove());     // their places were those of the old layout
    this.deaths = [];
    this.linkEls = new Map();
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) this.addLink(ids[i], ids[j]);
    }
    for (const id of ids) this.addNode(id);
    this.drawStatusLines();
    this.updateLinks();
    this.configKey = null;
    this.updateConfiguration();
    for (const id of ids) this.updateNode(id);
    this.syncMessages();
    this.drawn = null;                     // the next frame draws everything
  }

  addLink(a, b) {
    const p = this.positions.get(a), q = this.positions.get(b);
    const mid = { x: (p.x + q.x) / 2, y: (p.y + q.y) / 2 };
    const g = svg("g", { class: "link", "data-link": `${a}-${b}` },
      svg("line", { class: "wire", x1: p.x, y1: p.y, x2: q.x, y2: q.y }),
      svg("line", { class: "hit", x1: p.x, y1: p.y, x2: q.x, y2: q.y }),
      svg("g", { class: "cut-sign", visibility: "hidden" },
        svg("circle", { class: "cut-badge", cx: mid.x, cy: mid.y, r: this.geo.T * 0.8 }),
        svg("text", { class: "cut-mark", x: mid.x, y: mid.y }, "✕")),
      svg("title", {}, `Link ${serverName(a)}–${serverName(b)}: click to cut or restore`));
    g.addEventListener("click", () => this.onLink(a, b));
    this.links.append(g);
    this.linkEls.set(`${a}-${b}`, g);
  }

  addNode(id) {
    const p = this.positions.get(id);
    const { r, T, halfL, halfR, cap } = this.geo;
    const at = `translate(${p.x.toFixed(1)} ${p.y.toFixed(1)})`;
    const g = svg("g", { class: "node", transform: at, tabindex: 0, role: "button", "data-node-id": id });
    g.append(
      // Clicks on the captions (drawn in the caption layer) select the server too.
      svg("rect", { class: "hit", x: -halfL, y: r, width: halfL + halfR, height: cap - 0.15 * T, fill: "transparent" }),
      // During joint consensus: a solid pink ring for C_old, a dashed blue one for C_new.
      svg("circle", { class: "group-ring old", r: r + 13 }),
      svg("circle", { class: "group-ring new", r: r + 18 }),
      svg("circle", { class: "focus-ring", r: r + 15 }),
      svg("circle", { class: "isolated-ring", r: r + 23.5, display: "none" }),
      svg("g", { class: "shape-slot" }),
      svg("circle", { class: "member-ring", r: r + 4 }),   // a learner's dashed outline
      svg("path", { class: "timer" }),                      // over the shape: a diamond's corners never hide it
      svg("g", { class: "votes" }),
    );
    // Every text of a server is drawn in the caption layer; the server's accessible
    // name (aria-label) says all of it in words.
    g.captions = svg("g", { class: "node-captions", transform: at, "data-captions-of": id },
      svg("text", { class: "name", y: -r * 0.24, style: `font-size:${(1.2 * T).toFixed(1)}px` }, serverName(id)),
      svg("text", { class: "term", y: r * 0.4 }),
      svg("text", { class: "label", x: -r - 10, y: -r * 0.24 }),
      svg("text", { class: "caption", y: r + 0.35 * T }),
      svg("text", { class: "caption sub", y: r + 1.55 * T }),
      // Its own configuration, where it is not the ring's: "uses {S1–S3}".
      svg("g", { class: "badge", visibility: "hidden" }, svg("rect", { rx: 0.3 * T }), svg("text")));
    this.captionLayer.append(g.captions);
    g.addEventListener("click", () => this.onSelect({ kind: "node", id }));
    g.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); e.stopPropagation(); this.onSelect({ kind: "node", id }, "key"); }
    });
    this.nodeLayer.append(g);
    this.nodeEls.set(id, g);
  }

  // ----- incremental updates -----------------------------------------------------
  update(changed) {
    if (!changed || changed.nodes.size || changed.records.length) {
      this.config = this.model.configuration();
      const ids = [...this.model.nodes.keys()].sort((a, b) => a - b);
      this.badges = this.badgeTexts(ids);
      const lines = this.level.lines ? this.statusLines(ids, this.geo.W, this.geo.T, this.level.others) : [];
      // Room for a line more or less, or for badges: laid out again.
      // (A badge wider than those the ring was laid out for lays it out again.)
      const badgeW = Math.max(0, ...[...this.badges.values()].map((t) => this.textWidth(t, this.geo.T, 600)));
      if (lines.length !== this.lines.length || this.reservesBadges(ids) !== this.geo.reserve || badgeW > this.geo.badgeW + 0.5
          || Math.max(this.ringsOut(), 0.3 * this.geo.r + 4) !== this.geo.rings) { this.render(); return; }
      this.lines = lines;
      this.legend = this.cornerLegend(ids);
      if (JSON.stringify([lines, this.legend]) !== this.linesKey) this.drawStatusLines();
      // A new configuration changes where every server stands.
      const violation = changed?.records.some((r) => r.violations);
      const all = !changed || violation || this.updateConfiguration();
      for (const id of all ? this.model.nodes.keys() : changed.nodes) this.updateNode(id);
      this.updateLinks();
      this.syncMessages();
      for (const r of changed?.records || []) this.noteDeath(r);
    }
  }

  /** A message lost or dropped: remember where it died, for a short mark there. */
  noteDeath(record) {
    const m = record.message;
    const lost = record.kind === "drop" || (record.kind === "action" && record.action?.type === "drop");
    if (!lost || !m || !this.positions.has(m.src) || !this.positions.has(m.dst)) return;
    const f = Math.min(1, Math.max(0, (record.time - m.sent) / Math.max(m.arrives - m.sent, 1e-6)));
    const at = this.place(m, f, this.extents(messageLabel(m).text));
    this.deaths.push({ x: at.x, y: at.y, seq: record.seq, born: performance.now(), el: null });
  }

  updateNode(id) {
    const n = this.model.nodes.get(id);
    const g = this.nodeEls.get(id);
    if (!n || !g) return;
    const role = n.up ? n.role : "down";
    // Where it stands is told by its own configuration (it votes, counts and runs
    // for election by that one); its rings by the ring's joint configuration.
    const standing = ownStanding(n, this.config);
    const group = jointGroup(this.config, id);
    const badge = this.badges.get(id) || "";
    // Classes say the role, the place in the configuration and what is under way
    // (collecting pre-votes, handing leadership over); the CSS draws each.
    const marks = [standing, group === "both" || group === "old" ? "in-old" : "", group === "both" || group === "new" ? "in-new" : "",
      badge ? "differs" : "", n.up && n.pre_votes ? "precandidate" : "", n.up && n.transfer_to ? "transferring" : ""]
      .filter(Boolean).join(" ");
    if (g.dataset.role !== role) {
      const slot = g.querySelector(".shape-slot");
      clear(slot).append(this.shape(role));
    }
    const cls = `node ${role} ${marks}${this.isSelected("node", id) ? " selected" : ""}`;
    if (g.getAttribute("class") !== cls) {
      g.setAttribute("class", cls);
      g.captions.setAttribute("class", `node-captions ${role} ${marks}`);
    }
    g.dataset.role = role;
    g.dataset.term = n.term;
    g.dataset.up = n.up;
    g.dataset.member = standing;
    g.dataset.group = group;
    g.dataset.badge = badge;
    const label = this.model.scenario?.labels?.[id] || "";
    const leader = this.model.leader();
    const caption = nodeCaption(n, standing);
    const sub = nodeSubCaption(n, standing, leader);
    g.setAttribute("aria-label", [`${serverName(id)}${label ? " " + label : ""}`, `term ${n.term}`, caption, sub,
      STANDING_WORDS[standing], GROUP_WORDS[group], badge && badge.replace("uses", "its own configuration:")].filter(Boolean).join(", "));
    g.captions.querySelector(".label").textContent = label;
    g.captions.querySelector(".term").textContent = `term ${n.term}`;
    g.captions.querySelector(".caption").textContent = caption;
    g.captions.querySelector(".caption.sub").textContent = this.level.subs ? sub : "";
    // The badge on the line after the last caption shown.
    this.drawBadge(g, badge, this.level.subs && sub ? 2 : 1);
    const isolated = this.model.network.isolated.includes(id);
    const latest = this.model.violations.at(-1);
    g.classList.toggle("violating", Boolean(latest && latest.nodes.includes(id)));
    // Not drawn (and taking no room) unless isolated.
    g.querySelector(".isolated-ring").setAttribute("display", isolated ? "inline" : "none");
    const votes = clear(g.querySelector(".votes"));
    // Votes a candidate has (filled dots), or pre-votes a pre-candidate has (hollow).
    const got = n.up && n.role === "candidate" ? n.votes : n.up && n.pre_votes ? n.pre_votes : null;
    if (got) {
      const { r, T } = this.geo;
      const pre = n.role !== "candidate";
      got.forEach((voter, k) => {
        const a = -Math.PI / 2 + (k - (got.length - 1) / 2) * 0.36;
        votes.append(svg("circle", { class: pre ? "vote pre" : "vote", r: Math.max(6, T * 0.32), cx: (r + 2) * Math.cos(a), cy: (r + 2) * Math.sin(a) },
          svg("title", {}, `${pre ? "pre-vote" : "vote"} from ${serverName(voter)}`)));
      });
    }
    this.drawn = null;
  }

  shape(role) {
    const r = this.geo.r;
    if (role === "leader") return svg("rect", { class: "shape", x: -r, y: -r, width: 2 * r, height: 2 * r, rx: r * 0.25 });
    if (role === "candidate") {
      const d = r * 1.3;
      return svg("polygon", { class: "shape", points: `0,${-d} ${d},0 0,${d} ${-d},0` });
    }
    return svg("circle", { class: "shape", r });
  }

  updateLinks() {
    for (const [key, g] of this.linkEls) {
      const [a, b] = key.split("-").map(Number);
      const cut = this.model.cut(a, b);
      const blocked = this.model.blocked(a, b);
      // A cut link is drawn as cut; links down only because of a partition or an
      // isolated server fade out, and the groups are shown by halos instead.
      g.classList.toggle("cut", cut);
      g.classList.toggle("blocked", blocked && !cut);
      // A leadership transfer under way: the link from the leader to its chosen successor.
      const na = this.model.nodes.get(a), nb = this.model.nodes.get(b);
      const handing = Boolean((na?.up && na.transfer_to === b) || (nb?.up && nb.transfer_to === a));
      if (g.classList.contains("transfer") !== handing) g.classList.toggle("transfer", handing);
      g.querySelector(".cut-sign").setAttribute("visibility", cut ? "visible" : "hidden");
      const why = cut ? "cut" : blocked ? "down (partition or isolated server)" : "working";
      g.querySelector("title").textContent = `Link ${serverName(a)}–${serverName(b)}: ${why}. Click to ${cut ? "restore" : "cut"} it.`;
    }
    this.updateHalos();
  }

  updateHalos() {
    clear(this.halos);
    const groups = this.model.network.partition;
    if (!groups) return;
    groups.forEach((group, k) => {
      for (const id of group) {
        const p = this.positions.get(id);
        if (p) this.halos.append(svg("circle", { class: "halo", cx: p.x, cy: p.y, r: this.geo.r + 22,
          fill: GROUP_COLOURS[k % GROUP_COLOURS.length] }, svg("title", {}, `partition group ${k + 1}`)));
      }
    });
  }

  /** Notes whether the ring's configuration changed; returns whether it did
   * (then every server's standing and rings may have changed). */
  updateConfiguration() {
    const c = this.config;
    const key = JSON.stringify(c && [c.voters, c.old_voters, c.learners, c.of]);
    if (key === this.configKey) return false;
    this.configKey = key;
    return true;
  }

  /** A server's badge: its own configuration in a pill under its captions. */
  drawBadge(g, text, row) {
    const b = g.captions.querySelector(".badge");
    const t = b.querySelector("text");
    const { T, r } = this.geo;
    const key = `${text}|${T}|${row}`;
    if (b.dataset.key === key) return;
    b.dataset.key = key;
    t.textContent = text;
    b.setAttribute("visibility", text ? "visible" : "hidden");
    if (!text) return;
    const w = this.textWidth(text, T, 600);
    const y = r + (0.35 + 1.2 * row) * T;
    t.setAttribute("y", y.toFixed(1));
    const rect = b.querySelector("rect");
    rect.setAttribute("x", (-w / 2 - 0.3 * T).toFixed(1));
    rect.setAttribute("y", (y - 0.05 * T).toFixed(1));
    rect.setAttribute("width", (w + 0.6 * T).toFixed(1));
    rect.setAttribute("height", (1.15 * T).toFixed(1));
  }

  /** Half width and half height of a message as drawn. */
  extents(text) {
    const { mt, dot } = this.geo;
    if (this.dots) return { hw: dot * 1.3, hh: dot * 1.3 };
    return { hw: Math.max(mt * 1.3, (text.length * 0.62 * mt + 0.9 * mt) / 2), hh: mt * 0.8 };
  }

  syncMessages() {
    for (const [id, g] of this.messageEls) {
      if (!this.model.messages.has(id)) { g.remove(); this.messageEls.delete(id); }
    }
    const dots = this.dots;
    for (const [id, m] of this.model.messages) {
      if (this.messageEls.has(id) || !this.positions.has(m.src) || !this.positions.has(m.dst)) continue;
      const { text, cls, shape } = messageLabel(m);
      const ext = this.extents(text);
      const g = svg("g", { class: `message ${cls}${dots ? " dot" : ""}`, "data-message-id": id, visibility: "hidden" });
      // An explicit hit area a little larger than the drawing: small shapes stay easy to click.
      const pad = dots ? ext.hw * 0.6 : 4;
      g.append(svg("rect", { class: "hit", x: -ext.hw - pad, y: -ext.hh - pad, width: 2 * (ext.hw + pad), height: 2 * (ext.hh + pad) }));
      if (dots) {
        g.append(messageShape(shape, this.geo.dot));
      } else {
        g.append(svg("path", { class: "arrow", d: `M0,${-ext.hh * 0.5} L${ext.hh * 0.8},0 L0,${ext.hh * 0.5} Z` }),
          svg("rect", { class: "body", x: -ext.hw, y: -ext.hh, width: 2 * ext.hw, height: 2 * ext.hh, rx: ext.hh * 0.55 }),
          svg("text", { style: `font-size:${this.geo.mt.toFixed(1)}px` }, text));
      }
      g.append(svg("title", {}, messageTitle(m)));
      g.addEventListener("click", (e) => { e.stopPropagation(); this.onSelect({ kind: "message", id }); });
      g.ext = ext;
      if (this.isSelected("message", id)) g.classList.add("selected");
      this.messageLayer.append(g);
      this.messageEls.set(id, g);
    }
    this.drawn = null;
  }

  /** How far a message moves sideways, right of its direction of travel, so that
   * it and a message going the other way on the same link never overlap: enough
   * for the two (axis-aligned) boxes to clear each other in x or in y. */
  side(ux, uy, ext) {
    return Math.min(ext.hw / Math.max(Math.abs(uy), 1e-6), ext.hh / Math.max(Math.abs(ux), 1e-6)) + 2;
  }

  /** How far from a server's centre, in direction (ux, uy), a message of the given
   * extents clears the server's shape, timer and captions. */
  clearance(ux, uy, ext) {
    const { r, half, T, cap } = this.geo;
    const side = this.side(ux, uy, ext);
    const X = half + ext.hw + side;
    const Y = uy < 0 ? r + Math.max(this.geo.rings - 2, 20) + ext.hh + side : r + cap - 0.15 * T + ext.hh + side;
    const tx = Math.abs(ux) > 1e-6 ? X / Math.abs(ux) : Infinity;
    const ty = Math.abs(uy) > 1e-6 ? Y / Math.abs(uy) : Infinity;
    return Math.min(tx, ty);
  }

  /** Where message m is drawn when a fraction f of its flight is done (moved by
   * `push` along its way, to get clear of something). */
  place(m, f, ext, push = 0) {
    const p = this.positions.get(m.src), q = this.positions.get(m.dst);
    const dx = q.x - p.x, dy = q.y - p.y, len = Math.hypot(dx, dy) || 1;
    const ux = dx / len, uy = dy / len;
    let a = this.clearance(ux, uy, ext), b = len - this.clearance(-ux, -uy, ext);
    if (a > b) a = b = (a + b) / 2;                          // servers too close: the middle
    const d = Math.min(b, Math.max(a, a + (b - a) * f + push));
    const side = this.side(ux, uy, ext);
    return { x: p.x + ux * d - uy * side, y: p.y + uy * d + ux * side, ux, uy };
  }

  // ----- drawing what moves ----------------------------------------------------------
  /** Draws the moment `now`; returns "fast" while messages fly or marks fade (every
   * frame), "slow" while only the timer arcs and the clock move, null when still. */
  frame(now) {
    const playing = this.model.mode === "playing";
    const flying = this.drawMessages(now);
    const fading = this.drawDeaths(now, playing);
    this.drawTimers(now);
    this.drawn = now;
    return flying || fading ? "fast" : playing ? "slow" : null;
  }

  drawMessages(now) {
    if (this.drawn === now) return false;
    const placed = [];
    let visible = false;
    // Messages sent by one server at one moment are placed in turn; one that would
    // cover another moves further along its way, so a fan of requests stays legible.
    // (An update not drawn yet may have removed messages from the model: those wait
    // for syncMessages, hidden.)
    const order = [];
    for (const [id, g] of this.messageEls) {
      const m = this.model.messages.get(id);
      if (m) order.push([m, g]);
      else if (g.getAttribute("visibility") !== "hidden") g.setAttribute("visibility", "hidden");
    }
    order.sort(([a], [b]) => a.sent - b.sent || a.src - b.src || a.dst - b.dst);
    // Other servers' shapes and captions are obstacles too: a message passing one
    // moves a little ahead or back along its way rather than cover it. Other
    // messages matter most: a place clear of them is taken even if a caption is near.
    const { r, T, cap } = this.geo;
    const obstacles = [];
    for (const [id, p] of this.positions) {
      obstacles.push({ id, x: p.x, y: p.y, hw: r + 4, hh: r + 4 },
        { id, x: p.x, y: p.y + r + cap / 2, hw: 3.1 * T, hh: cap / 2 });
    }
    for (const [m, g] of order) {
      const f = (now - m.sent) / Math.max(m.arrives - m.sent, 1e-6);
      if (f < 0 || f > 1) { if (g.getAttribute("visibility") !== "hidden") g.setAttribute("visibility", "hidden"); continue; }
      visible = true;
      const ext = g.ext;
      const onMessage = (at) => placed.some((o) => overlaps(o, at, ext));
      const onServer = (at) => obstacles.some((o) => o.id !== m.src && o.id !== m.dst && overlaps(o, at, ext));
      const natural = this.place(m, f, ext);
      let at = natural, second = onMessage(natural) ? null : natural;
      for (let k = 1; k <= 12 && (onMessage(at) || onServer(at)); k++) {
        const moved = this.place(m, f, ext, (k % 2 ? 1 : -1) * Math.ceil(k / 2) * ext.hh * 1.5);
        if (!onMessage(moved)) {
          if (!onServer(moved)) at = moved;
          else second ??= moved;
        }
      }
      if (onMessage(at) || onServer(at)) at = second ?? natural;
      placed.push({ x: at.x, y: at.y, hw: ext.hw, hh: ext.hh });
      // On a link that is down, or to a server that is down, it will be lost unless that changes.
      const doomed = this.model.blocked(m.src, m.dst) || !this.model.nodes.get(m.dst)?.up;
      if (g.classList.contains("doomed") !== doomed) g.classList.toggle("doomed", doomed);
      g.setAttribute("transform", `translate(${at.x.toFixed(1)} ${at.y.toFixed(1)})`);
      if (g.getAttribute("visibility") !== "visible") g.setAttribute("visibility", "visible");
      const arrow = g.querySelector(".arrow");
      if (arrow) {
        // The arrow head touches the pill's edge in the direction of travel.
        const angle = Math.atan2(at.uy, at.ux) * 180 / Math.PI;
        const edge = Math.min(ext.hw / Math.max(Math.abs(at.ux), 1e-6), ext.hh / Math.max(Math.abs(at.uy), 1e-6));
        arrow.setAttribute("transform", `rotate(${angle.toFixed(0)}) translate(${(edge + 1).toFixed(1)} 0)`);
      }
    }
    return visible && this.model.mode === "playing";
  }

  drawDeaths(now, playing) {
    const wall = performance.now();
    const s = this.geo.T * 0.45;
    this.deaths = this.deaths.filter((d) => {
      const current = !playing && d.seq === this.model.seq;
      const age = wall - d.born;
      if (!current && (age > DEATH_MS || d.seq > this.model.seq)) { d.el?.remove(); return false; }
      if (!d.el) {
        d.el = svg("path", { class: "death", d: `M${d.x - s},${d.y - s} L${d.x + s},${d.y + s} M${d.x - s},${d.y + s} L${d.x + s},${d.y - s}` });
        this.deathLayer.append(d.el);
      }
      d.el.style.opacity = current ? "1" : (1 - age / DEATH_MS).toFixed(2);
      return true;
    });
    return this.deaths.some((d) => !(!playing && d.seq === this.model.seq));
  }

  drawTimers(now) {
    const [, hi] = this.model.config.election_timeout;
    const r = this.geo.r;
    for (const [id, g] of this.nodeEls) {
      const n = this.model.nodes.get(id);
      const timer = g.querySelector(".timer");
      // Quantized to 1/240 of a turn: the arc is rewritten only when it visibly changes.
      const left = !n || !n.up || n.timer === null ? 0 : Math.round(Math.min(Math.max(0, n.timer - now) / hi, 0.9999) * 240) / 240;
      if (g.timerLeft === left) continue;
      g.timerLeft = left;
      timer.setAttribute("d", arc(r + 9, left));
    }
  }

  // ----- selection -------------------------------------------------------------------
  isSelected(kind, id) {
    return this.selected && this.selected.kind === kind && this.selected.id === id;
  }

  select(sel) {
    this.root.querySelectorAll(".selected").forEach((e) => e.classList.remove("selected"));
    this.selected = sel;
    if (!sel) return;
    const el = sel.kind === "node" ? this.nodeEls.get(sel.id) : this.messageEls.get(sel.id);
    if (el) el.classList.add("selected");
  }
}

function overlaps(o, at, ext) {
  return Math.abs(o.x - at.x) < o.hw + ext.hw && Math.abs(o.y - at.y) < o.hh + ext.hh;
}

/** An arc clockwise from the top, covering `fraction` of a circle. */
function arc(radius, fraction) {
  if (fraction <= 0) return "";
  const a = -Math.PI / 2 + 2 * Math.PI * fraction;
  const x = radius * Math.cos(a), y = radius * Math.sin(a);
  const large = fraction > 0.5 ? 1 : 0;
  return `M0,${-radius} A${radius},${radius} 0 ${large} 1 ${x.toFixed(1)},${y.toFixed(1)}`;
}
