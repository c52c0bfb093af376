// The Members pane and the Change members dialog: add a server, change the
// voting members (joint consensus or one server at a time), hand leadership
// over. The server checks every request; its refusals are shown in its words.
import { $, el, clear, serverName } from "./dom.js";
import { openDialog } from "./dialogs.js";
import { describe, isVoter, standing } from "./membership.js";

export class MembersPanel {
  /** `send(action, {quiet})` answers with the server's acknowledgement;
   * `isShown()` says whether the pane is on screen (hidden, it does no work). */
  constructor(model, send, { toast, isShown, maxNodes = 9 }) {
    this.model = model;
    this.send = send;
    this.toast = toast;
    this.isShown = isShown;
    this.maxNodes = maxNodes;
    $("#add-server").addEventListener("click", () => this.addServer());
    $("#change-members").addEventListener("click", () => this.openDialog());
    $("#transfer-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const to = Number($("#transfer-to").value);
      if (to) this.send({ type: "transfer_leadership", to });
    });
    $("#members-form").addEventListener("submit", (e) => { e.preventDefault(); this.change(); });
    $("#members-cancel").addEventListener("click", () => $("#members-dialog").close());
  }

  ids() {
    return [...this.model.nodes.keys()].sort((a, b) => a - b);
  }

  addServer() {
    this.send({ type: "add_server" }).then((ack) => {
      if (ack.ok) {
        this.toast(`${serverName(ack.node)} starts, empty and outside the configuration. ` +
          "Change members… can make it a voter.", "info");
      }
    });
  }

  /** The dialog opens with the ring's voters ticked (C_new during joint consensus). */
  openDialog() {
    const config = this.model.configuration();
    const voters = config ? config.voters : this.ids();
    $("#members-current").textContent = config
      ? `Now (${config.byLeader ? "the leader" : "no leader;"} ${serverName(config.of)}${config.byLeader ? "" : " has the latest"}): ${describe(config)}.`
      : "";
    clear($("#members-choices")).append(...this.ids().map((id) =>
      el("label", { class: "choice" }, el("input", { type: "checkbox", name: "voter", value: id, checked: voters.includes(id) }),
        ` ${serverName(id)}`)));
    $("#members-error").textContent = "";
    openDialog("#members-dialog");
    $("#members-choices input")?.focus();
  }

  change() {
    const voters = [...document.querySelectorAll("#members-choices input:checked")].map((i) => Number(i.value));
    const method = document.querySelector("#members-form input[name=method]:checked").value;
    const error = $("#members-error");
    if (!voters.length) {
      error.textContent = "Tick at least one server: a cluster needs voters.";
      return;
    }
    // Refusals stay in the dialog, beside what the user chose, rather than in a toast behind it.
    this.send({ type: "change_config", voters, method }, { quiet: true }).then((ack) => {
      if (!ack.ok) { error.textContent = ack.error; return; }
      if (ack.index === null) { error.textContent = ack.note; return; }
      $("#members-dialog").close();
      this.toast(`The leader starts the change at log index ${ack.index}.`, "info");
    });
  }

  render() {
    if (!this.isShown()) { this.stale = true; return; }
    this.stale = false;
    const ids = this.ids();
    const config = this.model.configuration();
    const leader = this.model.leader();
    // Redrawn only when what it shows changed: not while a playing cluster only
    // moves its messages, so an open drop-down or the focus is left alone.
    const key = JSON.stringify([config, leader?.id, leader?.transfer_to, leader?.config,
      ids.map((id) => { const n = this.model.nodes.get(id); return [id, n.config, n.config_index, n.config_index <= n.commit_index]; })]);
    if (key === this.key) return;
    this.key = key;
    const outside = ids.filter((id) => standing(config, id) === "outside");
    $("#members-whose").textContent = !config ? "no configuration"
      : config.byLeader ? `the leader ${serverName(config.of)}'s configuration` : `${serverName(config.of)}'s configuration (the latest; no leader)`;
    $("#members-now").textContent = config ? describe(config, { outside }) : "";
    const add = $("#add-server");
    const full = ids.length >= this.maxNodes;
    add.textContent = full ? "Add server" : `Add server S${Math.max(0, ...ids) + 1}`;
    add.disabled = full;
    add.title = full ? `A cluster has at most ${this.maxNodes} servers.` : "Start a new, empty server outside the configuration";
    // Transfer: to any voter of the leader's configuration but itself.
    const select = $("#transfer-to");
    const keep = select.value;
    const targets = leader ? ids.filter((id) => id !== leader.id && isVoter(standing(leader.config, id))) : [];
    clear(select).append(...targets.map((id) => el("option", { value: id, text: serverName(id) })));
    if (targets.includes(Number(keep))) select.value = keep;
    select.disabled = $("#transfer").disabled = !targets.length || Boolean(leader?.transfer_to);
    $("#transfer").title = !leader ? "There is no leader to hand leadership over."
      : leader.transfer_to ? `${serverName(leader.id)} is already handing leadership to ${serverName(leader.transfer_to)}.`
        : `Ask ${serverName(leader.id)} to hand leadership over`;
    // Each server's own configuration: the ones that differ from the ring's stand out.
    const ringKey = config && JSON.stringify([config.voters, config.old_voters, config.learners]);
    clear($("#own-configs")).append(...ids.map((id) => {
      const n = this.model.nodes.get(id);
      const own = n.config;
      const differs = own && JSON.stringify([own.voters, own.old_voters, own.learners]) !== ringKey;
      return el("tr", { class: differs ? "differs" : "" },
        el("th", { text: serverName(id) }),
        el("td", { text: own ? describe(own) : "—" }),
        el("td", { class: "hint", text: !own || (!own.voters.length && !own.old_voters) ? "" : n.config_index === 0 ? "initial"
          : `index ${n.config_index}${n.config_index <= n.commit_index ? "" : ", not committed"}` }));
    }));
  }

  update(changed) {
    if (!changed || changed.nodes.size) this.render();
  }
}
