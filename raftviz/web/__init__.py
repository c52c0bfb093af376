"""The web layer: a Flask app factory with Flask-SocketIO handlers.

    app = create_app({"SESSION_TTL": 600, ...})
    app.extensions["raftviz"]            # the Server: socketio, sessions, scheduler

The server owns the clusters; browsers attach to a session over Socket.IO,
send `action`s and receive `state` and `events` (docs/protocol.md). Only the
socketio.* helpers are used for tasks, sleeping and emitting, so the same
code runs under eventlet (app.py) and in threading mode (the tests).
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from pathlib import Path

from flask import Flask, abort, render_template, request, send_from_directory
from flask_socketio import SocketIO
# Flask-SocketIO's own class: its message reaches the page's connect_error (Python's built-in
# ConnectionRefusedError is answered with a generic "Connection refused by server").
from flask_socketio import ConnectionRefusedError as SocketRefused
from socketio.packet import Packet

from .. import scenarios
from ..sim import Cluster, actions
from . import imports, limits, persist, protocol
from .classroom import ROOM_ACTIONS, Classroom
from .rooms import RoomRefused
from .scheduler import Scheduler
from .sessions import CPU_BURST, CPU_SHARE, SessionRefused, SessionStore
from .work import MAX_LONG, Work

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "node_modules" / "socket.io-client" / "dist"
BROWSER_CLIENT = "socket.io.esm.min.js"             # the page imports it from /vendor/
MISSING_CLIENT = ("The page's Socket.IO client is not installed (node_modules/socket.io-client is missing). "
                  "Run `make run`, or `npm ci` in the raftviz folder, then start the server again.")


def browser_client_missing() -> bool:
    """Without the browser's Socket.IO client the page would stay empty."""
    return not (VENDOR / BROWSER_CLIENT).is_file()
SESSION_HEADER = "X-Raftviz-Session"   # carries the session id with POST /api/import
OWNER_HEADER = "X-Raftviz-Owner"       # and, while the session is shared in a room, the owner's secret
MAX_BACKLOG = 8                        # messages a page may have waiting before it gets no more full states
MAX_PACKETS = 120                      # Socket.IO messages a connection may send per second (actions: 50)
LOOKING = {"sync", "records", "export", "visibility"}   # actions that change nothing worth saving
BUSY = {"import": "importing a history", "save_scenario": "saving the session as a scenario"}   # long requests
HOST = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,255}$")

DEFAULTS = {
    "ASYNC_MODE": "threading",        # app.py asks for eventlet
    "MAX_SESSIONS": 200,
    "SESSION_TTL": 600.0,             # s a session outlives its last connection (one nobody acted in: 30 s)
    "NEW_SESSIONS_PER_MINUTE": 60,    # per client address; a lecture hall behind one NAT may want more
    "DEFAULT_NODES": 5,
    "DEFAULT_SPEED": 0.025,           # a 10-20 ms hop takes 0.4-0.8 s; a first election about 8 s
    "TICK": 0.05,                     # s between scheduler ticks
    "ACTION_RATE": 50,                # actions a session may send per second
    "CORS_ALLOWED_ORIGINS": None,     # None: same origin only
    "FRAME_ANCESTORS": "'self'",      # who may show the page in a frame (CSP frame-ancestors), e.g. a course site
    "START_SCHEDULER": True,
    "SCENARIOS": None,                # a lecturer's folder of scenario files (or RAFTVIZ_SCENARIOS)
    "SESSION_SEED": None,             # None: each new session gets a random seed (shown in the page)
    # Classroom rooms (rooms.py)
    "MAX_ROOMS": 20,
    "MAX_VIEWERS": 400,               # viewers connected to one room
    "MAX_COPIES": 400,                # viewers' private copies ("Try from here") on the whole server
    "JOINS_PER_MINUTE": 600,          # per client address: a lecture hall often shares one
    "VIEWER_ACTION_RATE": 5,          # actions a viewer may send per second
    "PUBLIC_URL": None,               # the address in a room's link and QR code (default: the one the page used)
    # Where sessions are saved to outlive the process (persist.py): None or "none", no store;
    # "default", a SQLite file in the instance folder (app.py's default); else a SQLite file's path.
    "STORE": None,
    # A Redis URL: this is one of several processes sharing it (sharing.py); sessions are kept there too.
    "MESSAGE_QUEUE": None,
}


class JsonPacket(Packet):
    """Socket.IO packets of plain JSON. The server never sends bytes, so it need
    not walk every message looking for some before encoding it: for a full
    state of 9 logs of 2,000 entries that walk alone holds the loop ~25 ms."""
    uses_binary_events = False


