// The inspector: everything about the selected server, message or log entry,
// and the actions that apply to it.
import { el, clear, fields, serverName, ms } from "./dom.js";
import { messageTitle, nodeCaption } from "./cluster-view.js";
import { describe, entryLabel, entryName, entryWords, isVoter, ownStanding, serverList, standing as standingIn } from "./membership.js";
import { configBefore, retries } from "./logs-view.js";

const FIGURE_2_FIELDS = {
  RequestVote: ["candidate_id", "last_log_index", "last_log_term", "transfer"],
  RequestVoteReply: ["vote_granted"],
  PreVote: ["candidate_id", "last_log_index", "last_log_term"],
  PreVoteReply: ["vote_granted"],
  TimeoutNow: [],
  AppendEntries: ["leader_id", "prev_log_index", "prev_log_term", "leader_commit"],
  AppendEntriesReply: ["success", "prev_log_index", "match_index", "conflict_term", "conflict_index"],
  // Figure 13, in one message: no offset, no chunks, no done flag (the simulation sends the whole snapshot).
  InstallSnapshot: ["leader_id", "last_included_index", "last_included_term"],
  InstallSnapshotReply: ["last_included_index", "match_index"],
};

export class Inspector {
  constructor(root, model, { send, onSelect }) {
    this.root = root;
    this.model = model;
    this.send = send;
    this.onSelect = onSelect;
    this.selection = null;
  }

  show(selection) {
    this.selection = selection;
    this.render();
  }

  /** Re-draw if what changed concerns the selection. */
  refresh(changed) {
    const s = this.selection;
    if (!s) return;
    if (!changed || s.kind === "message" || (s.kind === "node" && changed.nodes.has(s.id))
        || (s.kind === "entry" && changed.nodes.has(s.node))) this.render();
  }

  render() {
    // Redrawing must not take the keyboard focus or a half-typed command away:
    // interactive elements carry a data-key, and focus and text are put back.
    const focused = this.root.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    const typed = this.root.querySelector("input[data-key=command]")?.value;
    const scroll = this.root.scrollTop;
    const s = this.selection;
    clear(this.root);
    if (!s) {
      this.root.append(el("p", { class: "hint", text: "Click a server, a message or a link to see it here." }));
      return;
    }
    if (s.kind === "node") this.node(s.id);
    else if (s.kind === "message") this.message(s.id);
    else this.entry(s.node, s.entry);
    const input = this.root.querySelector("input[data-key=command]");
    if (input && typed) input.value = typed;
    if (focused) this.root.querySelector(`[data-key="${focused}"]`)?.focus({ preventScroll: true });
    this.root.scrollTop = scroll;
  }

  tick(now) {
    const out = this.root.querySelector("[data-timer]");
    if (!out || !this.selection || this.selection.kind !== "node") return;
    const n = this.model.nodes.get(this.selection.id);
    out.textContent = timerText(n, now);
  }

