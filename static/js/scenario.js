// Lecture scenarios: the picker, the narration panel, and ?scenario=<id> links.
import { el, clear, $ } from "./dom.js";
import { openDialog, closeWithoutResume } from "./dialogs.js";
import { countBar } from "./classroom.js";

export class ScenarioPanel {
  constructor(panel, model, send) {
    this.panel = panel;
    this.model = model;
    this.send = send;
    this.revealed = false;
    this.shownStep = null;
    this.requested = new URLSearchParams(location.search).get("scenario");
    $("#scenarios-button").addEventListener("click", () => this.openPicker());
    // The caption and question always show whole: when the panel's room changes
    // (the window, the drawer, the banner), what may give way is fitted again.
    new ResizeObserver(() => this.fit()).observe(panel.parentElement);
  }

  /** Where the panel is short of room, the source line gives way first (it stays in
   * the title's tooltip), then an answer's explanation that was open only by default
   * (a click or A opens it). The caption and the question never give way. */
  fit() {
    const p = this.panel;
    if (p.hidden) return;
    p.classList.remove("tight");
    const over = () => p.scrollHeight > p.clientHeight + 1;
    if (!over()) return;
    p.classList.add("tight");
    const details = p.querySelector("details.answered");
    if (over() && details?.open && this.openAnswer !== this.shownStep && !this.keepOpen) details.set(false);
  }

  next() {
    if (this.model.scenario) this.send({ type: "scenario_next" });
  }

  back() {
    if (this.model.scenario) this.send({ type: "scenario_back" });
  }

  /** The A key: reveal the answer to the question shown, with its explanation; or,
   * once the step has answered it, unfold the explanation. */
  reveal() {
    const sc = this.model.scenario;
    if (!sc) return;
    // A student following a class learns the answer from the lecturer, never ahead of the class.
    if (this.model.room?.role === "viewer" && sc.question && !sc.playing && !this.askedInRoom()?.counts) return;
    const owner = this.model.room?.role === "owner";
    if (sc.question && !sc.playing && !this.revealed) {
      this.revealed = true;
      // In a room, the class sees the distribution of its answers beside the answer too.
      if (owner && this.askedInRoom(0) && !this.askedInRoom(0).counts) this.send({ type: "room_reveal" });
    } else if (sc.answered && !sc.playing) {
      this.openAnswer = this.shownStep;
      // The step ran before the lecturer revealed: the distribution comes now, beside the answer.
      if (owner && this.askedInRoom(1) && !this.askedInRoom(1).counts) this.send({ type: "room_reveal" });
    } else return;
    this.render();
  }

  /** After the first state: open the scenario named in the address, once. */
  onState() {
    if (this.requested && this.model.scenario?.id !== this.requested) {
      const name = this.requested;
      this.requested = null;
      this.send({ type: "scenario", id: name });
    } else {
      this.requested = null;
    }
    this.render();
  }