class Server:
    """Everything the handlers share: the Socket.IO server, sessions, scheduler."""

    def __init__(self, app: Flask, socketio: SocketIO):
        cfg = app.config
        self.app = app
        self.socketio = socketio
        def new_cluster():
            seed = cfg["SESSION_SEED"] if cfg["SESSION_SEED"] is not None else secrets.randbelow(2**32)
            return Cluster(cfg["DEFAULT_NODES"], seed=seed, **limits.KEEP)

        # The scenarios this server offers: the bundled ones and a lecturer's folder.
        self.library = scenarios.Library(cfg["SCENARIOS"] or os.environ.get("RAFTVIZ_SCENARIOS") or None)
        self.sessions = SessionStore(new_cluster, library=self.library,
                                     max_sessions=cfg["MAX_SESSIONS"], ttl=cfg["SESSION_TTL"],
                                     speed=cfg["DEFAULT_SPEED"], per_address=cfg["NEW_SESSIONS_PER_MINUTE"])
        self.classroom = Classroom(self, cfg)
        self.seats = self.classroom.seats             # connection -> its Seat (the session it shows, its room)
        self.keeper = None                            # saves sessions to the store, brings them back
        self.sharing = None                           # several processes behind one address (sharing.py)
        queue, store = cfg["MESSAGE_QUEUE"], cfg["STORE"]
        if queue and store == "default":
            store = queue                             # with a message queue, sessions are kept in that Redis
        if store is not None and str(store).lower() != "none":
            if str(store).startswith(("redis://", "rediss://", "unix://")):
                store = persist.RedisStore(str(store), cfg["SESSION_TTL"])
            else:
                store = persist.open_store(None if store == "default" else str(store), Path(app.instance_path))
            if store is not None:
                self.keeper = persist.Keeper(store, self.sessions, self.classroom, cfg["SESSION_TTL"], socketio.sleep)
        if queue:
            from .sharing import Sharing              # needs the redis package
            shared = store if isinstance(store, persist.RedisStore) else None
            self.sharing = Sharing(self, queue, shared)
            self.classroom.rooms.listener = self.sharing
            self.classroom.locate_room = self.sharing.room_session
            if self.keeper is not None and shared is not None:
                self.keeper.fetch = self.sharing.fetch
                self.sessions.bring_back = self.keeper.bring_back
        if self.keeper is not None and not (self.sharing is not None and self.keeper.fetch is not None):
            # One process on its own store: it brings back everything of the last ttl.
            found = self.keeper.load()
            log.info("%d sessions to bring back from %s", found, store)
        self.scheduler = Scheduler(socketio, self.sessions, self.publish, cfg["TICK"], after_reap=self.reaped,
                                   save=self.keeper.maybe_save if self.keeper else None)
        self.action_rate = cfg["ACTION_RATE"]
        self.long_requests = 0                      # imports and scenario steps running now

    def reaped(self, gone: list[str]) -> None:
        """Sessions expired: their rooms close, and the store forgets them."""
        self.classroom.sweep()
        for sid in gone:
            if self.keeper is not None:
                self.keeper.forget(sid)
            if self.sharing is not None:
                self.sharing.release(sid)

    def changed(self, session) -> None:
        """Someone changed the session: save it now, before the page is answered, so
        nothing a user did is lost. (Its cost is charged to the session's share.)"""
        if self.keeper is not None:
            self.keeper.save(session)

    def start(self) -> None:
        """The scheduler, and bringing back the sessions an earlier process saved."""
        self.scheduler.start()
        if self.sharing is not None:
            # Listen to the message queue now, not at the first page's connection: a page seated here
            # by another process must not miss what is sent to it before that.
            server = self.socketio.server
            if not server.manager_initialized:
                server.manager_initialized = True
                server.manager.initialize()
            self.sharing.start()
        if self.keeper is not None and self.sessions.pending:
            self.socketio.start_background_task(self.keeper.bring_all_back)

    def save_all(self) -> None:
        """Before the process ends: every session where it stands, and (sharing) its
        leases let go at once, so another process takes over without waiting."""
        if self.keeper is not None:
            for session in self.sessions.all():
                with session.lock:
                    self.keeper.save(session)
        if self.sharing is not None:
            self.sharing.leave()

    # ----- what a connection does: here, or forwarded from another process (sharing.py) ----------
    def is_remote(self, sid: str) -> bool:
        return self.sharing is not None and self.sharing.is_remote(sid)

    def on_connect(self, sid: str, auth: dict, address: str) -> str | None:
        """Seat a new connection and send it its state; the refusal's sentence if it is refused."""
        if self.sharing is not None:
            refusal = self.sharing.unreachable(auth)
            if refusal:
                return refusal
            if self.sharing.elsewhere(sid, auth):
                return self.sharing.forward_connect(sid, auth, address)
        try:
            session, notice = self.classroom.connect(sid, auth, address)
        except (SessionRefused, RoomRefused) as e:
            return str(e)
        if self.sharing is not None:
            self.sharing.own(session)
        with session.lock:
            self.classroom.send_state(session, sid, notice)
        return None

    def on_disconnect(self, sid: str) -> None:
        if self.is_remote(sid):
            self.sharing.forward_disconnect(sid)
            return
        self.classroom.disconnect(sid)           # its seat knows the one session it is attached to

    def on_action(self, sid: str, args: tuple, host_url: str) -> dict:
        """One action from a page: checked, carried out, answered."""
        if self.is_remote(sid):
            return self.sharing.forward_action(sid, args, host_url)
        classroom = self.classroom
        seat = self.seats.get(sid)
        session = self.sessions.get(seat.session) if seat else None
        if session is None:
            return {"ok": False, "error": "This page is not attached to a session any more: reload it."}
        data = args[0] if len(args) == 1 else None
        kind = data.get("type") if isinstance(data, dict) else None
        refusal = classroom.refusal(seat, kind)
        if refusal:
            return {"ok": False, "error": refusal}
        allowance, rate = classroom.allowance(seat)

        def run(work):
            if len(args) != 1:
                return {"ok": False, "error": "An action is one object, e.g. {\"type\": \"play\"}, "
                                              "sent with an acknowledgement."}
            if kind == "visibility":
                return _visibility(session, sid, data)
            if kind in ROOM_ACTIONS:
                try:
                    protocol.check_size(data, limits.MAX_ACTION_BYTES)
                except protocol.Refused as e:
                    return {"ok": False, "error": str(e)}
                ack = classroom.act(sid, seat, data, host_url)
                if ack.get("ok") and kind != "answer":      # answers are many: saved with the next tick
                    mine = self.sessions.get(seat.session) or session
                    self.changed(mine)
                    if self.sharing is not None:
                        self.sharing.own(mine)
                return ack
            if allowance is None and kind != "sync":
                session.acted = True
            try:
                ack, effect = protocol.handle(session, data, work)
            except Exception:                       # a bug: say so, keep the server and the session running
                log.exception("action %.200r failed in session %s", data, session.id)
                self.send_state(session)
                return {"ok": False, "error": "Something went wrong on the server while doing that. "
                                              "The page has been refreshed with the cluster as it is now."}
            if ack.get("ok") and kind not in LOOKING:
                self.changed(session)
            if effect == protocol.SELF_STATE:
                self.send_state(session, sid)
            elif effect == protocol.STATE:
                self.send_state(session)
            elif effect == protocol.UPDATES:
                self.publish(session, time.monotonic(), force_clock=True)
            return ack

        return self.perform(session, kind if isinstance(kind, str) else None, run, asker=sid,
                            allowance=allowance, rate=rate)

    def send_state(self, session, sid: str | None = None) -> None:
        """The full state to every page showing the session, or to one (classroom.py tailors it)."""
        self.classroom.send_state(session, sid)

    def publish(self, session, now: float, force_clock: bool = False) -> None:
        """Send a session's watchers what changed (the caller holds its lock)."""
        if session.needs_state():
            self.send_state(session)
        else:
            update = session.updates(now, force_clock)
            if update is not None:
                self.socketio.emit("events", update, to=session.id)
        self.classroom.publish(session)

    def connected(self, sid: str) -> bool:
        """The connection is fully open: neither opening nor closing. A "connect"
        or "disconnect" handler called while it is, is an event the client sent."""
        return self.socketio.server.manager.is_connected(sid, "/")

    def backlog(self, sid: str) -> int:
        """Messages waiting to be sent to a connection (a page that stopped reading)."""
        try:
            eio_sid = self.socketio.server.manager.eio_sid_from_sid(sid, "/")
            return self.socketio.server.eio.sockets[eio_sid].queue.qsize()
        except (KeyError, AttributeError, TypeError):
            return 0

    def perform(self, session, kind, run, *, asker: str | None = None, allowance=None, rate=None) -> dict:
        """Do one request on a session, fairly: refuse it when the session (or
        `allowance`, a viewer's own) sends too many, is busy with a long one or
        has used its share of the server (work.py); else run(work) under the
        session's lock and charge its CPU."""
        now = time.monotonic()
        allowance, rate = allowance or session, rate or self.action_rate
        if not allowance.allow_action(now, rate):
            return {"ok": False, "error": f"Slow down: at most {rate} actions per second."}
        if session.busy:
            return {"ok": False, "error": f"Please wait: the server is still {session.busy} for this session."}
        long = kind == "import" or kind in protocol.LONG
        # Expensive requests wait while the share is spent; cheap ones (pause, a crash) go on, unless
        # the session is deep in debt: every action is saved, and saving a history of thousands of
        # actions costs milliseconds, so a client acting as fast as it may is held to its share too.
        credit = allowance.credit(now)
        if credit < (0 if long or kind in protocol.EXPENSIVE else -CPU_BURST) and kind != "visibility":
            return {"ok": False, "error": f"Slow down: {'this session' if allowance is session else 'your page'} has used its share of the server for now. "
                                          f"Try again in {-credit / CPU_SHARE + 1:.0f} s."}
        if long or kind in protocol.EXPENSIVE:
            if asker is not None and self.backlog(asker) > MAX_BACKLOG:
                return {"ok": False, "error": "Your page has not yet received what the server sent it: "
                                              "wait a moment and try again."}
        if long and self.long_requests >= MAX_LONG:
            return {"ok": False, "error": "The server is busy with other long requests: try again in a few seconds."}
        work = Work(self.socketio.sleep)
        with session.lock:
            session.last_seen = now
            if long:
                self.long_requests += 1
                session.busy = BUSY.get(kind, "running a scenario step")
            try:
                return run(work)
            finally:
                if long:
                    self.long_requests -= 1
                    session.busy = None
                allowance.charge(work.cost(), time.monotonic())


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder=str(ROOT / "static"), template_folder=str(ROOT / "templates"))
    app.config.update(DEFAULTS)
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    app.config["MAX_CONTENT_LENGTH"] = limits.MAX_IMPORT_BYTES + 1024
    app.config.update(config or {})
    # A Socket.IO message is one action (16 KB): larger frames are refused from their header,
    # before their bytes are read. Histories come by HTTP POST.
    queue = app.config["MESSAGE_QUEUE"]
    shared = {}
    if queue:
        # Flask-SocketIO's message queue, made here so that a class joining at once (hundreds of
        # emits in flight) does not run out of Redis connections.
        from socketio import RedisManager
        shared["client_manager"] = RedisManager(queue, channel="raftviz-socketio",
                                                redis_options={"max_connections": 1000})
    socketio = SocketIO(app, async_mode=app.config["ASYNC_MODE"], **shared,
                        cors_allowed_origins=app.config["CORS_ALLOWED_ORIGINS"],
                        max_http_buffer_size=limits.MAX_ACTION_BYTES + 4 * 1024, serializer=JsonPacket)
    _limit_packets(socketio)
    server = Server(app, socketio)
    app.extensions["raftviz"] = server
    _routes(app, server)
    _handlers(server)
    if app.config["START_SCHEDULER"]:
        server.start()
    return app


