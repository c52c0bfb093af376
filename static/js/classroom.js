// Classroom rooms (docs/protocol.md, "Classroom rooms"): the owner shares the
// session with a code and a QR code and sees the class; a viewer follows, tries
// on a copy of its own, and answers questions. The server decides who may do
// what; this module only shows it and sends what the user asks.
import { el, clear, $ } from "./dom.js";
import { openDialog } from "./dialogs.js";

// What a page that only looks may send (the server refuses the rest): a following viewer's
// actions, and the owner's own room actions while the projector shows a viewer's copy.
const LOOKING_MAY = new Set(["sync", "records", "export", "visibility", "answer", "room_fork", "room_follow", "room_offer",
  "room_show", "room_close", "room_control", "room_invite", "room_ask", "room_reveal"]);

export class Classroom {
  constructor(model, send, { connection, toast, drawer, isShown }) {
    this.model = model;
    this.send = send;
    this.connection = connection;
    this.toast = toast;
    this.drawer = drawer;
    this.isShown = isShown;
    $("#share-button").addEventListener("click", () => this.share());
    $("#class-big").addEventListener("click", () => this.showCode());
    $("#class-close").addEventListener("click", () => this.close());
    $("#class-invite").addEventListener("click", () =>
      this.send({ type: "room_invite", open: !this.model.room?.invited }));
    $("#class-ask").addEventListener("submit", (e) => { e.preventDefault(); this.ask(); });
    $("#class-reveal").addEventListener("click", () => this.send({ type: "room_reveal" }));
    $("#class-unask").addEventListener("click", () => this.send({ type: "room_ask", close: true }));
  }

  /** May this page send `action` now? A page that only looks may not change the cluster. */
  allows(action) {
    return !this.model.lookOnly() || LOOKING_MAY.has(action.type);
  }

  /** Why it may not, in a sentence. */
  whyNot() {
    return this.model.room?.role === "owner"
      ? "The projector shows a viewer's own copy: it is theirs. Press Back to the class to act again."
      : "You are following the class: only the lecturer changes this cluster. Press Try from here to try it on a copy of your own.";
  }

  /** The J key and the header button: open a room, or show its code large. */
  share() {
    if (this.model.room?.role === "owner") { this.showCode(); return; }
    if (this.model.room || this.model.trying) return;
    this.send({ type: "room_open" }).then((ack) => {
      if (!ack.ok) return;
      this.connection.setOwner(ack.owner);
      this.qr = ack.room.qr;
      this.showCode();
    });
  }

  close() {
    if (confirm("Close the room? Every viewer keeps a copy of the cluster as it is now.")) this.send({ type: "room_close" });
  }

  /** The code and the QR code, large enough to read across a hall. */
  showCode() {
    const room = this.model.room;
    if (!room) return;
    $("#room-qr").src = qrImage(room.qr || this.qr);
    $("#room-link").textContent = room.url || location.origin + room.link;
    $("#room-code").textContent = room.code;
    $("#room-watchers").textContent = watching(room.watchers);
    // A link to this machine's loopback address (the default `make run`) reaches no phone: say so.
    const host = new URL(room.url || location.href, location.href).hostname;
    $("#room-warning").hidden = !["localhost", "127.0.0.1", "[::1]"].includes(host);
    openDialog("#room-dialog");
  }

  ask() {
    const prompt = $("#class-prompt").value.trim();
    const text = $("#class-choices").value.trim();
    const action = { type: "room_ask", prompt };
    if (text) action.choices = text.split(",").map((c) => c.trim()).filter(Boolean);
    this.send(action);
  }

  answer(choice) {
    return this.send({ type: "answer", choice }).then((ack) => {
      if (ack.ok) { this.mine = { key: this.model.classRoom()?.question?.key, choice }; this.render(); }
      return ack;
    });
  }

  /** This page's own answer to the question shown (kept by the page; the server sends it on reconnect). */
  myAnswer() {
    const room = this.model.classRoom();
    const q = room?.question;
    if (!q) return null;
    if (this.mine?.key === q.key) return this.mine.choice;
    return room.my_answer ?? null;
  }

