// The cluster on a ring, in SVG. Draws what the model holds; moves messages
// and election timers every frame from their absolute virtual times.
import { svg, clear, serverName } from "./dom.js";

const ROLE_LABEL = { follower: "follower", candidate: "candidate", leader: "leader" };

export function messageLabel(m) {
  switch (m.type) {
    case "RequestVote": return { text: "Vote?", cls: "rv" };
    case "RequestVoteReply": return m.vote_granted ? { text: "Yes", cls: "ok" } : { text: "No", cls: "no" };
    case "AppendEntries":
      return m.entries.length ? { text: `+${m.entries.length}`, cls: "ae" } : { text: "♥", cls: "hb" };
    case "AppendEntriesReply": return m.success ? { text: "OK", cls: "ok" } : { text: "✗", cls: "no" };
    default: return { text: "?", cls: "" };
  }
}

export function messageTitle(m) {
  const who = `${serverName(m.src)} → ${serverName(m.dst)}`;
  switch (m.type) {
    case "RequestVote": return `RequestVote ${who}, term ${m.term}`;
    case "RequestVoteReply": return `Vote ${m.vote_granted ? "granted" : "refused"} ${who}, term ${m.term}`;
    case "AppendEntries":
      return m.entries.length ? `AppendEntries ${who} with ${m.entries.length} entr${m.entries.length === 1 ? "y" : "ies"}`
        : `Heartbeat (empty AppendEntries) ${who}`;
    default: return `AppendEntries ${m.success ? "succeeded" : "failed"} ${who}`;
  }
}

export function nodeCaption(n) {
  return n.up ? ROLE_LABEL[n.role] : "down";
}

export function nodeSubCaption(n) {
  if (!n.up) return "crashed";
  if (n.role === "candidate") return `${n.votes.length} vote${n.votes.length === 1 ? "" : "s"}`;
  if (n.role === "leader") return "";
  return n.voted_for ? `voted ${serverName(n.voted_for)}` : "no vote yet";
}