UNREADABLE_ACK = re.compile(r"^2(\d+)[\[\"]")          # an EVENT packet that asks for an acknowledgement


def _limit_packets(socketio: SocketIO) -> None:
    """Close a connection that floods the server with messages. Every message
    starts a task on the one event loop, so any event name (not only actions,
    which have their own limit) sent thousands of times a second would make
    everyone else wait behind it."""
    eio = socketio.server.eio
    receive = eio.handlers["message"]
    recent: dict[str, list] = {}                   # connection -> [second, messages in it]

    def message(eio_sid, data):
        second = int(time.monotonic())
        count = recent.setdefault(eio_sid, [second, 0])
        if count[0] != second:
            count[:] = [second, 0]
        count[1] += 1
        if count[1] > MAX_PACKETS:
            if count[1] == MAX_PACKETS + 1:
                log.warning("closing a connection that sent over %d messages in a second", MAX_PACKETS)
                socketio.start_background_task(eio.disconnect, eio_sid)
            return None
        try:
            return receive(eio_sid, data)
        except ValueError:
            # A message that cannot be decoded (bad JSON, a number of thousands of
            # digits): answer it if it asked for an answer, and log one short line,
            # never a traceback.
            unreadable(eio_sid, data)
            return None

    def unreadable(eio_sid, data):
        if count_unreadable.setdefault(eio_sid, 0) == 0:
            log.warning("a connection sent a message that cannot be decoded")
        count_unreadable[eio_sid] += 1
        ack = UNREADABLE_ACK.match(data) if isinstance(data, str) else None
        if ack:
            answer = {"ok": False, "error": "That message could not be read: it is not valid JSON, "
                                            "or holds a number too large."}
            socketio.start_background_task(eio.send, eio_sid, f"3{ack.group(1)}{json.dumps([answer])}")

    count_unreadable: dict[str, int] = {}

    def disconnect(eio_sid, *args):
        count_unreadable.pop(eio_sid, None)
        recent.pop(eio_sid, None)
        return closed(eio_sid, *args)

    closed = eio.handlers["disconnect"]
    eio.on("message", message)
    eio.on("disconnect", disconnect)