  render() {
    const sc = this.model.scenario;
    const url = new URL(location.href);
    if (sc) url.searchParams.set("scenario", sc.id); else url.searchParams.delete("scenario");
    history.replaceState(null, "", url);           // the address is a link to this scenario
    this.panel.hidden = !sc;
    if (!sc) return;
    const key = `${sc.id}:${sc.step}`;
    if (key !== this.shownStep) {
      // An answer revealed before Next stays unfolded, explanation and all, once the step has played.
      this.keepOpen = this.revealed ? this.asked : null;
      this.revealed = false;
      this.shownStep = key;
    }
    this.asked = sc.question?.prompt ?? null;
    // Redrawing must not take the keyboard focus away: it goes back to the same button.
    const focused = this.panel.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    clear(this.panel);
    const head = el("div", { class: "narration-head" },
      el("div", { class: "where", title: `${sc.lecture}: ${sc.source}` },
        el("strong", { class: "title", text: sc.title }), " ",
        el("span", { class: "stepno", text: sc.step ? `Step ${sc.step} of ${sc.steps}` : `${sc.steps} steps` })),
      el("div", { class: "buttons", role: "group", "aria-label": "Scenario steps" },
        el("button", { "data-key": "back", text: "◂ Back", title: "Back to where the previous step began (B)", disabled: sc.step === 0 && !sc.playing,
          onclick: () => this.back() }),
        el("button", { class: "primary", id: "scenario-next", "data-key": "next", title: "Run the next step (N)",
          text: sc.playing ? "Finish step ▸▸" : sc.done ? (sc.on_script ? "Done" : "Back to the script")
            : sc.step === 0 ? "Start ▸" : "Next ▸",
          disabled: sc.done && sc.on_script && !sc.playing, onclick: () => this.next() }),
        sc.question && !sc.playing && !this.revealed && !this.askedInRoom()?.counts ? el("button", { type: "button", class: "reveal-button", "data-key": "reveal",
          text: "Reveal the answer", title: "Show the answer to the question below, and why (A)", "aria-keyshortcuts": "A",
          onclick: () => this.reveal() }) : null,
        el("button", { "data-key": "restart", text: "Restart", title: "Back to the beginning", onclick: () => this.send({ type: "scenario_restart" }) }),
        el("button", { text: "✕", "aria-label": "Close the scenario", title: "Close the scenario (the cluster stays)",
          onclick: () => this.send({ type: "scenario_close" }) })));
    this.panel.append(head);
    this.panel.append(el("p", { class: "caption", text: sc.caption || sc.summary }));
    if (sc.answered && sc.playing) {
      this.panel.append(el("p", { class: "hint", text: `${sc.answered.prompt} Watch: the answer comes when the step ends.` }));
    } else if (sc.answered) {
      this.panel.append(this.answer(sc.answered));
    }
    if (sc.question && !sc.playing) this.panel.append(this.question(sc.question));
    if (sc.failures.length) {
      this.panel.append(el("p", { class: "warning", text: `This step did not go as the slide says: ${sc.failures.join("; ")}` }));
    }
    if (!sc.on_script) {
      this.panel.append(el("p", { class: "hint", text: "You have left the script: Next and Back return to it." }));
    } else if (sc.done && !sc.playing) {
      this.panel.append(el("p", { class: "hint end", text: "The end of this scenario. Restart, or pick another." }));
    }
    this.panel.append(el("p", { class: "source", text: `${sc.lecture}: ${sc.source}` }));
    if (focused) this.panel.querySelector(`[data-key="${focused}"]`)?.focus({ preventScroll: true });
    this.fit();
  }

  /** The room's record of a question (its counts and answer once revealed), if this page is in a
   *  room: the one about to be asked (back 0), or the one the last step answered (back 1). */
  askedInRoom(back = 0) {
    const q = this.model.classRoom()?.question, sc = this.model.scenario;
    return q && !q.adhoc && sc && q.key === `${sc.id}:${sc.step - back}` ? q : null;
  }

  /** A predict-then-reveal question: the prompt, the choices and Reveal, as compact
   * as a slide's question (a projector needs the room for the picture). */
  question(q) {
    const name = `q-${this.shownStep}`;
    const promptId = `${name}-prompt`;
    const box = el("div", { class: "question", role: "radiogroup", "aria-labelledby": promptId },
      el("p", { class: "prompt", id: promptId, title: "Predict, then press Next (or Reveal)" },
        el("span", { class: "predict", text: "Predict: " }), q.prompt));
    const list = el("div", { class: "choices" });
    // In a room: the class's question (room.question) with its count per choice for the owner,
    // the viewer's own answer, and, once revealed, the distribution for everyone.
    const asked = this.askedInRoom();
    const owner = this.model.room?.role === "owner";
    // In a room the answer is not sent with the question: the room carries it (to the lecturer,
    // and to the class once revealed).
    const answer = q.answer ?? asked?.answer, explanation = q.explanation ?? asked?.explanation;
    const counts = asked ? (owner ? this.model.answers : asked.counts) : null;
    const revealed = (this.revealed || Boolean(asked?.counts)) && answer != null;
    const total = counts ? Object.values(counts).reduce((a, b) => a + b, 0) : 0;
    const mine = asked && !owner ? this.classroom?.myAnswer() : null;
    q.choices.forEach((choice, k) => {
      const input = el("input", { type: "radio", name, value: k + 1, checked: mine === k + 1,
        disabled: Boolean(asked && !owner && !asked.open) });
      if (asked && !owner) input.addEventListener("change", () => this.classroom?.answer(k + 1));
      // The count per choice shows once revealed: before, on the projector, it would sway the class
      // (the owner sees it live in the Class panel).
      const n = counts && revealed ? counts[String(k + 1)] : null;
      const label = el("label", { class: revealed && k + 1 === answer ? "right" : "" }, input, ` ${choice}`,
        n != null ? countBar(n, total) : "");
      list.append(label);
    });
    box.append(list);
    if (asked && owner) box.append(el("p", { class: "hint class-count", text: `${asked.answered} of ${this.model.room.watchers} answered` }));
    else if (asked && !revealed) box.append(el("p", { class: "hint class-count",
      text: mine ? `Your answer: ${q.choices[mine - 1]} (you may change it until the step runs)` : "Pick your answer: the lecturer sees how the class answered." }));
    if (revealed) box.append(el("p", { class: "reveal", text: `Answer: ${q.choices[answer - 1]}. ${explanation}` }));
    return box;
  }

