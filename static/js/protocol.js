// The connection to the server (docs/protocol.md). This module only moves
// messages: it never computes anything about Raft.
import { io } from "/vendor/socket.io.esm.min.js";

const KEY = "raftviz-session";
const OWNER_KEY = "raftviz-owner";          // the secret that makes this page the owner of its session's room
const VIEWER_KEY = "raftviz-viewer:";       // + a room's code: this page's place in that room

/** The room code in a /join/<code> address (the room's link and QR code), or null. */
export function joinCode() {
  const m = location.pathname.match(/^\/join\/([^/]{1,100})$/);
  return m ? decodeURIComponent(m[1]).toUpperCase().replace(/[\s-]/g, "") : null;
}
export const MAX_HISTORY_BYTES = 4 * 1024 * 1024;   // the server's limit for a history file (docs/protocol.md)

export class Connection {
  constructor({ onState, onEvents, onStatus }) {
    this.onState = onState;
    this.onEvents = onEvents;
    this.onStatus = onStatus;
    const fromUrl = new URLSearchParams(location.search).get("session");
    this.session = fromUrl || sessionStorage.getItem(KEY) || null;
    this.owner = sessionStorage.getItem(OWNER_KEY) || null;
    this.join = joinCode();                  // following a class (or trying on a copy of its cluster)
    this.socket = io({
      // A function, so that a reconnection presents who we are now.
      auth: (cb) => cb(this.join ? { join: this.join, viewer: sessionStorage.getItem(VIEWER_KEY + this.join) || undefined }
        : this.owner ? { session: this.session, owner: this.owner } : { session: this.session }),
      transports: ["websocket", "polling"],
    });
    this.bytes = 0;        // bytes received from the server, for the render benchmark
    this.socket.io.on("open", () => {
      this.socket.io.engine.on("packet", (packet) => { this.bytes += typeof packet.data === "string" ? packet.data.length : 0; });
    });
    this.socket.on("state", (state) => {
      const place = state.room?.role === "viewer" ? state.room : state.trying;
      if (this.join && place?.token) {
        sessionStorage.setItem(VIEWER_KEY + this.join, place.token);
      } else if (this.join && !place) {
        // The room closed and left this page a copy of its own: from now on it is an ordinary page.
        this.join = null;
        history.replaceState(null, "", "/");
      }
      if (!this.join && state.session) {
        this.session = state.session;
        sessionStorage.setItem(KEY, state.session);
      }
      if (!state.room && !this.join) this.setOwner(null);
      this.onState(state);
    });
    this.socket.on("events", (update) => this.onEvents(update));
    this.socket.on("connect", () => this.onStatus({ connected: true }));
    this.socket.on("disconnect", () => this.onStatus({ connected: false, message: "Connection lost: reconnecting…" }));
    this.socket.on("connect_error", (err) => {
      // A refusal by the server (full, or too many new sessions) carries its sentence and
      // stops the automatic retries; a network failure is retried.
      const refused = !this.socket.active;
      this.onStatus({ connected: false, final: refused,
                      message: refused ? err.message : "Cannot reach the server: retrying…" });
    });
    document.addEventListener("visibilitychange", () => {
      if (this.socket.connected) this.send({ type: "visibility", visible: document.visibilityState === "visible" });
    });
  }

  /** The owner's secret of this session's room (null: no room), kept for a reload. */
  setOwner(secret) {
    this.owner = secret;
    if (secret) sessionStorage.setItem(OWNER_KEY, secret); else sessionStorage.removeItem(OWNER_KEY);
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

/** Post a saved history file to the server for a session (a file may be larger than a
 *  Socket.IO message); resolves with the server's answer. The size is checked first. The
 *  session id goes in a header: it is what gives control of the session. */
export async function postHistory(file, session) {
  const owner = sessionStorage.getItem(OWNER_KEY);           // while the session is shared in a room
  if (file.size > MAX_HISTORY_BYTES) {
    return { ok: false, error: `That file has ${(file.size / 2 ** 20).toFixed(1)} MB; a history file can be at most ${MAX_HISTORY_BYTES / 2 ** 20} MB.` };
  }
  try {
    const response = await fetch("/api/import", {
      method: "POST", body: file,
      headers: { "Content-Type": "application/json", "X-Raftviz-Session": session || "",
                 ...(owner ? { "X-Raftviz-Owner": owner } : {}) },
    });
    return await response.json();
  } catch {
    return { ok: false, error: "The file could not be sent to the server." };
  }
}
