// Every server's log by index. Only the columns in view are built, so a log
// of thousands of entries scrolls as easily as a short one; nothing is cut
// off: the full command of an entry is in its tooltip and in the inspector.
import { el, clear, serverName } from "./dom.js";

// Term colours cycle through a colour-blind-safe palette; the term number is
// always written in the cell as well.
// (Term 3 is not the leader's green: the two mean different things.)
const TERM_COLOURS = ["#56B4E9", "#E69F00", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#009E73", "#999999"];
const DARK_TEXT = new Set(["#56B4E9", "#E69F00", "#F0E442", "#999999", "#CC79A7"]);
const CELL_EM = 4.2, GAP_EM = 0.25, BUFFER = 6;

export function termColour(term) {
  return TERM_COLOURS[(term - 1 + TERM_COLOURS.length) % TERM_COLOURS.length];
}

export class LogsView {
  constructor(root, model, { onEntry }) {
    this.root = root;
    this.model = model;
    this.onEntry = onEntry;
    this.rows = new Map();
    root.addEventListener("scroll", () => this.renderCells());
  }

  get em() {
    return parseFloat(getComputedStyle(this.root).fontSize);
  }

  get step() {
    return (CELL_EM + GAP_EM) * this.em;
  }

  render() {
    clear(this.root);
    this.rows.clear();
    this.inner = el("div", { class: "rows" });
    this.indexRow = el("div", { class: "index-row" }, el("span", { class: "who" }, "index"),
      this.indexCells = el("div", { class: "cells" }));
    this.inner.append(this.indexRow);
    for (const id of [...this.model.nodes.keys()].sort((a, b) => a - b)) {
      const who = el("div", { class: "who" });
      const cells = el("div", { class: "cells" });
      const row = el("div", { class: "log-row", "data-log-node": id }, who, cells);
      this.rows.set(id, { row, who, cells });
      this.inner.append(row);
    }
    this.root.append(this.inner);
    this.update(null, true);
  }

  update(changed, force = false) {
    const width = this.columns() * this.step + 10;
    const atEnd = this.root.scrollLeft + this.root.clientWidth >= this.root.scrollWidth - this.step * 1.5;
    for (const { cells } of this.rows.values()) cells.style.width = `${width}px`;
    this.indexCells.style.width = `${width}px`;
    for (const id of this.rows.keys()) this.renderHeader(id);
    if (force || !changed || changed.nodes.size) {
      if (atEnd && this.model.mode === "playing") this.root.scrollLeft = this.root.scrollWidth;
      this.renderCells();
    }
  }

  columns() {
    let most = 0;
    for (const n of this.model.nodes.values()) most = Math.max(most, n.log.length);
    return most + 1;
  }

  pointers() {
    const leader = this.model.leader();
    return leader ? { leader, next: leader.next_index, match: leader.match_index } : null;
  }

  renderHeader(id) {
    const n = this.model.nodes.get(id);
    const { row, who } = this.rows.get(id);
    const p = this.pointers();
    row.classList.toggle("down", !n.up);
    row.classList.toggle("leader", n.up && n.role === "leader");
    clear(who).append(el("b", { text: serverName(id) }), el("span", { text: n.up ? `commitIndex ${n.commit_index}` : "down" }));
    if (n.up && p && p.leader.id !== id) who.append(el("span", { text: `next ${p.next[id]} · match ${p.match[id]}` }));
  }

  renderCells() {
    const step = this.step;
    const first = Math.max(1, Math.floor(this.root.scrollLeft / step) - BUFFER + 1);
    const last = Math.min(this.columns(), Math.ceil((this.root.scrollLeft + this.root.clientWidth) / step) + BUFFER);
    const width = CELL_EM * this.em;
    clear(this.indexCells);
    for (let i = first; i <= last; i++) {
      this.indexCells.append(el("span", { class: "i", style: `left:${(i - 1) * step}px;width:${width}px`, text: i }));
    }
    const p = this.pointers();
    for (const [id, { cells }] of this.rows) {
      const n = this.model.nodes.get(id);
      clear(cells);
      for (let i = first; i <= Math.min(last, n.log.length); i++) {
        cells.append(this.cell(n, n.log[i - 1], step, width));
      }
      if (p && p.leader.id !== id && n.up) {
        const next = p.next[id], match = p.match[id];
        if (match && match + 1 === next) {
          this.pointer(cells, match, "▾match", "the leader's matchIndex for this server", step);
          this.pointer(cells, next, "▾next", "the leader's nextIndex for this server", step);
        } else {
          this.pointer(cells, next, "▾next", "the leader's nextIndex for this server", step);
          if (match) this.pointer(cells, match, "▾match", "the leader's matchIndex for this server", step);
        }
      }
    }
  }

  cell(node, entry, step, width) {
    const colour = termColour(entry.term);
    const committed = entry.index <= node.commit_index;
    const command = entry.command === null ? "" : entry.command;
    const c = el("div", {
      class: `cell${committed ? "" : " uncommitted"}`,
      style: `left:${(entry.index - 1) * step}px;width:${width}px;background-color:${colour};` +
        (DARK_TEXT.has(colour) ? "color:#111;text-shadow:0 0 3px #fff,0 0 2px #fff" : "color:#fff;text-shadow:0 0 3px #000,0 0 2px #000"),
      title: `${serverName(node.id)} index ${entry.index}, term ${entry.term}: ${command || "(no command)"} — ${committed ? "committed" : "not committed yet"}`,
      "data-index": entry.index, "data-term": entry.term, "data-committed": String(committed),
    }, el("span", { class: "t", text: entry.term }), el("span", { class: "c", text: command }));
    c.addEventListener("click", () => this.onEntry(node.id, entry));
    return c;
  }

  pointer(cells, index, label, title, step) {
    cells.append(el("span", { class: "pointer", style: `left:${(index - 1) * step + 2}px`, title, text: label }));
  }
}
