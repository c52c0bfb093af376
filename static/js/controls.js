// Buttons, forms, dialogs and keyboard shortcuts. Everything the user does
// becomes an `action` for the server; errors it answers come back as toasts.
import { el, clear, svg, $ } from "./dom.js";
import { termColour } from "./logs-view.js";
import { messageShape } from "./cluster-view.js";
import { openDialog, setUpDialogs } from "./dialogs.js";
import { buildActionForm } from "./action-form.js";

export const SHORTCUTS = [
  ["Space", "Play / pause"],
  ["→", "Step forward one event"],
  ["←", "Step back one event"],
  ["N or Page Down", "Next scenario step (a presentation clicker works); outside a scenario, step forward"],
  ["B or Page Up", "Previous scenario step; outside a scenario, step back"],
  ["A", "Reveal the answer to the scenario's question, and why (once the step has played: unfold why)"],
  ["C", "Send a client command to the leader"],
  ["K", "Crash the selected server, or the leader when none is selected"],
  ["R", "Restart the selected server, or the server that went down last"],
  ["T", "Time out the selected server now (it starts an election)"],
  ["I", "Inspector (the selected server, message or entry)"],
  ["E", "Events: what happened, in plain words"],
  ["M", "Members: add a server, change the voting members, hand leadership over"],
  ["H", "Clients: each client's operations (its history) and whether they are linearizable"],
  ["L", "Legend"],
  ["S", "Lecture scenarios"],
  ["P", "Presenter mode: the projector layout (also ?presenter=1 in the address)"],
  ["J", "Share with class: open a room (a code and a QR code to join); in a room, show its code large"],
  ["G", "The class panel (the room's owner): viewers, control, questions and the answers"],
  ["?", "This list"],
  ["Esc", "Close a dialog or the side panel, clear the selection"],
  ["Tab / Enter", "Move between servers and controls / open the selected one"],
  ["Home / End", "On the timeline: go to the start / the end"],
];


// Options about elections and membership changes, shown together in the Options tab.
const ELECTION_OPTIONS = new Set(["pre_vote", "check_quorum", "ignore_votes_while_led"]);
// ... and about serving clients (the paper's section 8, the thesis's chapter 6).
const CLIENT_OPTIONS = new Set(["lease_reads"]);
// What to watch for once an option is on: said beside the catalogue's own description.
const WATCH = {
  lease_reads: "Reads then need no heartbeat round while the lease holds; the event log says \"lease\".",
  unsafe_local_reads: "To see it: partition the leader into a minority, write at the new leader, read at the old one " +
    "(Clients tab): the old leader answers with the old value and the check says not linearizable.",
  unsafe_no_dedup: "To see it: a client retries a command its crashed leader had committed (the duplicate-command " +
    "scenario): it is applied twice; the logs mark the retry ↻.",
};

/** Slider position (0..1000) <-> speed (1/1000 .. 1, log scale). */
export const speedFromSlider = (v) => 10 ** (-3 + (3 * v) / 1000);
export const sliderFromSpeed = (s) => Math.round(((Math.log10(s) + 3) / 3) * 1000);
export function speedText(s) {
  return s >= 0.999 ? "1×" : `1/${Math.round(1 / s)}×`;
}

export class Controls {
  constructor(model, send, { onSeek, scenario, drawer, view, onEscape, onLayout, catalogue }) {
    this.catalogue = catalogue;             // the server's actions, options and limits (GET /api/catalogue)
    this.model = model;
    this.send = send;
    this.onSeek = onSeek;
    this.onEscape = onEscape;
    this.onLayout = onLayout;
    this.scenario = scenario;
    this.drawer = drawer;
    this.view = view;
    this.commands = 0;
    this.lastCrashed = null;
    this.wire();
  }

