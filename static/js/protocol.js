// The connection to the server (docs/protocol.md). This module only moves
// messages: it never computes anything about Raft.
import { io } from "/vendor/socket.io.esm.min.js";

const KEY = "raftviz-session";

export class Connection {
  constructor({ onState, onEvents, onStatus }) {
    this.onState = onState;
    this.onEvents = onEvents;
    this.onStatus = onStatus;
    const fromUrl = new URLSearchParams(location.search).get("session");
    this.session = fromUrl || sessionStorage.getItem(KEY) || null;
    this.socket = io({
      // A function, so that a reconnection presents the session we have now.
      auth: (cb) => cb({ session: this.session }),
      transports: ["websocket", "polling"],
    });
    this.bytes = 0;        // bytes received from the server, for the render benchmark
    this.socket.io.on("open", () => {
      this.socket.io.engine.on("packet", (packet) => { this.bytes += typeof packet.data === "string" ? packet.data.length : 0; });
    });
    this.socket.on("state", (state) => {
      this.session = state.session;
      sessionStorage.setItem(KEY, state.session);
      this.onState(state);
    });
    this.socket.on("events", (update) => this.onEvents(update));
    this.socket.on("connect", () => this.onStatus({ connected: true }));
    this.socket.on("disconnect", () => this.onStatus({ connected: false, message: "Connection lost: reconnecting…" }));
    this.socket.on("connect_error", (err) => {
      // A refusal (e.g. a full server) stops the automatic retries: say why.
      this.onStatus({ connected: false, message: err.message, final: !this.socket.active });
    });
    document.addEventListener("visibilitychange", () => {
      if (this.socket.connected) this.send({ type: "visibility", visible: document.visibilityState === "visible" });
    });
  }

  /** Send an action; resolves with the server's acknowledgement. */
  send(action) {
    return new Promise((resolve) => {
      if (!this.socket.connected) {
        resolve({ ok: false, error: "Not connected to the server right now." });
        return;
      }
      this.socket.timeout(10000).emit("action", action, (err, ack) => {
        resolve(err ? { ok: false, error: "The server did not answer in time." } : ack);
      });
    });
  }
}
