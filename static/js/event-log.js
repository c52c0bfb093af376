// The event log: every trace record's plain-language text, newest first,
// filterable by server. Clicking a row goes back (or forward) to that moment.
import { el, clear, serverName } from "./dom.js";

const MAX_ROWS = 400;

export class EventLog {
  constructor(list, filter, model, { onSeek, onOlder }) {
    this.list = list;
    this.filter = filter;
    this.model = model;
    this.onSeek = onSeek;
    this.onOlder = onOlder;
    this.rows = new Map();
    filter.addEventListener("change", () => this.render());
  }

  get node() {
    return this.filter.value ? Number(this.filter.value) : null;
  }

  shows(r) {
    return this.node === null || r.nodes.includes(this.node);
  }

  render() {
    const ids = [...this.model.nodes.keys()].sort((a, b) => a - b);
    const keep = this.filter.value;
    clear(this.filter).append(el("option", { value: "", text: "all servers" }),
      ...ids.map((id) => el("option", { value: id, text: serverName(id) })));
    this.filter.value = ids.includes(Number(keep)) ? keep : "";
    clear(this.list);
    this.rows.clear();
    this.current = null;
    const shown = this.model.records.filter((r) => this.shows(r)).slice(-MAX_ROWS);
    for (const r of shown) this.list.prepend(this.row(r));
    this.addOlderButton();
    this.markCurrent();
  }

  update(changed) {
    if (!changed.records.length) return this.markCurrent();
    const fragment = document.createDocumentFragment();
    for (const r of changed.records) if (this.shows(r)) fragment.prepend(this.row(r));
    this.list.prepend(fragment);
    while (this.rows.size > MAX_ROWS) {
      const oldest = Math.min(...this.rows.keys());
      this.rows.get(oldest).remove();
      this.rows.delete(oldest);
    }
    this.markCurrent();
  }

  /** Older records fetched from the server, appended at the bottom. */
  appendOlder(records) {
    this.list.querySelector(".older")?.remove();
    for (const r of records.slice().reverse()) {
      if (this.shows(r) && !this.rows.has(r.seq)) this.list.append(this.row(r));
    }
    this.addOlderButton();
  }

  row(r) {
    const li = el("li", {
      class: [r.kind, r.marks.includes("violation") ? "violation" : ""].join(" "),
      "data-seq": r.seq, tabindex: 0,
      title: "Click to go to this moment",
    }, el("span", { class: "when", text: `#${r.seq} ${r.time.toFixed(1)}` }), el("span", { class: "what", text: r.text }));
    li.addEventListener("click", () => this.onSeek(r.seq));
    li.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.stopPropagation(); this.onSeek(r.seq); }
    });
    this.rows.set(r.seq, li);
    return li;
  }

  addOlderButton() {
    const oldest = Math.min(...this.rows.keys(), Infinity);
    if (oldest === Infinity || oldest <= (this.model.oldest || 0) + 1) return;
    const li = el("li", { class: "older" }, el("button", { text: "Show older events", onclick: () => this.onOlder(oldest) }));
    this.list.append(li);
  }

  markCurrent() {
    const seq = this.model.seq;
    if (this.current === seq) return;
    this.rows.get(this.current)?.classList.remove("current");
    this.rows.get(seq)?.classList.add("current");
    this.current = seq;
    // Rows after the current moment exist only after going back in time.
    if (this.model.length > seq) for (const [s, li] of this.rows) li.classList.toggle("future", s > seq);
  }
}
