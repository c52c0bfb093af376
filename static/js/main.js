// raftviz in the browser: connect, keep the model, draw it, send what the user does.
import { $ } from "./dom.js";
import { Connection } from "./protocol.js";
import { Model } from "./model.js";
import { ClusterView } from "./cluster-view.js";
import { LogsView } from "./logs-view.js";
import { Timeline } from "./timeline.js";
import { EventLog } from "./event-log.js";
import { Inspector } from "./inspector.js";
import { Controls, toast } from "./controls.js";
import { ScenarioPanel } from "./scenario.js";
import { Drawer } from "./drawer.js";
import { MembersPanel } from "./members.js";
import { ClientsPanel } from "./clients-view.js";
import { Classroom } from "./classroom.js";

const model = new Model();
// What the server's actions and options are (sim/actions.py): the controls are built from it.
const catalogue = await fetch("/api/catalogue").then((r) => r.json()).catch(() => null);
if (catalogue) $("#client-command").maxLength = catalogue.command.max;
let renderedSize = 0;

/** Send an action; a refusal is shown as a toast unless the caller shows it itself (quiet). */
function send(action, { quiet = false } = {}) {
  if (!classroom.allows(action)) {
    // A page that only looks: the server would refuse it; say why here, without asking it.
    toast(classroom.whyNot(), "info");
    return Promise.resolve({ ok: false, error: classroom.whyNot() });
  }
  return connection.send(action).then((ack) => {
    if (!ack.ok && !quiet) toast(ack.error);
    return ack;
  });
}

const seek = (seq) => send({ type: "seek", seq });

const presenter = () => document.body.classList.contains("presenter");

function select(selection, { focus = false } = {}) {
  view.select(selection);
  inspector.show(selection);
  // The inspector opens for what was clicked, except on the projector, where the
  // picture keeps the screen until the inspector is asked for (I).
  if (selection && (!presenter() || focus)) drawer.open("inspector");
  if (focus && selection) $("#inspector").focus({ preventScroll: true });   // keyboard users land on what they opened
  redraw();
}

const drawer = new Drawer({ onChange: (name) => {
  if (name === "events") events.render();
  if (name === "members") members.render();
  if (name === "clients") clients.render();
  if (name === "class") classroom.renderPane();
} });
const view = new ClusterView($("#cluster"), model, {
  onSelect: (sel, how) => select(sel, { focus: how === "key" }),
  onLink: (a, b) => {
    if (model.cut(a, b)) send({ type: "link", a, b });
    else if (model.blocked(a, b)) toast(`S${a}–S${b} is down because of a partition or an isolated server: use Heal or Reconnect.`, "info");
    else send({ type: "cut", a, b });
  },
});
view.onResize = () => redraw();
const logs = new LogsView($("#logs"), model, { onEntry: (node, entry) => select({ kind: "entry", node, entry }) });
const timeline = new Timeline($("#timeline"), model, { onSeek: seek });
const events = new EventLog($("#event-log"), $("#event-filter"), model, {
  onSeek: seek,
  onOlder: (before) => send({ type: "records", before, count: 200 }).then((ack) => ack.ok && events.appendOlder(ack.records)),
  isShown: () => drawer.isOpen("events"),
});
const inspector = new Inspector($("#inspector"), model, { send, onSelect: (sel) => select(sel) });
const scenario = new ScenarioPanel($("#narration"), model, send);
const members = new MembersPanel(model, send, { toast, isShown: () => drawer.isOpen("members"),
  maxNodes: catalogue?.nodes.max });
const clients = new ClientsPanel(model, send, { toast, isShown: () => drawer.isOpen("clients"), catalogue });
const controls = new Controls(model, send, {
  onSeek: seek, scenario, drawer, view, catalogue, onEscape: () => select(null),
  onLayout: () => { if (model.ready) { view.render(); logs.layout?.(); redraw(); } },
});

model.addEventListener("state", () => {
  if (model.nodes.size !== renderedSize || !view.nodeEls.size) {
    renderedSize = model.nodes.size;
    select(null);
  }
  view.deaths.forEach((d) => d.el?.remove());
  view.deaths = [];
  view.render();
  logs.render();
  timeline.render();
  events.render();
  controls.render();
  members.render();
  clients.render();
  classroom.render();
  inspector.refresh(null);
  scenario.onState();
  const notice = $("#notice");
  notice.hidden = !model.notice;
  notice.textContent = model.notice || "";
  redraw();
});