  /** The previous step's question, answered by what just played. The explanation
   * folds on the projector, where space goes to the picture, unless the answer was
   * revealed (A, or Reveal) before the step or since; elsewhere it is open. */
  answer(q) {
    // The class's distribution beside the answer, once the lecturer revealed it.
    const asked = this.askedInRoom(1);
    const counts = asked?.counts, total = counts ? Object.values(counts).reduce((a, b) => a + b, 0) : 0;
    const details = el("details", { class: "reveal answered" },
      el("summary", { text: `${q.prompt} Answer: ${q.choices[q.answer - 1]}.`, title: "Click, or press A, for why" }),
      counts ? el("p", { class: "choices" }, ...q.choices.map((choice, k) =>
        el("span", { class: k + 1 === q.answer ? "right" : "" }, ` ${choice}`, countBar(counts[String(k + 1)] ?? 0, total)))) : "",
      el("p", { text: q.explanation }));
    // Opened or closed here, or by the user (a click, or A): only the user's choice is remembered.
    details.set = (open) => { details.wanted = open; details.open = open; };
    details.set(!document.body.classList.contains("presenter") || this.keepOpen === q.prompt
      || this.openAnswer === this.shownStep);
    details.addEventListener("toggle", () => {
      if (details.open === details.wanted) return;
      details.wanted = details.open;
      if (details.open) this.openAnswer = this.shownStep;
      else { this.openAnswer = null; this.keepOpen = null; }
    });
    return details;
  }

  async openPicker() {
    const list = clear($("#scenario-list"));
    list.append(el("p", { class: "hint", text: "Loading…" }));
    const dialog = openDialog("#scenarios");
    let data;
    try {
      data = await (await fetch("/api/scenarios")).json();
    } catch {
      clear(list).append(el("p", { text: "The scenario list could not be loaded." }));
      return;
    }
    clear(list);
    const groups = new Map();
    for (const s of data.scenarios) {
      if (!groups.has(s.lecture)) groups.set(s.lecture, []);
      groups.get(s.lecture).push(s);
    }
    for (const [lecture, items] of groups) {
      const ul = el("ul");
      for (const s of items) {
        ul.append(el("li", { "data-scenario": s.id },
          el("button", { class: "pick", text: s.title, onclick: () => {
            closeWithoutResume(dialog);            // a scenario opens paused at its start
            // Keyboard users land on the scenario's Next button once it is shown.
            this.send({ type: "scenario", id: s.id }).then(() => $("#scenario-next")?.focus({ preventScroll: true }));
          } }),
          el("span", { class: "hint", text: ` ${s.steps} steps · ${s.source}` }),
          el("p", { class: "summary", text: s.summary })));
      }
      list.append(el("section", {}, el("h3", { text: lecture }), ul));
    }
    for (const problem of data.problems) {
      list.append(el("p", { class: "warning", text: `Not loaded: ${problem}` }));
    }
  }
}