  node(id) {
    const n = this.model.nodes.get(id);
    if (!n) return;
    const pairs = [
      ["Role", n.up ? n.role : "down (crashed)"],
      ["currentTerm", n.term],
      ["votedFor", serverName(n.voted_for)],
      ["commitIndex", n.commit_index],
      ["lastApplied", n.last_applied],
      ["Log length", n.snapshot_index ? `${n.log_length} (indexes 1–${n.snapshot_index} in its snapshot)` : n.log_length],
      ["Snapshot", n.snapshot_index ? `through index ${n.snapshot_index}, term ${n.snapshot_term}` : "none"],
      ["Knows leader", serverName(n.leader_id)],
      ["Election timer", el("span", { "data-timer": "", text: timerText(n, this.model.now()) })],
    ];
    if (n.up && n.role === "candidate") pairs.push(["Votes", n.votes.map(serverName).join(", ")]);
    if (n.up && n.pre_votes) pairs.push(["Pre-votes", `${n.pre_votes.map(serverName).join(", ")} (PreVote: no term raised yet)`]);
    // Its own configuration: servers may disagree, which is the point of section 6.
    const ring = this.model.configuration();
    const where = standingIn(ring, id);
    if (n.config) {
      const at = n.config_index ? `log index ${n.config_index}, ${n.config_index <= n.commit_index ? "committed" : "not committed yet"}`
        : "the initial one";
      pairs.push(["Its configuration", `${describe(n.config)} (${at})`]);
      if (ring && ring.of !== id) pairs.push([`In ${serverName(ring.of)}'s`, STANDING[where]]);
    }
    if (n.up && n.transfer_to) pairs.push(["Handing over to", `${serverName(n.transfer_to)} (leadership transfer: no new commands meanwhile)`]);
    if (n.up && n.catch_up) {
      pairs.push(["Catching up", Object.entries(n.catch_up)
        .map(([peer, c]) => `${serverName(peer)}: round ${c.round}, to index ${c.target}`).join("; ")]);
    }
    this.root.append(el("h3", { text: `${serverName(id)} — ${nodeCaption(n, ownStanding(n, ring))}, term ${n.term}` }),
      this.nodeActions(n), fields(pairs));
    if (n.up && n.role === "leader") this.root.append(this.progress(n));
    const store = Object.entries(n.store);
    this.root.append(el("h3", { text: "State machine (key-value store)" }),
      el("pre", { text: store.length ? store.map(([k, v]) => `${k} = ${v}`).join("\n") : "(empty)" }));
    // Section 8: the client table that makes a retried command run once, and a leader's reads.
    if (n.sessions && Object.keys(n.sessions).length) {
      this.root.append(el("h3", { text: "Client table (last request applied, its reply)" }),
        el("pre", { text: Object.entries(n.sessions).map(([c, e]) => `client ${c}: request ${e.seq} → ${e.reply ?? "—"}`).join("\n") }));
    }
    if (n.up && n.role === "leader" && (n.reads || n.lease_until !== undefined)) {
      const pairs = [];
      if (n.reads) {
        pairs.push(["Reads waiting", n.reads.waiting.length ? n.reads.waiting.join(", ") : "none"],
          ["Heartbeat round", `${n.reads.round} sent, ${n.reads.confirmed ?? 0} confirmed by a majority (ReadIndex)`]);
      }
      if (n.lease_until !== undefined) pairs.push(["Lease", `holds until ${ms(n.lease_until)} (lease reads)`]);
      this.root.append(el("h3", { text: "Reads" }), fields(pairs));
    }
    if (n.snapshot) this.root.append(...this.snapshotOf(n));
    this.root.append(this.messagesOf(id));
  }

  /** Messages to or from this server, for inspecting or dropping from the keyboard. */
  messagesOf(id) {
    const box = el("div", { class: "actions", role: "group", "aria-label": "Messages in flight" },
      el("span", { class: "hint", text: "In flight:" }));
    const mine = [...this.model.messages.values()].filter((m) => m.src === id || m.dst === id);
    if (!mine.length) box.append(el("span", { class: "hint", text: "none" }));
    for (const m of mine.slice(0, 12)) {
      box.append(el("button", { "data-key": `msg-${m.id}`, text: `#${m.id} ${m.type} ${serverName(m.src)}→${serverName(m.dst)}`,
        onclick: () => this.onSelect({ kind: "message", id: m.id }) }));
    }
    return box;
  }

  progress(n) {
    const table = el("table", { class: "progress" },
      el("thead", {}, el("tr", {}, el("th", { text: "follower" }), el("th", { text: "nextIndex" }),
        el("th", { text: "matchIndex" }))));
    const body = el("tbody");
    const learners = n.config?.learners || [];
    for (const [peer, next] of Object.entries(n.next_index)) {
      const who = `${serverName(peer)}${learners.includes(Number(peer)) ? " (learner)" : ""}`;
      body.append(el("tr", {}, el("td", { text: who }), el("td", { text: next }),
        el("td", { text: n.match_index[peer] })));
    }
    table.append(body);
    return table;
  }