// Server updates are drawn as they come while stepping or playing slowly; at high
// speed they are merged and drawn ten times a second: hundreds of events a second
// are more than anyone can read, and each drawing costs the browser a layout.
const MERGE_ABOVE_SPEED = 0.1, MERGE_MS = 100;
let merged = null, mergeTimer = null, lastDrawn = 0;

function merge(into, c) {
  if (!into) return { ...c, records: c.records.slice(), nodes: new Set(c.nodes) };
  into.records.push(...c.records);
  for (const id of c.nodes) into.nodes.add(id);
  into.clockOnly = into.clockOnly && c.clockOnly;
  into.markersReset = into.markersReset || c.markersReset;
  into.grew = into.grew || c.grew;
  into.scenario = into.scenario || c.scenario;
  into.clients = into.clients || c.clients;
  into.room = into.room || c.room;
  into.notice = c.notice || into.notice;
  return into;
}

model.addEventListener("update", (e) => {
  merged = merge(merged, e.detail);
  const fast = model.mode === "playing" && model.speed > MERGE_ABOVE_SPEED;
  const wait = fast ? MERGE_MS - (performance.now() - lastDrawn) : 0;
  if (wait <= 0) drawUpdate();
  else if (!mergeTimer) mergeTimer = setTimeout(drawUpdate, wait);
});

model.addEventListener("state", () => { clearTimeout(mergeTimer); mergeTimer = null; merged = null; });

function drawUpdate() {
  clearTimeout(mergeTimer);
  mergeTimer = null;
  const changed = merged;
  merged = null;
  if (!changed) return;
  lastDrawn = performance.now();
  if (changed.grew) {
    // A server was added: the ring, the logs and the server lists are laid out
    // again for the new number of servers (the selection stays).
    renderedSize = model.nodes.size;
    view.render();
    logs.render();
    controls.render();
    events.render();                // from the model, which holds the new records already
  }
  view.update(changed);
  logs.update(changed);
  timeline.update(changed);
  if (!changed.grew) events.update(changed);
  controls.update(changed);
  members.update(changed);
  clients.update(changed);
  inspector.refresh(changed);
  if (changed.room) classroom.render();
  if (changed.scenario || changed.room) {
    scenario.render();
    const labels = JSON.stringify(model.scenario?.labels || {});
    if (labels !== view.labels) view.render();           // a scenario's server labels came or went
  }
  if (changed.notice) toast(changed.notice, "info");
  redraw();
}

const connection = new Connection({
  onState: (state) => model.applyState(state),
  onEvents: (update) => model.applyEvents(update),
  onStatus: ({ connected, message, final }) => {
    document.body.classList.toggle("offline", !connected);
    // A refusal (server full, too many new sessions) stays on screen: nothing else will happen.
    if (message) toast(message, final ? "error" : "info", { lasting: Boolean(final) });
    // A class that cannot be joined (a wrong or closed code) says so where the picture would be,
    // with the way to raftviz on one's own.
    if (final && connection?.join && !model.ready) {
      const notice = $("#notice");
      notice.hidden = false;
      notice.replaceChildren(`${message} `, Object.assign(document.createElement("a"), { href: "/", textContent: "Open raftviz on your own" }));
    }
  },
});

// The page draws only when something changed or moves: a frame is asked for by
// every server message and user action; frames go on at the display's rate
// while messages fly, ten times a second while only the timer arcs and the
// clock move, and not at all when nothing moves. A paused page does no work.
const SLOW_FRAME_MS = 100;
let framePending = false, slowTimer = null;
let lastTick = 0;

function redraw() {
  if (framePending) return;
  framePending = true;
  clearTimeout(slowTimer);
  requestAnimationFrame(frame);
}

function frame(t) {
  framePending = false;
  if (!model.ready) return;
  const now = model.now();
  const moving = view.frame(now);
  if (t - lastTick > SLOW_FRAME_MS - 5 || !moving) {
    lastTick = t;
    controls.tick(now);
    inspector.tick(now);
  }
  if (moving === "fast") redraw();
  else if (moving === "slow") slowTimer = setTimeout(redraw, SLOW_FRAME_MS);
}

// Classroom rooms: sharing this session with a class, or following one (classroom.js).
const classroom = new Classroom(model, send, { connection, toast, drawer, isShown: () => drawer.isOpen("class") });
scenario.classroom = classroom;
controls.classroom = classroom;

window.raftviz = { model, send, connection, view, drawer, clients, classroom };   // for the console, the browser tests and benchmarks
