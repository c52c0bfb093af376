// The side drawer: inspector, event log, network, new cluster and options as
// tabs that share one column beside the picture. Opening or closing it
// resizes the picture, which re-lays itself out; it never pushes it down.
import { $ } from "./dom.js";

const TITLES = { inspector: "Inspector", events: "What happened", members: "Members: the configuration",
  clients: "Clients: their operations, linearizable or not", network: "Network",
  class: "The class", cluster: "New cluster", options: "Options and unsafe switches" };

export class Drawer {
  constructor({ onChange } = {}) {
    this.root = $("#drawer");
    this.onChange = onChange;
    this.current = null;
    for (const tab of document.querySelectorAll(".tab[data-drawer]")) {
      tab.addEventListener("click", () => this.toggle(tab.dataset.drawer));
    }
    $("#drawer-close").addEventListener("click", () => this.close());
  }

  isOpen(name) {
    return this.current === name;
  }

  toggle(name) {
    if (this.current === name) this.close(); else this.open(name);
  }

  open(name) {
    if (this.current === name) return;
    this.current = name;
    this.root.hidden = false;
    this.root.classList.toggle("wide", name === "clients");     // a time axis needs the width
    $("#drawer-title").textContent = TITLES[name];
    for (const pane of this.root.querySelectorAll(".pane")) pane.classList.toggle("open", pane.dataset.pane === name);
    this.markTabs();
    this.onChange?.(name);
  }

  close() {
    if (this.current === null) return;
    this.current = null;
    this.root.hidden = true;
    this.markTabs();
    this.onChange?.(null);
  }

  markTabs() {
    for (const tab of document.querySelectorAll(".tab[data-drawer]")) {
      tab.setAttribute("aria-pressed", String(tab.dataset.drawer === this.current));
    }
  }
}
