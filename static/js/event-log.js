// The event log: every trace record's plain-language text, newest first,
// filterable by server. Clicking a row goes back (or forward) to that moment.
import { el, clear, serverName } from "./dom.js";

// Records about the thesis's mechanisms get a tag, so a lecturer can find the
// steps of a configuration change, a transfer or a PreVote round in a long log
// (and the paper's section 7: snapshots taken, sent and installed).
const TOPICS = [
  // Clients (section 8): a retry the state machine recognised (or, unsafe, applied again),
  // the steps of a linearizable read, and the requests of clients.
  ["retry", "retry", ["duplicate"], []],
  ["read", "read", ["read_answer", "read_waits_for_term", "read_index_round", "read_lease", "read_confirmed"], ["read"]],
  ["client", "client", ["answered", "no_answer", "requests_lost"], ["clients", "stop_clients"]],
  ["config", "configuration", ["config_append", "config_use", "change_waits", "learner_round", "change_abandoned",
    "step_down_removed", "not_voter"], ["add_server", "change_config"]],
  ["transfer", "transfer", ["transfer_start", "transfer_busy", "transfer_abandoned", "timeout_now_sent", "timeout_now_taken"],
    ["transfer_leadership"]],
  ["prevote", "PreVote", ["pre_election", "pre_grant", "pre_refuse", "pre_votes"], []],
  ["quorum", "CheckQuorum", ["quorum_lost"], []],
  ["ignored", "vote ignored", ["ignore_vote"], []],
  ["snapshot", "snapshot", ["snapshot", "send_snapshot", "install_snapshot", "snapshot_covered", "load_snapshot",
    "reject_snapshot_term"], ["snapshot"]],
];

/** The topic of a record: [class, tag] or null. */
export function topicOf(r) {
  const notes = r.notes || [];
  for (const [cls, tag, codes, actions] of TOPICS) {
    if (notes.some((c) => codes.includes(c)) || actions.includes(r.action?.type)) return [cls, tag];
  }
  // A simulated client's turn, or a command sent with a client id.
  if (r.kind === "client" || (r.action?.type === "submit" && r.action.client !== undefined)) return ["client", "client"];
  return null;
}

const MAX_ROWS = 400;              // rows kept while following the newest events
const MAX_WITH_OLDER = 3000;       // ... and while older ones the user fetched are shown

export class EventLog {
  constructor(list, filter, model, { onSeek, onOlder, isShown }) {
    this.list = list;
    this.isShown = isShown;
    this.filter = filter;
    this.model = model;
    this.onSeek = onSeek;
    this.onOlder = onOlder;
    this.rows = new Map();
    filter.addEventListener("change", () => this.render());
    // One tab stop for the whole log; the arrow keys move between rows.
    list.addEventListener("keydown", (e) => {
      const row = e.target.closest("li[data-seq]");
      if (!row || (e.key !== "ArrowDown" && e.key !== "ArrowUp")) return;
      e.preventDefault();
      e.stopPropagation();
      const next = e.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
      if (next?.dataset.seq) { row.tabIndex = -1; next.tabIndex = 0; next.focus({ preventScroll: true }); }
    });
  }

  get node() {
    return this.filter.value ? Number(this.filter.value) : null;
  }

  shows(r) {
    return this.node === null || r.nodes.includes(this.node);
  }

  render() {
    if (!this.shown) { this.stale = true; return; }
    this.stale = false;
    const ids = [...this.model.nodes.keys()].sort((a, b) => a - b);
    const keep = this.filter.value;
    clear(this.filter).append(el("option", { value: "", text: "all servers" }),
      ...ids.map((id) => el("option", { value: id, text: serverName(id) })));
    this.filter.value = ids.includes(Number(keep)) ? keep : "";
    clear(this.list);
    this.rows.clear();
    this.current = null;
    this.showingOlder = false;
    const shown = this.model.records.filter((r) => this.shows(r)).slice(-MAX_ROWS);
    for (const r of shown) this.list.prepend(this.row(r));
    if (!shown.length) {
      this.list.append(el("li", { class: "empty", text: this.model.records.length ? "Nothing for this server yet."
        : "Nothing has happened yet: every server is a follower, waiting for its election timer (the grey arc) to run out." }));
    }
    this.addOlderButton();
    this.markCurrent();
    // After a jump in time, show where we are: the list scrolls inside its own
    // box (scrollIntoView would scroll the whole page too).
    const row = this.rows.get(this.model.seq);
    if (row && this.list.clientHeight) this.list.scrollTop = row.offsetTop - (this.list.clientHeight - row.offsetHeight) / 2;
  }

  /** Whether the log is on screen (its drawer tab is open). */
  get shown() {
    return this.isShown ? this.isShown() : true;
  }

  update(changed) {
    // Hidden, the log does nothing; it is rebuilt from the model when it is shown.
    if (!this.shown) { this.stale = true; return; }
    const records = changed.records;
    if (!records.length) return this.markCurrent();
    const fragment = document.createDocumentFragment();
    for (const r of records) if (this.shows(r)) fragment.prepend(this.row(r));
    this.list.querySelector(".empty")?.remove();
    this.list.prepend(fragment);
    const cap = this.showingOlder ? MAX_WITH_OLDER : MAX_ROWS;
    if (this.rows.size > cap) {
      const gone = [...this.rows.keys()].sort((a, b) => a - b).slice(0, this.rows.size - cap);
      for (const seq of gone) { this.rows.get(seq).remove(); this.rows.delete(seq); }
      this.list.querySelector(".older")?.remove();
      this.addOlderButton();
    }
    this.markCurrent();
  }

  /** Older records fetched from the server, appended at the bottom. */
  appendOlder(records) {
    this.showingOlder = true;
    this.list.querySelector(".older")?.remove();
    for (const r of records.slice().reverse()) {
      if (this.shows(r) && !this.rows.has(r.seq)) this.list.append(this.row(r));
    }
    this.addOlderButton();
  }

  row(r) {
    const topic = topicOf(r);
    const li = el("li", {
      class: [r.kind, r.marks.includes("violation") ? "violation" : "", topic ? `topic-${topic[0]}` : ""].join(" "),
      "data-seq": r.seq, tabindex: this.rows.size ? -1 : 0,
      title: "Click (or Enter) to go to this moment",
    }, el("span", { class: "when" }, el("b", { text: `#${r.seq}` }), " ", `${r.time.toFixed(1)} ms`),
      el("span", { class: "what" }, topic ? el("span", { class: "topic", text: topic[1] }) : null, r.text));
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
    const row = this.rows.get(seq);
    row?.classList.add("current");
    if (row && !this.list.contains(document.activeElement)) {
      for (const li of this.list.querySelectorAll("li[tabindex='0']")) li.tabIndex = -1;
      row.tabIndex = 0;                      // Tab into the log lands on the current moment
    }
    this.current = seq;
    // Rows after the current moment exist only after going back in time.
    if (this.model.length > seq) for (const [s, li] of this.rows) li.classList.toggle("future", s > seq);
  }
}
