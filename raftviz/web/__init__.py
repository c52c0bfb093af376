"""The web layer: a Flask app factory with Flask-SocketIO handlers.

    app = create_app({"SESSION_TTL": 600, ...})
    app.extensions["raftviz"]            # the Server: socketio, sessions, scheduler

The server owns the clusters; browsers attach to a session over Socket.IO,
send `action`s and receive `state` and `events` (docs/protocol.md). Only the
socketio.* helpers are used for tasks, sleeping and emitting, so the same
code runs under eventlet (app.py) and in threading mode (the tests).
"""
from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

from flask import Flask, abort, render_template, request, send_from_directory
from flask_socketio import SocketIO, join_room, leave_room

from .. import scenarios
from ..sim import Cluster
from . import protocol
from .scheduler import Scheduler
from .sessions import SessionsFull, SessionStore

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "node_modules" / "socket.io-client" / "dist"

DEFAULTS = {
    "ASYNC_MODE": "threading",        # app.py asks for eventlet
    "MAX_SESSIONS": 200,
    "SESSION_TTL": 600.0,             # s a session outlives its last connection
    "DEFAULT_NODES": 5,
    "DEFAULT_SPEED": 0.025,           # a 10-20 ms hop takes 0.4-0.8 s; a first election about 8 s
    "TICK": 0.05,                     # s between scheduler ticks
    "ACTION_RATE": 50,                # actions a session may send per second
    "CORS_ALLOWED_ORIGINS": None,     # None: same origin only
    "START_SCHEDULER": True,
    "SCENARIOS": None,                # a lecturer's folder of scenario files (or RAFTVIZ_SCENARIOS)
    "SESSION_SEED": None,             # None: each new session gets a random seed (shown in the page)
}


class Server:
    """Everything the handlers share: the Socket.IO server, sessions, scheduler."""

    def __init__(self, app: Flask, socketio: SocketIO):
        cfg = app.config
        self.app = app
        self.socketio = socketio
        def new_cluster():
            seed = cfg["SESSION_SEED"] if cfg["SESSION_SEED"] is not None else secrets.randbelow(2**32)
            return Cluster(cfg["DEFAULT_NODES"], seed=seed)

        self.sessions = SessionStore(new_cluster,
                                     max_sessions=cfg["MAX_SESSIONS"], ttl=cfg["SESSION_TTL"],
                                     speed=cfg["DEFAULT_SPEED"])
        self.scheduler = Scheduler(socketio, self.sessions, self.publish, cfg["TICK"])
        self.action_rate = cfg["ACTION_RATE"]
        self.sid_session: dict[str, str] = {}       # connection -> session id

    def publish(self, session, now: float, force_clock: bool = False) -> None:
        """Send a session's watchers what changed (the caller holds its lock)."""
        if session.needs_state():
            self.socketio.emit("state", session.state(), to=session.id)
            return
        update = session.updates(now, force_clock)
        if update is not None:
            self.socketio.emit("events", update, to=session.id)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder=str(ROOT / "static"), template_folder=str(ROOT / "templates"))
    app.config.update(DEFAULTS)
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    app.config.update(config or {})
    socketio = SocketIO(app, async_mode=app.config["ASYNC_MODE"],
                        cors_allowed_origins=app.config["CORS_ALLOWED_ORIGINS"],
                        max_http_buffer_size=protocol.MAX_IMPORT_BYTES + 64 * 1024)
    if app.config["SCENARIOS"]:
        scenarios.configure(app.config["SCENARIOS"])
    server = Server(app, socketio)
    app.extensions["raftviz"] = server
    _routes(app)
    _handlers(server)
    if app.config["START_SCHEDULER"]:
        server.scheduler.start()
    return app


def _routes(app: Flask) -> None:
    @app.get("/")
    def index():
        return render_template("index.html")

    @app.get("/api/scenarios")
    def scenario_list():
        """The scenarios for the picker, and why any of a lecturer's files did not load."""
        return {"scenarios": scenarios.catalogue(), "problems": scenarios.problems()}

    @app.get("/vendor/<path:name>")
    def vendor(name):
        # The Socket.IO client, installed from npm with a lockfile; never a CDN.
        if not name.startswith("socket.io"):
            abort(404)
        return send_from_directory(VENDOR, name)


def _handlers(server: Server) -> None:
    socketio = server.socketio

    @socketio.on("connect")
    def connect(auth=None):
        wanted = auth.get("session") if isinstance(auth, dict) else None
        session = server.sessions.get(wanted)
        if session is None:
            try:
                session = server.sessions.create()
            except SessionsFull as e:
                raise ConnectionRefusedError(str(e)) from None
        sid = request.sid
        with session.lock:
            session.attach(sid)
            server.sid_session[sid] = session.id
            join_room(session.id)
            state = session.state()
            if wanted and wanted != session.id:
                state["notice"] = "Your earlier session had expired: this is a new one."
            socketio.emit("state", state, to=sid)

    @socketio.on("disconnect")
    def disconnect(*_):
        sid = request.sid
        session = server.sessions.get(server.sid_session.pop(sid, None))
        if session is not None:
            with session.lock:
                session.detach(sid)
                leave_room(session.id)

    @socketio.on("action")
    def action(data=None):
        sid = request.sid
        session = server.sessions.get(server.sid_session.get(sid))
        if session is None:
            return {"ok": False, "error": "This page is not attached to a session any more: reload it."}
        now = time.monotonic()
        with session.lock:
            if not session.allow_action(now, server.action_rate):
                return {"ok": False, "error": f"Slow down: at most {server.action_rate} actions per second."}
            session.last_seen = now
            if isinstance(data, dict) and data.get("type") == "visibility":
                return _visibility(session, sid, data)
            try:
                ack, effect = protocol.handle(session, data)
            except Exception:                       # a bug: say so, keep the server and the session running
                log.exception("action %r failed in session %s", data, session.id)
                socketio.emit("state", session.state(), to=session.id)
                return {"ok": False, "error": "Something went wrong on the server while doing that. "
                                              "The page has been refreshed with the cluster as it is now."}
            if effect == protocol.SELF_STATE:
                socketio.emit("state", session.state(), to=sid)
            elif effect == protocol.STATE:
                socketio.emit("state", session.state(), to=session.id)
            elif effect == protocol.UPDATES:
                server.publish(session, now, force_clock=True)
            return ack


def _visibility(session, sid: str, data: dict) -> dict:
    """The page was hidden or shown: a hidden page's session stops advancing."""
    visible = data.get("visible")
    if not isinstance(visible, bool) or set(data) - {"type", "visible"}:
        return {"ok": False, "error": "visibility takes one field, visible: true or false."}
    session.set_visible(sid, visible)
    return {"ok": True}
