// Dialogs (legend, shortcuts, scenario picker) pause a playing cluster while
// they are open, so nothing happens behind them; closing the last one resumes.
import { $ } from "./dom.js";

let model = null, send = null, pausedByDialog = false, resume = true;

export function setUpDialogs(theModel, theSend) {
  model = theModel;
  send = theSend;
  for (const dialog of document.querySelectorAll("dialog")) {
    dialog.addEventListener("close", () => {
      if (!pausedByDialog || document.querySelector("dialog[open]")) return;
      pausedByDialog = false;
      if (resume && model.mode === "paused") send({ type: "play" });
      resume = true;
    });
  }
}

export function openDialog(selector) {
  const d = $(selector);
  if (d.open) return d;
  if (model?.mode === "playing" && !pausedByDialog) {
    pausedByDialog = true;
    send({ type: "pause" });
  }
  d.showModal();
  return d;
}

/** Close a dialog because the user chose something that sets the mode itself. */
export function closeWithoutResume(dialog) {
  resume = false;
  dialog.close();
  resume = true;
}
