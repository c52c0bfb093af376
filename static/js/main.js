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

const model = new Model();
let renderedSize = 0;

function send(action) {
  return connection.send(action).then((ack) => {
    if (!ack.ok) toast(ack.error);
    return ack;
  });
}

const seek = (seq) => send({ type: "seek", seq });

function select(selection, { focus = false } = {}) {
  view.select(selection);
  inspector.show(selection);
  if (focus && selection) $("#inspector").focus();      // keyboard users land on what they opened
}

const view = new ClusterView($("#cluster"), model, {
  onSelect: (sel, how) => select(sel, { focus: how === "key" }),
  onLink: (a, b) => {
    if (model.cut(a, b)) send({ type: "link", a, b });
    else if (model.blocked(a, b)) toast(`S${a}–S${b} is down because of a partition or an isolated server: use Heal or Reconnect.`, "info");
    else send({ type: "cut", a, b });
  },
});
const logs = new LogsView($("#logs"), model, { onEntry: (node, entry) => select({ kind: "entry", node, entry }) });
const timeline = new Timeline($("#timeline"), model, { onSeek: seek });
const events = new EventLog($("#event-log"), $("#event-filter"), model, {
  onSeek: seek,
  onOlder: (before) => send({ type: "records", before, count: 200 }).then((ack) => ack.ok && events.appendOlder(ack.records)),
});
const inspector = new Inspector($("#inspector"), model, { send, onSelect: (sel) => select(sel) });
const scenario = new ScenarioPanel($("#narration"), model, send);
const controls = new Controls(model, send, { onSeek: seek, scenario, onEscape: () => select(null) });

model.addEventListener("state", () => {
  if (model.nodes.size !== renderedSize || !view.nodeEls.size) {
    renderedSize = model.nodes.size;
    select(null);
  }
  view.render();
  logs.render();
  timeline.render();
  events.render();
  controls.render();
  inspector.refresh(null);
  scenario.onState();
  const notice = $("#notice");
  notice.hidden = !model.notice;
  notice.textContent = model.notice || "";
});

model.addEventListener("update", (e) => {
  const changed = e.detail;
  view.update(changed);
  logs.update(changed);
  timeline.update(changed);
  events.update(changed);
  controls.update(changed);
  inspector.refresh(changed);
  if (changed.scenario) scenario.render();
  if (changed.notice) toast(changed.notice, "info");
});

const connection = new Connection({
  onState: (state) => model.applyState(state),
  onEvents: (update) => model.applyEvents(update),
  onStatus: ({ connected, message, final }) => {
    document.body.classList.toggle("offline", !connected);
    if (message) toast(final ? message : message, final ? "error" : "info");
  },
});

let lastTick = 0;
function frame(t) {
  if (model.ready) {
    const now = model.now();
    view.frame(now);
    if (t - lastTick > 100) {
      lastTick = t;
      controls.tick(now);
      inspector.tick(now);
    }
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

window.raftviz = { model, send, connection };   // for the console, the browser tests and benchmarks