  nodeActions(n) {
    const id = n.id;
    const isolated = this.model.network.isolated.includes(id);
    const box = el("div", { class: "actions" },
      n.up ? el("button", { class: "danger", "data-key": "crash", text: `Crash ${serverName(id)}`, onclick: () => this.send({ type: "crash", node: id }) })
        : el("button", { "data-key": "crash", text: `Restart ${serverName(id)}`, onclick: () => this.send({ type: "restart", node: id }) }),
      el("button", { "data-key": "timeout", text: "Time out now", disabled: !n.up || n.role === "leader",
        title: n.role === "leader" ? "A leader has no election timer" : "Make its election timer fire now",
        onclick: () => this.send({ type: "timeout", node: id }) }),
      el("button", { "data-key": "isolate", text: isolated ? "Reconnect" : "Isolate",
        onclick: () => this.send({ type: isolated ? "connect" : "disconnect", node: id }) }),
      // Section 7: compact the log through what it has applied.
      el("button", { "data-key": "snapshot", text: "Snapshot", disabled: !n.up || n.last_applied <= (n.snapshot_index || 0),
        title: !n.up ? "A crashed server takes no snapshot"
          : n.last_applied <= (n.snapshot_index || 0) ? "It has applied nothing beyond its snapshot: nothing to compact"
            : `Write ${serverName(id)}'s state machine to a snapshot through index ${n.last_applied} and discard those log entries (section 7)`,
        onclick: () => this.send({ type: "snapshot", node: id }) }));
    // Leadership transfer (thesis 3.10): to a voter of the leader's configuration.
    const leader = this.model.leader();
    if (leader && leader.id !== id && n.up && isVoter(standingIn(leader.config, id))) {
      box.append(el("button", { "data-key": "transfer", text: `Transfer leadership to ${serverName(id)}`,
        disabled: Boolean(leader.transfer_to),
        title: leader.transfer_to ? `${serverName(leader.id)} is already handing leadership to ${serverName(leader.transfer_to)}`
          : `Ask ${serverName(leader.id)} to bring ${serverName(id)} up to date and tell it to start an election at once`,
        onclick: () => this.send({ type: "transfer_leadership", to: id }) }));
    }
    const input = el("input", { "data-key": "command", placeholder: "SET x 1", "aria-label": `Command to send to ${serverName(id)}` });
    const form = el("form", { class: "actions" }, input,
      el("button", { type: "submit", "data-key": "send", text: `Send to ${serverName(id)}` }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.send({ type: "submit", command: input.value, node: id }).then((ack) => {
        // The inspector may have been redrawn meanwhile: clear the box that is there now.
        const box = this.root.querySelector("input[data-key=command]");
        if (ack.ok && box) box.value = "";
      });
    });
    const links = el("div", { class: "actions", role: "group", "aria-label": "Links" }, el("span", { class: "hint", text: "Links:" }));
    for (const peer of [...this.model.nodes.keys()].sort((a, b) => a - b)) {
      if (peer === id) continue;
      const cut = this.model.cut(id, peer);
      links.append(el("button", { "data-key": `link-${peer}`, text: `${cut ? "Restore" : "Cut"} ${serverName(id)}–${serverName(peer)}`,
        onclick: () => this.send({ type: cut ? "link" : "cut", a: id, b: peer }) }));
    }
    return el("div", {}, box, form, links);
  }

  message(mid) {
    const m = this.model.messages.get(mid);
    if (!m) {
      this.root.append(el("h3", { text: `Message #${mid}` }),
        el("p", { text: "This message is no longer in flight: it has arrived or was lost." }));
      return;
    }
    const pairs = [["Type", m.type], ["From", serverName(m.src)], ["To", serverName(m.dst)], ["term", m.term]];
    for (const key of FIGURE_2_FIELDS[m.type]) if (key in m && m[key] !== null) pairs.push([key, m[key]]);
    pairs.push(["Sent at", ms(m.sent)], ["Arrives at", ms(m.arrives)]);
    this.root.append(el("h3", { text: `#${m.id} ${messageTitle(m)}` }), fields(pairs));
    if (m.type === "InstallSnapshot") {
      const store = Object.entries(m.data.store);
      this.root.append(el("h3", { text: "data (the whole snapshot, in one message)" }),
        el("pre", { text: `${store.length ? store.map(([k, v]) => `${k} = ${v}`).join("\n") : "(an empty state machine)"}` +
          `\nconfiguration: ${describe(m.data.config)}` }));
    }
    if (m.type === "AppendEntries") {
      this.root.append(el("h3", { text: `entries[] (${m.entries.length})` }),
        el("pre", { text: m.entries.length ? m.entries.map((e) => `${e.index}: term ${e.term}  ${entryLine(e)}`).join("\n")
          : "(none: a heartbeat)" }));
    }
    this.root.append(el("div", { class: "actions" },
      el("button", { class: "danger", "data-key": "drop", text: "Drop this message", onclick: () => this.send({ type: "drop", message: m.id }) })));
  }