  render() {
    const { room, trying } = this.model;
    if (!trying) this.offered = false;         // an offer is of a copy, which goes with it
    const body = document.body;
    body.classList.toggle("in-room", Boolean(room || trying));
    body.classList.toggle("room-owner", room?.role === "owner");
    body.classList.toggle("look-only", this.model.lookOnly());
    body.classList.toggle("has-control", Boolean(room?.role === "viewer" && room.control));
    body.classList.toggle("trying", Boolean(trying));
    for (const tab of document.querySelectorAll(".owner-only")) tab.hidden = room?.role !== "owner";
    if (room?.role !== "owner" && this.drawer.isOpen("class")) this.drawer.close();
    $("#share-button").hidden = Boolean(room || trying);
    this.renderBar();
    this.renderQuestion();
    if (this.isShown()) this.renderPane();
    if ($("#room-dialog").open && room) $("#room-watchers").textContent = watching(room.watchers);
  }

  /** Where this page stands in the room, in the header (the projector's picture keeps its room),
   * and, for a page away from the class's cluster, a line under it with the way back. */
  renderBar() {
    const { room, trying } = this.model;
    const status = clear($("#room-status"));
    const bar = clear($("#room-bar"));
    bar.hidden = !(trying || room?.showing != null && room.role === "owner");
    status.hidden = !room || room.role === "owner";
    if (room?.role === "owner") {
      // The owner's room is the Class tab, with its code and how many watch.
      const tab = clear($("#class-tab"));
      tab.append("Room ", el("strong", { class: "code", text: room.code }), ` · ${room.watchers}`);
      tab.title = `${watching(room.watchers)}. The class: viewers, control, questions (G); the code large: J`;
      if (room.showing != null) {
        bar.append(el("span", { text: `The projector shows viewer ${room.showing}'s own copy: theirs to change, yours to look at.` }),
          el("button", { class: "primary", text: "Back to the class", onclick: () => this.send({ type: "room_show", viewer: null }) }));
      }
    } else if (room) {
      status.append(el("span", { title: `${watching(room.watchers)}` }, "Following room ",
        el("strong", { class: "code", text: room.code }), ` · ${room.watchers}`),
        room.control ? el("strong", { class: "control", text: "You have control" }) : "",
        el("button", { class: room.invited ? "primary invited" : "", id: "try-button",
          text: room.invited ? "Try from here: you are invited" : "Try from here",
          title: "A copy of the cluster as it is now, yours to play with; the class goes on without you",
          onclick: () => this.send({ type: "room_fork" }) }));
      if (room.showing != null) status.append(el("span", { class: "hint", text: `projector: viewer ${room.showing}'s copy` }));
    } else if (trying) {
      bar.append(el("span", {}, "Your own copy of the class's cluster (room ", el("strong", { class: "code", text: trying.code }), ")"),
        el("button", { class: "primary", id: "follow-button", text: "Back to the class", onclick: () => this.send({ type: "room_follow" }) }),
        el("button", { "aria-pressed": String(Boolean(this.offered)),
          text: this.offered ? "Withdraw the offer" : "Offer it to the projector",
          title: "Let the lecturer show your copy to the class, if they want",
          onclick: () => this.send({ type: "room_offer", offer: !this.offered }).then((ack) => {
            if (ack.ok) { this.offered = ack.offered; this.renderBar(); }
          }) }));
    }
  }

  /** The lecturer's own question (not a scenario's: the narration shows those). */
  renderQuestion() {
    const box = $("#room-question");
    const room = this.model.classRoom();
    const q = room?.question;
    clear(box);
    box.hidden = !(q && q.adhoc);
    if (box.hidden) return;
    box.append(el("p", { class: "prompt" }, el("span", { class: "predict", text: "Question: " }), q.prompt));
    // The counts show on the projector once revealed (before, they would sway the class); the
    // owner sees them live in the Class panel.
    box.append(this.choices(q, q.counts || null));
  }

