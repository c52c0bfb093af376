// The timeline scrubber: the kept history from left to right, by event
// number, with marks for elections, new leaders, commits, crashes, user
// actions and safety violations. Dragging seeks.
import { svg, clear } from "./dom.js";

const SEEK_EVERY = 150;   // ms between seeks while dragging

export class Timeline {
  constructor(root, model, { onSeek }) {
    this.root = root;
    this.model = model;
    this.onSeek = onSeek;
    this.drag = null;
    this.canvas = svg("svg", { class: "marks", preserveAspectRatio: "none", width: "100%", height: "100%",
      "aria-hidden": "true" });
    this.canvas.style.position = "absolute";
    this.canvas.style.inset = "0";
    this.played = document.createElement("div");
    this.played.className = "played";
    this.handle = document.createElement("div");
    this.handle.className = "handle";
    this.markLayer = svg("g");
    this.canvas.append(this.markLayer);
    root.append(this.played, this.canvas, this.handle);
    root.addEventListener("pointerdown", (e) => this.start(e));
    root.addEventListener("pointermove", (e) => this.move(e));
    root.addEventListener("pointerup", (e) => this.end(e));
    root.addEventListener("keydown", (e) => this.key(e));
  }

  range() {
    const lo = this.model.oldest || 0;
    return { lo, hi: Math.max(this.model.length, lo + 1) };
  }

  render() {
    clear(this.markLayer);
    for (const m of this.model.markers) this.addMark(m);
    this.update();
  }

  update(changed) {
    if (changed?.markersReset) {
      clear(this.markLayer);
      for (const m of this.model.markers) this.addMark(m);
    } else if (changed) {
      for (const r of changed.records) if (r.marks.length) this.addMark(r);
    }
    const { lo, hi } = this.range();
    this.canvas.setAttribute("viewBox", `${lo} 0 ${hi - lo} 100`);
    const seq = this.drag ? this.drag.seq : this.model.seq;
    const f = (seq - lo) / (hi - lo);
    this.played.style.width = `${(f * 100).toFixed(2)}%`;
    this.handle.style.left = `${(f * 100).toFixed(2)}%`;
    this.root.setAttribute("aria-valuemin", lo);
    this.root.setAttribute("aria-valuemax", this.model.length);
    this.root.setAttribute("aria-valuenow", seq);
    this.root.setAttribute("aria-valuetext", `event ${seq} of ${this.model.length}`);
  }

  addMark(m) {
    // One line per mark kind present, the most important drawn last (on top).
    const order = ["commit", "action", "election", "crash", "restart", "leader", "violation"];
    const kinds = order.filter((k) => m.marks.includes(k));
    const extent = { commit: [55, 85], action: [15, 45], violation: [0, 100], leader: [8, 92] };
    for (const kind of kinds) {
      const [y1, y2] = extent[kind] || [20, 80];
      this.markLayer.append(svg("line", { class: `mark-line ${kind}`, x1: m.seq, x2: m.seq, y1, y2,
        "vector-effect": "non-scaling-stroke", "data-seq": m.seq }));
    }
  }

  seqAt(e) {
    const box = this.root.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
    const { lo, hi } = this.range();
    return Math.round(lo + f * (Math.min(hi, this.model.length) - lo));
  }

  start(e) {
    this.root.setPointerCapture(e.pointerId);
    this.drag = { seq: this.seqAt(e), sent: 0 };
    this.seekNow();
  }

  move(e) {
    if (!this.drag) return;
    this.drag.seq = this.seqAt(e);
    this.update();
    if (performance.now() - this.drag.sent > SEEK_EVERY) this.seekNow();
  }

  end(e) {
    if (!this.drag) return;
    this.drag.seq = this.seqAt(e);
    this.seekNow();
    this.drag = null;
  }

  seekNow() {
    this.drag.sent = performance.now();
    if (this.drag.seq !== this.model.seq) this.onSeek(this.drag.seq);
    this.update();
  }

  key(e) {
    const { lo } = this.range();
    const big = Math.max(1, Math.round((this.model.length - lo) / 10));
    const moves = { Home: lo, End: this.model.length, PageUp: this.model.seq - big, PageDown: this.model.seq + big };
    if (e.key in moves) {
      e.preventDefault();
      e.stopPropagation();
      this.onSeek(Math.min(this.model.length, Math.max(lo, moves[e.key])));
    }
  }
}
