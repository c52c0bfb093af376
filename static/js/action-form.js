// "Any action": a form built from the server's action catalogue (GET
// /api/catalogue, defined once in raftviz/sim/actions.py). Every action the
// server knows can be taken from here, with its fields and limits as the
// server describes them; a new action appears without a change to the page.
import { el, clear, serverName } from "./dom.js";

/** An input for one field, by its kind; read() gives the value to send (or undefined). */
function fieldInput(field, ids, commandMax) {
  const label = `${field.name}${field.required ? "" : " (optional)"}`;
  const named = (input) => { input.setAttribute("aria-label", `${field.name}: ${field.doc}`); input.title = field.doc; return input; };
  switch (field.kind) {
    case "server": {
      const select = named(el("select", {}, ...(field.required ? [] : [el("option", { value: "", text: "—" })]),
        ...ids.map((id) => el("option", { value: id, text: serverName(id) }))));
      return { label, node: select, read: () => (select.value === "" ? undefined : Number(select.value)) };
    }
    case "command": {
      const input = named(el("input", { placeholder: "SET x 1", maxlength: commandMax }));
      return { label, node: input, read: () => input.value };
    }
    case "servers": {                                // a list of servers, e.g. the voters of change_config
      const input = named(el("input", { placeholder: ids.join(" ") }));
      return { label, node: input,
        read: () => (input.value.trim() === "" ? undefined : input.value.trim().split(/[\s,]+/).map((x) => Number(x.replace(/^S/i, "")))) };
    }
    case "choice": {                                 // one of the catalogue's choices, e.g. joint or single
      const select = named(el("select", {}, ...(field.required ? [] : [el("option", { value: "", text: "—" })]),
        ...(field.choices || []).map((c) => el("option", { value: c, text: c }))));
      return { label, node: select, read: () => (select.value === "" ? undefined : select.value) };
    }
    case "groups": {
      const input = named(el("input", { placeholder: "1 2 | 3 4 5" }));
      return { label, node: input, read: () => input.value.split("|").map((g) => g.trim().split(/[\s,]+/).filter(Boolean).map(Number)) };
    }
    case "latency": {
      const [lo, hi] = field.range || [0, 10000];
      const a = named(el("input", { type: "number", min: lo, max: hi, placeholder: "lowest" }));
      const b = named(el("input", { type: "number", min: lo, max: hi, placeholder: "highest" }));
      return { label: `${label}, ms`, node: el("span", {}, a, " – ", b),
        read: () => (a.value === "" && b.value === "" ? undefined : [Number(a.value), Number(b.value)]) };
    }
    case "key": {                                    // a key of the store: one word, e.g. x
      const input = named(el("input", { placeholder: "x", maxlength: field.range?.[1] ?? 40, autocomplete: "off" }));
      return { label, node: input, read: () => (input.value.trim() === "" ? undefined : input.value.trim()) };
    }
    case "count": {                                  // a whole number in its range (clients, a client id, ...)
      const [lo, hi] = field.range || [];
      const input = named(el("input", { type: "number", min: lo, max: hi, step: 1 }));
      return { label, node: input, read: () => (input.value === "" ? undefined : Number(input.value)) };
    }
    case "options":
      return null;                                    // the Options tab edits them, described one by one
    default: {                                        // message, loss, number: any number in its range
      const [lo, hi] = field.range || [];
      const input = named(el("input", { type: "number", min: lo, max: hi, step: "any" }));
      return { label, node: input, read: () => (input.value === "" ? undefined : Number(input.value)) };
    }
  }
}

export function buildActionForm(root, catalogue, ids, send) {
  clear(root);
  if (!catalogue) return;
  const usable = catalogue.actions.filter((a) => a.fields.every((f) => f.kind !== "options"));
  const pick = el("select", { "aria-label": "Action" }, ...usable.map((a) => el("option", { value: a.type, text: a.type })));
  const fields = el("span", { class: "fields" });
  const summary = el("p", { class: "hint" });
  let inputs = [];
  const show = () => {
    const action = usable.find((a) => a.type === pick.value);
    summary.textContent = action.summary;
    inputs = action.fields.map((f) => [f, fieldInput(f, ids, catalogue.command.max)]).filter(([, i]) => i);
    clear(fields).append(...inputs.map(([, i]) => el("label", {}, `${i.label} `, i.node)));
  };
  pick.addEventListener("change", show);
  const form = el("form", { class: "row action-form", "aria-label": "Any action" },
    el("label", {}, "Action ", pick), fields, el("button", { type: "submit", text: "Do it" }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const action = { type: pick.value };
    for (const [f, input] of inputs) {
      const value = input.read();
      if (value !== undefined) action[f.name] = value;
    }
    send(action);                                    // the server checks it and answers in plain words
  });
  root.append(el("h3", { class: "pane-title", text: "Any action" }), summary, form);
  show();
}