def _security_headers(response, frame_ancestors: str):
    """No inline script, connections to this server only, the page framed only
    where configured, and the session id (in ?session=) never sent on as a referrer."""
    host = request.host if HOST.match(request.host or "") else ""
    sockets = f" ws://{host} wss://{host}" if host else ""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {frame_ancestors}")
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _routes(app: Flask, server: Server) -> None:
    frame_ancestors = app.config["FRAME_ANCESTORS"]
    app.after_request(lambda response: _security_headers(response, frame_ancestors))

    @app.get("/")
    def index():
        if browser_client_missing():                 # say what to run, instead of an empty page
            return MISSING_CLIENT, 503, {"Content-Type": "text/plain; charset=utf-8"}
        return render_template("index.html")

    @app.get("/join/<code>")
    def join(code):
        """A room's link (and QR code): the same page, which joins the room as a viewer.
        A wrong code is told by the connection, with the limits on guessing."""
        return index()

    @app.get("/api/catalogue")
    def action_catalogue():
        """Every action with its fields and ranges, the engine options with their
        defaults and descriptions, and the cluster sizes: the page builds its
        controls from this (sim/actions.py defines it)."""
        return actions.catalogue()

    @app.get("/api/scenarios")
    def scenario_list():
        """The scenarios for the picker, and why any of a lecturer's files did not load."""
        return {"scenarios": server.library.catalogue(), "problems": server.library.problems()}

    @app.post("/api/import")
    def import_history():
        """A saved history file, posted by the page with its session id in a header
        (a custom header, so no other site's page can post one)."""
        session = server.sessions.get(request.headers.get(SESSION_HEADER))
        if session is None and server.sharing is not None and server.sharing.runs_elsewhere(
                request.headers.get(SESSION_HEADER)):
            return {"ok": False, "error": "This session runs in another raftviz process than the one this request "
                                          "reached: load the history again in a moment, or from a new session."}, 409
        if session is None:
            return {"ok": False, "error": "This page is not attached to a session any more: reload it."}, 403
        if session.room is not None and not session.room.is_owner(request.headers.get(OWNER_HEADER)):
            return {"ok": False, "error": "Only the room's owner can load a history into the class's session."}, 403
        if request.content_length is not None and request.content_length > limits.MAX_IMPORT_BYTES:
            return {"ok": False, "error": imports.too_large(request.content_length)}, 413
        body = request.get_data(cache=False)

        def run(work):
            try:
                ack = imports.run(session, imports.parse(body), work)
            except imports.ImportRefused as e:
                return {"ok": False, "error": str(e)}
            server.send_state(session)
            server.changed(session)
            return ack

        session.acted = True
        ack = server.perform(session, "import", run)
        return ack, 200 if ack["ok"] else 400

    @app.errorhandler(413)
    def too_large(_):
        return {"ok": False, "error": imports.too_large(None)}, 413

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
        sid = request.sid
        if sid in server.seats or server.connected(sid) or server.is_remote(sid):
            return                                  # a "connect" event sent by the client: it has its session
        refusal = server.on_connect(sid, auth if isinstance(auth, dict) else {}, request.remote_addr or "")
        if refusal:
            raise SocketRefused(refusal)

    @socketio.on("disconnect")
    def disconnect(*_):
        sid = request.sid
        if server.connected(sid):
            return                                  # a "disconnect" event sent by the client: it stays
        server.on_disconnect(sid)

    @socketio.on("action")
    def action(*args):
        return server.on_action(request.sid, args, request.host_url)


def _visibility(session, sid: str, data: dict) -> dict:
    """The page was hidden or shown: a hidden page's session stops advancing."""
    visible = data.get("visible")
    if not isinstance(visible, bool) or set(data) - {"type", "visible"}:
        return {"ok": False, "error": "visibility takes one field, visible: true or false."}
    session.set_visible(sid, visible)
    return {"ok": True}