  wire() {
    $("#play").addEventListener("click", () => this.togglePlay());
    $("#step").addEventListener("click", () => this.send({ type: "step" }));
    $("#step-back").addEventListener("click", () => this.send({ type: "step_back" }));
    const speed = $("#speed");
    speed.addEventListener("input", () => { $("#speed-value").value = speedText(speedFromSlider(speed.value)); });
    speed.addEventListener("change", () => this.send({ type: "speed", value: Number(speedFromSlider(speed.value).toPrecision(3)) }));
    $("#client-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const input = $("#client-command");
      this.send({ type: "submit", command: input.value }).then((ack) => {
        if (ack.ok && ack.index !== null) input.value = "";
        else if (ack.ok) toast(ack.note, "info");
      });
    });
    $("#heal").addEventListener("click", () => this.send({ type: "heal" }));
    $("#partition").addEventListener("click", (e) => { e.preventDefault(); this.partition(); });
    $("#network-apply").addEventListener("click", () => this.network());
    $("#reset-form").addEventListener("submit", (e) => { e.preventDefault(); this.reset(); });
    $("#export").addEventListener("click", () => this.exportHistory());
    $("#save-scenario").addEventListener("click", () => this.saveScenario());
    $("#import").addEventListener("change", (e) => this.importHistory(e.target));
    $("#legend-button").addEventListener("click", () => openDialog("#legend"));
    $("#help-button").addEventListener("click", () => openDialog("#help"));
    $("#presenter-button").addEventListener("click", () => this.presenter());
    $("#banner-close").addEventListener("click", () => {
      $("#banner").hidden = true;
      this.bannerDismissed = this.bannerKey;
      this.onLayout?.();
    });
    const dots = $("#pref-dots");
    dots.checked = this.view.preferDots;
    dots.addEventListener("change", () => this.view.setPreferDots(dots.checked));
    setUpDialogs(this.model, this.send);
    document.addEventListener("keydown", (e) => this.key(e));
    this.buildLegend();
    this.buildHelp();
    const asked = new URLSearchParams(location.search).get("presenter");
    const on = asked !== null ? asked === "1" || asked === "on" : localStorage.getItem("raftviz-presenter") === "on";
    if (on) this.presenter(true, { remember: asked === null });
    else if (window.innerWidth >= 1200) this.drawer.open("events");   // room for the story beside the picture
  }

  togglePlay() {
    this.send({ type: this.model.mode === "playing" ? "pause" : "play" });
  }

  partition() {
    const picked = [...document.querySelectorAll("#partition-choices input:checked")].map((i) => Number(i.value));
    if (!picked.length || picked.length === this.model.nodes.size) {
      toast("Tick at least one server for group A, and leave at least one for group B.");
      return;
    }
    this.send({ type: "partition", groups: [picked] });
  }

  network() {
    const percent = Number($("#loss").value);
    if (!Number.isFinite(percent) || percent < 0 || percent > 100 || $("#loss").value.trim() === "") {
      toast("Message loss is a percentage from 0 to 100 %.");
      this.showNetwork();
      return;
    }
    const loss = percent / 100;
    const latency = [Number($("#latency-lo").value), Number($("#latency-hi").value)];
    this.send({ type: "network", loss, latency }).then((ack) => {
      if (!ack.ok) { this.showNetwork(); return; }
      const [timeout] = this.model.config.election_timeout;
      if (latency[1] * 2 >= timeout) {
        toast(`A round trip can now take up to ${latency[1] * 2} ms, as long as the shortest election timeout ` +
              `(${timeout} ms): elections may never finish and leaders may keep losing their followers.`, "info");
      }
    });
  }

  showNetwork() {
    const net = this.model.network;
    $("#loss").value = Math.round(net.loss * 100);
    $("#latency-lo").value = net.latency[0];
    $("#latency-hi").value = net.latency[1];
  }

  reset() {
    const action = { type: "reset", nodes: Number($("#reset-nodes").value) };
    const voters = Number($("#reset-members").value);
    if (voters && voters < action.nodes) action.members = Array.from({ length: voters }, (_, k) => k + 1);
    const seed = $("#reset-seed").value.trim();
    if (seed !== "") action.seed = Number(seed);
    this.send(action).then((ack) => { if (ack.ok) toast(`A new cluster of ${ack.nodes} (seed ${ack.seed}).`, "info"); });
  }

  exportHistory() {
    this.send({ type: "export" }).then((ack) => {
      // Named by date and time, never by the session id: that id gives control of the session.
      const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, "-");
      if (ack.ok) download(JSON.stringify(ack.data), `raftviz-history-${stamp}.json`, "application/json");
    });
  }

  saveScenario() {
    this.send({ type: "save_scenario" }).then((ack) => {
      if (ack.ok) download(ack.yaml, ack.filename, "application/x-yaml");
    });
  }

  async importHistory(input) {
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    // The file goes by HTTP POST (protocol.js checks its size first); the new state comes by Socket.IO.
    const { postHistory } = await import("./protocol.js");
    const ack = await postHistory(file, this.model.session);
    if (!ack.ok) toast(ack.error);
  }

  /** Presenter mode: the projector layout. The picture takes the screen; the side
   * panel closes until asked for; every text of the picture is 18 px or more. */
  presenter(force, { remember = true } = {}) {
    const on = force ?? !document.body.classList.contains("presenter");
    document.body.classList.toggle("presenter", on);
    $("#presenter-button").setAttribute("aria-pressed", String(on));
    if (remember) localStorage.setItem("raftviz-presenter", on ? "on" : "off");
    if (on) this.drawer.close();
    this.onLayout?.();
  }

  /** The server a lecture key acts on: the selected one, else the given fallback. */
  target(fallback) {
    const sel = this.view.selected;
    if (sel?.kind === "node") return this.model.nodes.get(sel.id);
    return fallback;
  }

  clientCommand() {
    const k = this.commands++;
    this.send({ type: "submit", command: `SET ${"xyz"[k % 3]} ${k + 1}` }).then((ack) => {
      if (ack.ok && ack.index === null) toast(ack.note, "info");
    });
  }

  crashKey() {
    const n = this.target(this.model.leader());
    if (!n) { toast("Select a server to crash (there is no leader now).", "info"); return; }
    if (n.up) this.lastCrashed = n.id;
    this.send({ type: n.up ? "crash" : "restart", node: n.id });
  }

  restartKey() {
    const down = [...this.model.nodes.values()].filter((n) => !n.up);
    const n = this.target(down.find((d) => d.id === this.lastCrashed) || down[0]);
    if (!n) { toast("Every server is up.", "info"); return; }
    if (n.up) { toast(`${"S" + n.id} is up; select a server that is down.`, "info"); return; }
    this.send({ type: "restart", node: n.id });
  }

  timeoutKey() {
    const n = this.target(null);
    if (!n) { toast("Select a server first (click it, or Tab to it), then press T.", "info"); return; }
    this.send({ type: "timeout", node: n.id });
  }

  key(e) {
    const target = e.target;
    if (e.key === "Escape") {
      const open = document.querySelectorAll("dialog[open]");
      if (open.length) open.forEach((d) => d.close());
      else if (this.view.selected) this.onEscape?.();
      else this.drawer.close();
      return;
    }
    if (target.closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey
        || document.querySelector("dialog[open]")) return;
    // Space and Enter belong to a focused button, checkbox or drawer; play/pause only elsewhere.
    if (e.key === " " && target.closest("button, summary, a, [role=button]")) return;
    const actions = {
      " ": () => this.togglePlay(),
      ArrowRight: () => this.send({ type: "step" }),
      ArrowLeft: () => this.send({ type: "step_back" }),
      "?": () => openDialog("#help"),
      l: () => openDialog("#legend"),
      L: () => openDialog("#legend"),
      PageDown: () => (this.model.scenario ? this.scenario.next() : this.send({ type: "step" })),
      PageUp: () => (this.model.scenario ? this.scenario.back() : this.send({ type: "step_back" })),
      c: () => this.clientCommand(),
      C: () => this.clientCommand(),
      k: () => this.crashKey(),
      K: () => this.crashKey(),
      r: () => this.restartKey(),
      R: () => this.restartKey(),
      t: () => this.timeoutKey(),
      T: () => this.timeoutKey(),
      i: () => this.drawer.toggle("inspector"),
      I: () => this.drawer.toggle("inspector"),
      e: () => this.drawer.toggle("events"),
      E: () => this.drawer.toggle("events"),
      m: () => this.drawer.toggle("members"),
      M: () => this.drawer.toggle("members"),
      h: () => this.drawer.toggle("clients"),
      H: () => this.drawer.toggle("clients"),
      p: () => this.presenter(),
      P: () => this.presenter(),
      s: () => $("#scenarios-button").click(),
      S: () => $("#scenarios-button").click(),
      n: () => this.scenario?.next(),
      N: () => this.scenario?.next(),
      b: () => this.scenario?.back(),
      B: () => this.scenario?.back(),
      a: () => this.scenario?.reveal(),
      A: () => this.scenario?.reveal(),
      j: () => this.classroom?.share(),
      J: () => this.classroom?.share(),
      g: () => this.model.room?.role === "owner" && this.drawer.toggle("class"),
      G: () => this.model.room?.role === "owner" && this.drawer.toggle("class"),
    };
    if (actions[e.key]) {
      e.preventDefault();
      actions[e.key]();
    }
  }

  // ----- reflecting the model ------------------------------------------------------
  render() {
    const ids = [...this.model.nodes.keys()].sort((a, b) => a - b);
    clear($("#partition-choices")).append(...ids.map((id) =>
      el("label", {}, el("input", { type: "checkbox", value: id }), ` S${id}`)));
    const nodes = $("#reset-nodes");
    const { min, max } = this.catalogue?.nodes || { min: 1, max: ids.length };
    clear(nodes).append(...Array.from({ length: max - min + 1 }, (_, k) => el("option", { value: min + k, text: min + k })));
    nodes.value = String(Math.min(Math.max(ids.length, min), max));
    this.resetMembers();
    nodes.onchange = () => this.resetMembers();
    buildActionForm($("#action-form"), this.catalogue, ids, this.send);
    // The network form's limits are the network action's (sim/actions.py).
    const network = this.catalogue?.actions.find((a) => a.type === "network")?.fields || [];
    const range = (name) => network.find((f) => f.name === name)?.range;
    if (range("latency")) for (const id of ["#latency-lo", "#latency-hi"]) Object.assign($(id), { min: range("latency")[0], max: range("latency")[1] });
    if (range("loss")) Object.assign($("#loss"), { min: range("loss")[0] * 100, max: range("loss")[1] * 100 });
    this.renderOptions();
    this.update();
  }

  /** A new cluster's voters: everyone, or S1–Sk with the others outside (to add later). */
  resetMembers() {
    const n = Number($("#reset-nodes").value);
    const select = $("#reset-members");
    const keep = Number(select.value);
    clear(select).append(el("option", { value: 0, text: "all" }),
      ...Array.from({ length: Math.max(0, n - 1) }, (_, k) => n - 1 - k)
        .map((k) => el("option", { value: k, text: k === 1 ? "S1 only" : k === 2 ? "S1, S2" : `S1–S${k}` })));
    select.value = keep && keep < n ? String(keep) : "0";
  }

  /** The options and unsafe switches, as the server's catalogue describes them;
   * the safe ones in two groups: log replication, and elections and membership
   * (the thesis's PreVote, CheckQuorum and ignoring votes while led). */
  renderOptions() {
    const opts = this.model.options;
    if (this.optionInputs) {
      // Built once: later changes only set the values, so the focus and the
      // keyboard user's place stay where they were.
      for (const [name, input] of this.optionInputs) {
        if (input.type === "checkbox") input.checked = Boolean(opts[name]);
        else if (document.activeElement !== input) input.value = opts[name];
      }
      return;
    }
    this.optionInputs = new Map();
    const safe = clear($("#options-safe"));
    const unsafe = clear($("#options-unsafe"));
    const elections = el("div", { class: "option-group", role: "group", "aria-labelledby": "options-elections" },
      el("h3", { class: "pane-title", id: "options-elections", text: "Elections and membership changes (Ongaro's thesis)" }));
    const replication = el("div", { class: "option-group", role: "group", "aria-labelledby": "options-replication" },
      el("h3", { class: "pane-title", id: "options-replication", text: "Log replication" }));
    const clients = el("div", { class: "option-group", role: "group", "aria-labelledby": "options-clients" },
      el("h3", { class: "pane-title", id: "options-clients", text: "Client requests (section 8)" }));
    safe.append(replication, elections, clients);
    for (const o of this.catalogue?.options || []) {
      const send = (value, input, restore) => this.send({ type: "options", options: { [o.name]: value } })
        .then((ack) => { if (!ack.ok) restore(input); });
      let item;
      if (o.range) {
        const input = el("input", { type: "number", min: o.range[0], max: o.range[1], value: opts[o.name], "aria-label": o.label });
        input.addEventListener("change", () => send(Number(input.value), input, (i) => { i.value = this.model.options[o.name]; }));
        item = el("label", { class: "option", title: o.doc }, `${o.label} `, input);
        this.optionInputs.set(o.name, input);
      } else {
        const box = el("input", { type: "checkbox", checked: opts[o.name], "aria-describedby": `opt-${o.name}` });
        box.addEventListener("change", () => send(box.checked, box, (b) => { b.checked = this.model.options[o.name]; }));
        item = el("label", { class: "option", title: o.doc }, box, ` ${o.label}`,
          el("span", { class: "hint", id: `opt-${o.name}`, text: ` — ${o.doc}${WATCH[o.name] ? ` ${WATCH[o.name]}` : ""}` }));
        this.optionInputs.set(o.name, box);
      }
      (o.unsafe ? unsafe : ELECTION_OPTIONS.has(o.name) ? elections : CLIENT_OPTIONS.has(o.name) ? clients : replication).append(item);
    }
  }

  update(changed) {
    const m = this.model;
    const playing = m.mode === "playing";
    const play = $("#play");
    play.textContent = playing ? "❚❚ Pause" : "▶ Play";
    play.setAttribute("aria-label", playing ? "Pause" : "Play");
    const mode = $("#mode-readout");
    mode.textContent = m.mode === "step" ? "stepping" : m.mode;
    mode.className = `mode ${m.mode}`;
    $("#seq-readout").textContent = `event ${m.seq} / ${m.length}`;
    $("#step-back").disabled = m.seq <= (m.oldest || 0);
    const speed = $("#speed");
    if (document.activeElement !== speed) {
      speed.value = sliderFromSpeed(m.speed);
      $("#speed-value").value = speedText(m.speed);
    }
    if ((!changed || changed.records.some((r) => r.action?.type === "network"))
        && document.activeElement?.closest(".drawer") == null) this.showNetwork();
    if (changed && changed.records.some((r) => r.action?.type === "options")) this.renderOptions();
    this.banner();
  }

  tick(now) {
    $("#time-readout").textContent = `t = ${now.toFixed(0)} ms`;
  }

  /** The safety banner: once shown it stays (also after stepping back before the
   * violation, where its buttons lead back) until dismissed, or until the history
   * that held the violation is gone (a new cluster, a fork before it). */
  banner() {
    const banner = $("#banner");
    const latest = this.model.violations;
    const kept = (this.bannerShown || []).filter((v) => v.seq <= this.model.length);
    const found = latest.length >= kept.length ? latest : kept;
    const key = found.map((v) => `${v.seq}:${v.property}`).join(",");
    if (!found.length || key === this.bannerDismissed) {
      if (!banner.hidden) { banner.hidden = true; this.onLayout?.(); }
      this.bannerShown = found.length ? found : null;
      return;
    }
    if (key === this.bannerKey && !banner.hidden) return;
    this.bannerKey = key;
    this.bannerShown = found;
    const v = found[found.length - 1];
    $("#banner-title").textContent = found.length === 1 ? `Safety violated: ${v.property}.`
      : `${found.length} safety violations. Latest: ${v.property}.`;
    $("#banner-text").textContent = v.text;
    $("#banner-text").title = v.text;                    // cut to two lines on screen; all of it here
    clear($("#banner-go")).append(...found.slice(-2).map((x) => {
      // One violation: "Go to where it happened"; several: the property and event, or on the projector the event alone.
      if (found.length === 1) return el("button", { text: "Go to where it happened", onclick: () => this.onSeek(x.seq) });
      return el("button", { title: `Go to ${x.property}, event ${x.seq}`, onclick: () => this.onSeek(x.seq) },
        "Go to ", el("span", { class: "long", text: `${x.property} (event ${x.seq})` }), el("span", { class: "short", text: `event ${x.seq}` }));
    }));
    if (found.some((x) => x.property === "Linearizability")) {
      $("#banner-go").append(el("button", { text: "Show the operations", title: "The Clients tab: the history and the operations no order explains",
        onclick: () => this.drawer.open("clients") }));
    }
    if (banner.hidden) { banner.hidden = false; this.onLayout?.(); }
  }

  // ----- dialogs ------------------------------------------------------------------
  buildHelp() {
    $("#help-keys").append(...SHORTCUTS.map(([key, what]) =>
      el("tr", {}, el("td", {}, el("kbd", { text: key })), el("td", { text: what }))));
  }

  buildLegend() {
    const body = $("#legend-body");
    const sample = (...children) => svg("svg", { viewBox: "-40 -30 80 60", "aria-hidden": "true" }, ...children);
    const node = (cls, ...shapes) => sample(svg("g", { class: `node ${cls}` }, ...shapes));
    const dots = (...kinds) => sample(...kinds.map(([cls, shape], k) =>
      svg("g", { class: `message ${cls}`, transform: `translate(${-27 + k * (54 / Math.max(1, kinds.length - 1))} 0)` },
        messageShape(shape, 8))));
    const msg = (cls, text, px = 18) => sample(svg("g", { class: `message ${cls}` },
      svg("rect", { class: "body", x: -30, y: -16, width: 60, height: 32, rx: 9 }), svg("text", { style: `font-size:${px}px` }, text)));
    const rows = [
      [node("follower", svg("circle", { class: "shape", r: 24 })), "Follower: a circle."],
      [node("candidate", svg("polygon", { class: "shape", points: "0,-28 28,0 0,28 -28,0" })),
        "Candidate: a diamond. Yellow dots are the votes it has."],
      [node("leader", svg("rect", { class: "shape", x: -24, y: -24, width: 48, height: 48, rx: 8 })), "Leader: a square."],
      [node("down", svg("circle", { class: "shape", r: 24 })), "Down (crashed): grey, dashed."],
      [node("follower learner", svg("circle", { class: "shape", r: 22 }), svg("circle", { class: "member-ring", r: 26 })),
        "Learner: a dashed outline. It receives the log but neither votes nor counts toward commitment (thesis 4.2.1)."],
      [node("follower outside", svg("circle", { class: "shape", r: 24 })),
        "Pale: outside the configuration (a new server not yet added, or a removed one)."],
      [node("follower precandidate", svg("circle", { class: "shape", r: 24 }),
        svg("circle", { class: "vote pre", r: 6, cy: -24 })),
        "Pre-candidate: a follower asking for pre-votes (hollow dots) before it raises its term (PreVote, thesis 9.6)."],
      [node("follower in-old in-new", svg("circle", { class: "group-ring old", r: 17 }), svg("circle", { class: "group-ring new", r: 25 }),
        svg("circle", { class: "shape", r: 11 })),
        "Joint consensus (C_old,new): a solid pink ring around each server of C_old, a dashed blue ring around each " +
        "server of C_new (the line above the ring names them). Until C_new is committed, elections and commitment need a majority of each."],
      [sample(svg("rect", { x: -37, y: -14, width: 74, height: 28, rx: 6, style: "fill:#fff3d6;stroke:#b07a00;stroke-width:1.5" }),
        svg("text", { x: 0, y: 1, style: "font-size:16px;font-weight:600;fill:#5c3a00;text-anchor:middle;dominant-baseline:central" }, "{S1–S3}")),
        "A badge (“uses {S1–S3}”, “uses old,new”, “no config yet”): the server's own configuration, where it is not the " +
        "one the ring shows. Each server uses the latest configuration in its own log, so servers can disagree " +
        "(conflicting majorities); its role (voter, learner, outside) is told by its own."],
      [sample(svg("path", { class: "timer", d: "M0,-24 A24,24 0 1 1 -24,0", style: "fill:none;stroke:#6b7785;stroke-width:5" })),
        "Election timer: the arc shrinks as the timeout nears; at zero the server starts an election. " +
        "On a leader it runs only for CheckQuorum or while it hands leadership over."],
      [msg("rv", "Vote?"), "RequestVote: a candidate asks for a vote."],
      [msg("ok", "Yes"), "Vote granted (RequestVote reply)."],
      [msg("no", "No"), "Vote refused."],
      [msg("hb", "♥"), "Heartbeat: an AppendEntries with no entries."],
      [msg("ae", "+3"), "AppendEntries carrying 3 log entries."],
      [msg("ok", "OK"), "AppendEntries succeeded."],
      [msg("no", "✗"), "AppendEntries rejected (logs do not match, or an old term)."],
      [msg("pv", "Pre?"), "PreVote: could I win an election? Asked before raising the term; nobody's term changes (option PreVote)."],
      [msg("pok", "Pre ✓"), "Pre-vote granted (hollow red: refused). A majority of them starts the real election."],
      [msg("tn", "Now!"), "TimeoutNow: a leader handing over tells its successor to start an election at once (leadership transfer)."],
      [msg("is", "Snap ≤5", 13), "InstallSnapshot (section 7): the leader sends its whole snapshot, through index 5, to a " +
        "follower that needs an entry the leader has discarded. Then AppendEntries go on from index 6."],
      [msg("isok", "Snap ✓", 13), "InstallSnapshot answered: the follower holds the snapshot (outlined red ✗: it did not take it)."],
      [sample(svg("line", { x1: -35, y1: 0, x2: 35, y2: 0, style: "stroke:#CC79A7;stroke-width:5;stroke-dasharray:3 7;stroke-linecap:round" })),
        "A purple dotted link: a leader handing leadership to the server at its other end."],
      [dots(["rv", "diamond"], ["ok", "circle"], ["no", "circle"]),
        "Small shapes (more than 5 servers, or chosen under Cluster): a diamond asks for a vote; a circle answers it, green yes, red no."],
      [dots(["ae", "square"], ["hb", "square"], ["ok", "small-square"], ["no", "small-square"]),
        "A square is an AppendEntries (hollow: a heartbeat); a small square answers it, green OK, red rejected. Hover or click one for its details."],
      [dots(["pv", "diamond"], ["pok", "circle"], ["pno", "circle"], ["tn", "triangle"]),
        "Hollow shapes are PreVote (diamond) and its replies (circles); a purple triangle is TimeoutNow."],
      [dots(["is", "hexagon"], ["isok", "small-hexagon"]),
        "A dark hexagon is InstallSnapshot; a small outlined hexagon answers it."],
      [sample(svg("path", { class: "death", d: "M-10,-10 L10,10 M-10,10 L10,-10" })),
        "A red cross: a message lost where it died (message loss, a cut link or partition, a crashed receiver, or dropped by hand)."],
      [sample(svg("line", { x1: -35, y1: 0, x2: 35, y2: 0, style: "stroke:#D55E00;stroke-width:4;stroke-dasharray:8 6" })),
        "A cut link: nothing crosses it. Click a link to cut or restore it."],
      [sample(svg("circle", { r: 22, fill: "#F0E442", opacity: 0.4 }), svg("circle", { r: 12, fill: "#0072B2" })),
        "A partition: each group has a coloured halo; links between groups fade out. A dashed red ring: an isolated server."],
      [el("div", { class: "cell", style: `position:static;width:2.6em;height:2.2em;background-color:${termColour(2)}` },
        el("span", { class: "t", text: "2" })), "A committed log entry; its colour and number are its term."],
      [el("div", { class: "cell uncommitted", style: `position:static;width:2.6em;height:2.2em;background-color:${termColour(2)}` },
        el("span", { class: "t", text: "2" })), "Hatched and dashed: not committed yet (on this server)."],
      [el("div", { class: "cell config", style: `position:static;width:2.6em;height:2.2em;background-color:#fff;--fill:${termColour(2)}` },
        el("span", { class: "t", text: "2" })),
        "A configuration entry: white in a frame of its term's colour, labelled old,new (C_old,new), new (C_new), " +
        "+S4 or −S3 (one server added or removed), +S4 L (S4 added as a learner), +2 or −2 (several), cfg (anything else); " +
        "its tooltip and the inspector say it in full. " +
        "A server uses the latest one in its log, committed or not."],
      [el("div", { class: "cell noop", style: `position:static;width:2.6em;height:2.2em;background-color:${termColour(2)}` },
        el("span", { class: "t", text: "2" })), "A no-op entry (its cell says no-op): a new leader's empty entry of its own term."],
      [el("div", { class: "cell client", style: `width:2.6em;height:2.2em;background-color:${termColour(2)}` },
        el("span", { class: "t", text: "2" })), "A dark corner: a client's request, with its client id and sequence number (in its tooltip)."],
      [el("div", { class: "cell client retry", style: `width:2.6em;height:2.2em;background-color:${termColour(2)}` },
        el("span", { class: "t", text: "2↻" })),
        "↻: a retry of a request already in the log. The state machine does not apply it again; with the unsafe " +
        "switch that turns deduplication off it does, and the cell gets a dashed vermillion frame."],
      [sample(svg("text", { x: -36, y: -8, style: "font-size:13px;font-weight:600", text: "SET x 1" }),
        svg("rect", { x: -36, y: 0, width: 50, height: 8, fill: "#0072B2" }),
        svg("rect", { x: 18, y: 0, width: 18, height: 8, rx: 4, fill: "#fff", stroke: "#0072B2", "stroke-width": 2 })),
        "Clients tab: a client's write (filled) and read (hollow, round-ended), from its call to its answer; " +
        "orange with an arrow: no answer yet; hatched grey: given up or refused; red: the operations no order explains."],
      [el("div", { class: "snap", style: "position:static;width:2.6em;height:2.2em" }, el("span", { class: "c", text: "≤5" })),
        "A snapshot (section 7), one block at the start of a row, labelled “snapshot ≤5, t3” (shorter where narrow): it " +
        "replaces the committed entries up to its last included index, 5, whose term, 3, it keeps. The state machine as of " +
        "index 5 is in it; the log goes on at index 6. Click it for its contents."],
      [sample(...["election", "leader", "commit", "action", "crash", "violation"].map((k, i) =>
        svg("line", { class: `mark-line ${k}`, x1: -30 + i * 12, x2: -30 + i * 12, y1: -20, y2: 20, "stroke-width": 4 }))),
        "Timeline marks, left to right: an election starts (orange), a new leader (green), a commit (blue), " +
        "an action (purple), a crash or restart (black), a safety violation (red)."],
    ];
    for (const [picture, text] of rows) body.append(picture, el("span", { text }));
  }
}

function download(text, filename, type) {
  const a = el("a", { href: URL.createObjectURL(new Blob([text], { type })), download: filename });
  document.body.append(a);
  a.click();
  a.remove();
}

/** A short message in the corner; `lasting` ones (the server refused the page) stay until dismissed. */
export function toast(message, kind = "error", { lasting = false } = {}) {
  const box = $("#toasts");
  // The same message again only renews the one on screen.
  const same = [...box.children].find((t) => t.dataset.message === message);
  same?.remove();
  const t = el("div", { class: `toast ${kind}`, "data-message": message },
    el("span", { text: message }),
    el("button", { text: "✕", "aria-label": "Dismiss", onclick: () => t.remove() }));
  box.append(t);
  if (!lasting) setTimeout(() => t.remove(), kind === "error" ? 7000 : 4000);
}