const GROUP_COLOURS = ["#56B4E9", "#E69F00", "#CC79A7", "#009E73"];

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
    this.halos = svg("g", { class: "halos" });
    this.links = svg("g", { class: "links" });
    this.nodeLayer = svg("g", { class: "nodes" });
    this.messageLayer = svg("g", { class: "messages" });
    this.partitionLabel = svg("text", { class: "halo-label" });
    // Messages pass under the servers, so a server's label stays readable as it sends.
    root.append(this.halos, this.links, this.messageLayer, this.nodeLayer, this.partitionLabel);
    let pending = null, size = "";
    new ResizeObserver(() => {
      const now = `${root.clientWidth}x${root.clientHeight}`;
      if (now === size) return;
      size = now;
      clearTimeout(pending);
      pending = setTimeout(() => this.model.ready && this.render(), 100);
    }).observe(root);
  }

  // ----- from scratch -------------------------------------------------------------
  render() {
    const ids = [...this.model.nodes.keys()].sort((a, b) => a - b);
    const n = ids.length;
    this.radius = n <= 5 ? 58 : n <= 7 ? 56 : 54;
    const ring = n === 1 ? 0 : n <= 5 ? 240 : n <= 7 ? 290 : 330;
    // An ellipse shaped like the stage, so a wide, short stage is used fully.
    const w = this.root.clientWidth || 16, h = this.root.clientHeight || 10;
    const stretch = Math.min(2.1, Math.max(1, (w / h) * 0.75));
    this.positions.clear();
    ids.forEach((id, k) => {
      const angle = -Math.PI / 2 + (2 * Math.PI * k) / n;
      this.positions.set(id, { x: ring * stretch * Math.cos(angle), y: ring * Math.sin(angle) });
    });
    // Fit the picture to the ring: room for timer arcs above, captions below and beside.
    const xs = [...this.positions.values()].map((p) => p.x), ys = [...this.positions.values()].map((p) => p.y);
    const r = this.radius;
    // Text scales with the servers; the whole picture scales with the stage.
    this.root.style.setProperty("--node-text", `${(r * 0.5).toFixed(1)}px`);
    const box = [Math.min(...xs) - r - 150, Math.min(...ys) - r - 30, Math.max(...xs) + r + 150, Math.max(...ys) + r + 85];
    this.root.setAttribute("viewBox", `${box[0]} ${box[1]} ${box[2] - box[0]} ${box[3] - box[1]}`);
    this.corner = { x: box[0] + 10, y: box[1] + r * 0.6 };
    clear(this.halos);
    clear(this.links);
    clear(this.nodeLayer);
    clear(this.messageLayer);
    this.nodeEls.clear();
    this.messageEls.clear();
    this.linkEls = new Map();
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) this.addLink(ids[i], ids[j]);
    }
    for (const id of ids) this.addNode(id);
    this.updateLinks();
    for (const id of ids) this.updateNode(id);
    this.syncMessages();
  }

  addLink(a, b) {
    const p = this.positions.get(a), q = this.positions.get(b);
    const g = svg("g", { class: "link", "data-link": `${a}-${b}` },
      svg("line", { class: "wire", x1: p.x, y1: p.y, x2: q.x, y2: q.y }),
      svg("line", { class: "hit", x1: p.x, y1: p.y, x2: q.x, y2: q.y }),
      svg("g", { class: "cut-sign", visibility: "hidden" },
        svg("circle", { class: "cut-badge", cx: (p.x + q.x) / 2, cy: (p.y + q.y) / 2, r: this.radius * 0.4 }),
        svg("text", { class: "cut-mark", x: (p.x + q.x) / 2, y: (p.y + q.y) / 2 }, "✕")),
      svg("title", {}, `Link ${serverName(a)}–${serverName(b)}: click to cut or restore`));
    g.addEventListener("click", () => this.onLink(a, b));
    this.links.append(g);
    this.linkEls.set(`${a}-${b}`, g);
  }

  addNode(id) {
    const p = this.positions.get(id);
    const g = svg("g", { class: "node", transform: `translate(${p.x} ${p.y})`, tabindex: 0, role: "button",
      "data-node-id": id });
    const r = this.radius;
    g.append(
      svg("circle", { class: "focus-ring", r: r + 20 }),
      svg("circle", { class: "isolated-ring", r: r + 26, visibility: "hidden" }),
      svg("path", { class: "timer" }),
      svg("g", { class: "shape-slot" }),
      svg("text", { class: "name", y: -r * 0.2 }, serverName(id)),
      svg("text", { class: "term", y: r * 0.38 }),
      svg("g", { class: "votes" }),
      svg("text", { class: "caption", y: r + 40 }),
      svg("text", { class: "caption sub", y: r + 68 }),
    );
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
      const violation = changed?.records.some((r) => r.violations);
      for (const id of changed && !violation ? changed.nodes : this.model.nodes.keys()) this.updateNode(id);
      this.updateLinks();
      this.syncMessages();
    }
  }

  updateNode(id) {
    const n = this.model.nodes.get(id);
    const g = this.nodeEls.get(id);
    if (!n || !g) return;
    const role = n.up ? n.role : "down";
    if (g.dataset.role !== role) {
      g.setAttribute("class", `node ${role}${this.isSelected("node", id) ? " selected" : ""}`);
      const slot = g.querySelector(".shape-slot");
      clear(slot).append(this.shape(role));
    }
    g.dataset.role = role;
    g.dataset.term = n.term;
    g.dataset.up = n.up;
    g.setAttribute("aria-label", `${serverName(id)}: ${nodeCaption(n)}, term ${n.term}${nodeSubCaption(n) ? ", " + nodeSubCaption(n) : ""}`);
    g.querySelector(".term").textContent = `term ${n.term}`;
    g.querySelector(".caption").textContent = nodeCaption(n);
    g.querySelector(".caption.sub").textContent = nodeSubCaption(n);
    const isolated = this.model.network.isolated.includes(id);
    const latest = this.model.violations.at(-1);
    g.classList.toggle("violating", Boolean(latest && latest.nodes.includes(id)));
    g.querySelector(".isolated-ring").setAttribute("visibility", isolated ? "visible" : "hidden");
    const votes = clear(g.querySelector(".votes"));
    if (n.up && n.role === "candidate") {
      n.votes.forEach((voter, k) => {
        const a = -Math.PI / 2 + (k - (n.votes.length - 1) / 2) * 0.42;
        const rr = this.radius + 2;
        votes.append(svg("circle", { class: "vote", r: 9, cx: rr * Math.cos(a), cy: rr * Math.sin(a) - 0 },
          svg("title", {}, `vote from ${serverName(voter)}`)));
      });
    }
  }

  shape(role) {
    const r = this.radius;
    if (role === "leader") return svg("rect", { class: "shape", x: -r, y: -r, width: 2 * r, height: 2 * r, rx: 16 });
    if (role === "candidate") {
      const d = r * 1.2;
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
      g.querySelector(".cut-sign").setAttribute("visibility", cut ? "visible" : "hidden");
      const why = cut ? "cut" : blocked ? "down (partition or isolated server)" : "working";
      g.querySelector("title").textContent = `Link ${serverName(a)}–${serverName(b)}: ${why}. Click to ${cut ? "restore" : "cut"} it.`;
    }
    this.updateHalos();
  }

  updateHalos() {
    clear(this.halos);
    const groups = this.model.network.partition;
    this.partitionLabel.textContent = groups
      ? `Partition: ${groups.map((g) => `{${g.map(serverName).join(", ")}}`).join("  |  ")}` : "";
    if (this.corner) {
      this.partitionLabel.setAttribute("x", this.corner.x);
      this.partitionLabel.setAttribute("y", this.corner.y);
      this.partitionLabel.setAttribute("text-anchor", "start");
    }
    if (!groups) return;
    groups.forEach((group, k) => {
      for (const id of group) {
        const p = this.positions.get(id);
        if (p) this.halos.append(svg("circle", { class: "halo", cx: p.x, cy: p.y, r: this.radius + 30,
          fill: GROUP_COLOURS[k % GROUP_COLOURS.length] }, svg("title", {}, `partition group ${k + 1}`)));
      }
    });
  }

  syncMessages() {
    for (const [id, g] of this.messageEls) {
      if (!this.model.messages.has(id)) { g.remove(); this.messageEls.delete(id); }
    }
    for (const [id, m] of this.model.messages) {
      if (this.messageEls.has(id) || !this.positions.has(m.src) || !this.positions.has(m.dst)) continue;
      const { text, cls } = messageLabel(m);
      const w = Math.max(44, 17 * text.length + 18);
      const g = svg("g", { class: `message ${cls}`, "data-message-id": id, visibility: "hidden" },
        svg("path", { class: "arrow", d: "M0,-9 L14,0 L0,9 Z" }),
        svg("rect", { x: -w / 2, y: -17, width: w, height: 34 }),
        svg("text", {}, text),
        svg("title", {}, messageTitle(m)));
      g.addEventListener("click", (e) => { e.stopPropagation(); this.onSelect({ kind: "message", id }); });
      g.dataset.halfWidth = w / 2;
      if (this.isSelected("message", id)) g.classList.add("selected");
      this.messageLayer.append(g);
      this.messageEls.set(id, g);
    }
  }

  // ----- every frame ----------------------------------------------------------------
  frame(now) {
    const r = this.radius;
    for (const [id, g] of this.messageEls) {
      const m = this.model.messages.get(id);
      const f = (now - m.sent) / Math.max(m.arrives - m.sent, 1e-6);
      if (f < 0 || f > 1) { g.setAttribute("visibility", "hidden"); continue; }
      // On a link that is down, or to a server that is down, it will be lost unless that changes.
      const doomed = this.model.blocked(m.src, m.dst) || !this.model.nodes.get(m.dst)?.up;
      if (g.classList.contains("doomed") !== doomed) g.classList.toggle("doomed", doomed);
      const p = this.positions.get(m.src), q = this.positions.get(m.dst);
      const dx = q.x - p.x, dy = q.y - p.y, len = Math.hypot(dx, dy) || 1;
      const ux = dx / len, uy = dy / len;
      const travel = len - 2 * (r + 20);
      // Right of the direction of travel: requests and replies on one link do not overlap.
      const x = p.x + ux * (r + 20 + travel * f) - uy * 20;
      const y = p.y + uy * (r + 20 + travel * f) + ux * 20;
      g.setAttribute("transform", `translate(${x.toFixed(1)} ${y.toFixed(1)})`);
      g.setAttribute("visibility", "visible");
      const half = Number(g.dataset.halfWidth);
      const arrow = g.firstChild;
      const angle = Math.atan2(uy, ux) * 180 / Math.PI;
      arrow.setAttribute("transform", `rotate(${angle.toFixed(1)}) translate(${half + 2} 0)`);
    }
    const [lo, hi] = this.model.config.election_timeout;
    for (const [id, g] of this.nodeEls) {
      const n = this.model.nodes.get(id);
      const timer = g.querySelector(".timer");
      if (!n || !n.up || n.timer === null) { timer.setAttribute("d", ""); continue; }
      const left = Math.max(0, n.timer - now) / hi;
      timer.setAttribute("d", arc(r + 13, Math.min(left, 0.9999)));
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

/** An arc clockwise from the top, covering `fraction` of a circle. */
function arc(radius, fraction) {
  if (fraction <= 0) return "";
  const a = -Math.PI / 2 + 2 * Math.PI * fraction;
  const x = radius * Math.cos(a), y = radius * Math.sin(a);
  const large = fraction > 0.5 ? 1 : 0;
  return `M0,${-radius} A${radius},${radius} 0 ${large} 1 ${x.toFixed(1)},${y.toFixed(1)}`;
}