  /** A server's snapshot (section 7): its last included index and term, state machine and configuration. */
  snapshotOf(n) {
    const s = n.snapshot;
    const store = Object.entries(s.store);
    return [el("h3", { text: `Snapshot through index ${s.index} (term ${s.term})` }),
      el("pre", { text: `${store.length ? store.map(([k, v]) => `${k} = ${v}`).join("\n") : "(an empty state machine)"}` +
        `\nconfiguration: ${describe(s.config)}` })];
  }

  entry(nodeId, entry) {
    const n = this.model.nodes.get(nodeId);
    if (entry.snapshot) {
      if (!n || !n.snapshot) {
        this.root.append(el("p", { text: `${serverName(nodeId)} has no snapshot now.` }));
        return;
      }
      this.root.append(el("h3", { text: `${serverName(nodeId)}'s snapshot` }),
        fields([["Replaces", `log indexes 1–${n.snapshot_index}`], ["lastIncludedIndex", n.snapshot_index],
          ["lastIncludedTerm", n.snapshot_term], ["Why", "A server writes its state machine to a snapshot and discards the " +
            "committed entries it replaces (section 7). The last included index and term position it in the log."]]),
        ...this.snapshotOf(n));
      return;
    }
    const committed = n && entry.index <= n.commit_index;
    const config = entry.kind === "config" && entry.config;
    const what = config
      ? ["configuration", `${entryWords(entry.config)}. ${serverName(nodeId)} uses the latest configuration in its log, committed or not.`]
      : ["command", entry.command ?? "(none: a leader's no-op entry)"];
    const pairs = [["term", entry.term], what, ["Committed", committed ? "yes (on this server)" : "not yet (on this server)"]];
    if (config && n) {
      // The cell's short label, and the lecture's name for it.
      const before = configBefore(n, entry.index, this.model.initialConfiguration());
      const name = entryName(entry.config, before);
      pairs.splice(1, 0, ["Labelled", `“${entryLabel(entry.config, before)}” in the logs${name ? `: ${name}` : ""}`]);
    }
    if (entry.client !== undefined && entry.client !== null) {
      pairs.push(["Client", `client ${entry.client}, its request ${entry.seq}`]);
      const first = n ? retries(n.log).get(entry.index) : undefined;
      if (first !== undefined) {
        pairs.push(["Retry", `of index ${first}: ${this.model.options?.unsafe_no_dedup
          ? "applied a second time (the unsafe switch turns deduplication off)"
          : "the state machine's client table knows the request, so it is not applied again; the saved reply answers it"}`]);
      }
    } else if (entry.kind !== "config" && entry.command !== null) {
      pairs.push(["Client", "none: an anonymous command (nobody waits for its answer; a retry would run it again)"]);
    }
    this.root.append(el("h3", { text: `${serverName(nodeId)}, log index ${entry.index}` }), fields(pairs));
  }
}

const STANDING = {
  voter: "a voter", both: "a voter of C_old and of C_new", old: "a voter of C_old only: it leaves",
  new: "a voter of C_new only: it joins", learner: "a learner: it receives the log but does not vote",
  outside: "outside the configuration",
};

function entryLine(e) {
  if (e.kind === "config" && e.config) {
    const c = e.config;
    return c.old_voters ? `C_old,new: old ${serverList(c.old_voters)}, new ${serverList(c.voters)}` : `configuration: ${describe(c)}`;
  }
  return e.command ?? "(no-op)";
}

function timerText(n, now) {
  if (!n.up) return "none (down)";
  if (n.timer === null) {
    if (n.role === "leader") return "none (a leader has no election timer)";
    return n.config && !n.config.voters.length ? "none (it knows no configuration yet: it waits to be added)" : "none";
  }
  const left = n.timer - now;
  const when = left > 0 ? `fires at ${ms(n.timer)} (in ${left.toFixed(0)} ms)` : `fires at ${ms(n.timer)}`;
  // A leader's timer runs only for a transfer (which it then gives up) or CheckQuorum (thesis 3.10, 9.6).
  if (n.role === "leader") return `${when}: ${n.transfer_to ? "then it gives up the transfer" : "CheckQuorum: steps down unless a majority was heard"}`;
  return when;
}