  /** A question's choices: buttons to answer for a viewer, counts for the owner and, once revealed, for all. */
  choices(q, counts) {
    const owner = this.model.room?.role === "owner";
    const mine = this.myAnswer();
    const total = counts ? Object.values(counts).reduce((a, b) => a + b, 0) : 0;
    const list = el("div", { class: "choices room-choices", role: owner ? "list" : "radiogroup", "aria-label": q.prompt });
    q.choices.forEach((choice, k) => {
      const n = counts?.[String(k + 1)];
      const bar = n != null ? countBar(n, total) : null;
      if (owner || !q.open) {
        list.append(el("span", { class: `choice${mine === k + 1 ? " mine" : ""}`, role: owner ? "listitem" : null }, choice, bar));
      } else {
        list.append(el("button", { class: `choice${mine === k + 1 ? " mine" : ""}`, "aria-pressed": String(mine === k + 1),
          text: choice, onclick: () => this.answer(k + 1) }));
      }
    });
    const note = owner ? `${q.answered} of ${this.model.room.watchers} answered${q.open ? "" : " · closed"}`
      : mine ? `Your answer: ${q.choices[mine - 1]}${q.open ? " (you may change it)" : ""}` : q.open ? "Tap your answer." : "Closed.";
    return el("div", {}, list, el("p", { class: "hint", text: note }));
  }

  /** The owner's Class panel. */
  renderPane() {
    const room = this.model.room;
    if (room?.role !== "owner") return;
    $("#class-code").textContent = room.code;
    $("#class-link").textContent = room.url || location.origin + room.link;
    $("#class-qr").src = qrImage(room.qr || this.qr);
    $("#class-watchers").textContent = room.watchers;
    const invite = $("#class-invite");
    invite.setAttribute("aria-pressed", String(room.invited));
    invite.textContent = room.invited ? "Invitation open: withdraw" : "Invite all to try";
    const q = room.question;
    $("#class-reveal").disabled = !q || Boolean(q.counts) || !q.answered;
    $("#class-unask").disabled = !q?.adhoc;
    const answers = clear($("#class-answers"));
    if (q) answers.append(el("p", { class: "prompt", text: q.prompt }), this.choices(q, this.model.answers));
    $("#class-control").textContent = room.control != null ? `Viewer ${room.control} has control.` : "You alone have control.";
    const list = clear($("#class-viewers"));
    if (room.control != null) {
      list.append(el("li", {}, el("button", { text: "Take control back", onclick: () => this.send({ type: "room_control", viewer: null }) })));
    }
    for (const v of room.viewers || []) {
      if (!v.connected && !v.trying) continue;
      const state = v.trying ? (v.offered ? "trying · offers their copy" : "trying on a copy") : v.connected ? "following" : "away";
      list.append(el("li", {}, el("span", { text: `Viewer ${v.number} ` }), el("span", { class: "hint", text: state }),
        v.connected && !v.trying && room.control !== v.number
          ? el("button", { text: "Give control", onclick: () => this.send({ type: "room_control", viewer: v.number }) }) : "",
        v.offered ? el("button", { class: "primary", text: room.showing === v.number ? "Shown" : "Show on the projector",
          disabled: room.showing === v.number, onclick: () => this.send({ type: "room_show", viewer: v.number }) }) : ""));
    }
    if (!list.children.length) list.append(el("li", { class: "hint", text: "Nobody has joined yet." }));
  }
}

/** How many chose a choice: a bar as long as its share, and the number. */
export function countBar(n, total) {
  return el("span", { class: "count", title: `${n} of ${total} chose this` },
    el("span", { class: "fill", style: `width: ${total ? (5 * n / total).toFixed(2) : 0}em` }), ` ${n}`);
}

function watching(n) {
  return `${n} watching`;
}

/** The server's QR SVG as an image: drawn, never run as part of the page. */
function qrImage(svg) {
  return svg ? `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}` : "";
}
