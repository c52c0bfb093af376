"""Sessions that outlive a process: what a session is on disk, and where it is kept.

A session is saved as one JSON document: its cluster's history file (how it
was made, every user action with its virtual time, its position), its mode
and speed, where it stands in a scenario, and its classroom room, if it has
one. Because the simulation is deterministic, replaying the history rebuilds
the same cluster at the same position: the same seq, the same picture.

Stores keep documents by session id with the wall time they were saved:
SqliteStore (the default: Python's sqlite3, WAL mode, in a file) and
RedisStore (when processes share a Redis). A document that cannot be read
(corrupt, from another program, from a newer raftviz) is skipped with a log
line naming it; it never stops the server.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path

from .. import scenarios
from ..sim import Cluster
from ..sim.budget import Budget
from . import limits
from .rooms import Question, Room, Viewer, normal_code
from .protocol import MAX_SPEED, MIN_SPEED
from .sessions import PAUSED, PLAYING, STEP, Session

log = logging.getLogger(__name__)

FORMAT = "raftviz-session"
VERSION = 1
SAVE_PLAYING_EVERY = 2.0          # s between two saves of a session that only plays (its position moves)
SAVE_SHARE = 10                   # a slow session is saved again no sooner than 10x the time a save took:
                                  # saving keeps to a tenth of the server, however often a client acts
SLOW_SAVE = 0.002                 # s: a save this long is slow (a history of a few thousand actions)
RETRY_EVERY = 5.0                 # s between two tries to save a session while the store fails
RESTORE_BUDGET = (60.0, 1_100_000)   # CPU s and events to replay one session (the largest history replays)


@dataclass
class Saved:
    """What the store holds of a session: as what, when, at which position, what writing it cost."""
    version: tuple | None
    when: float
    seq: int
    cost: float
    failed: bool = False


class Unreadable(ValueError):
    """A stored document that is not a session this raftviz can restore."""


# ----- a session as a document -----------------------------------------------------------

def document(session: Session) -> dict:
    c = session.cluster
    doc = {"format": FORMAT, "version": VERSION, "id": session.id, "history": c.export(),
           "mode": session.mode, "speed": session.speed, "acted": session.acted, "copied": session.copied,
           "stop_at": session.stop_at, "scenario": _scenario(session), "room": None, "trying": None}
    if session.room is not None:
        doc["room"] = _room(session.room)
    if session.trying is not None and not session.trying[0].closed:
        doc["trying"] = {"room": session.trying[0].code, "viewer": session.trying[1].token}
    return doc


def _scenario(session: Session) -> dict | None:
    """Where the session stands in its scenario: the marks that are on its
    own cluster keep their positions; the others (another branch) are played
    again when needed, as a trimmed history would be."""
    sc = session.scenario
    if sc is None:
        return None
    marks = [[seq, list(print_) if print_ else None] if c is session.cluster else None
             for c, seq, print_ in sc._marks]
    return {"id": sc.id, "index": sc.index, "results": sc.results, "marks": marks,
            "on_cluster": sc.cluster is session.cluster}


def _room(room: Room) -> dict:
    q = room.question
    return {"code": room.code, "link": room.link, "qr": room.qr, "url": room.url, "secret": room.secret,
            "numbers": room.numbers,
            "control": room.control, "invited": room.invited, "asked": room.asked,
            "viewers": [{"token": v.token, "number": v.number, "fork": v.fork, "offered": v.offered}
                        for v in room.viewers.values()],
            "question": dataclasses.asdict(q) if q else None}


def restore(doc, library, budget: Budget | None = None) -> tuple[Session, dict]:
    """A session from its document (its room and copy links returned apart,
    to be tied once every session is back). Unreadable if it is not one."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise Unreadable("not a raftviz session")
    if doc.get("version") != VERSION:
        raise Unreadable(f"a session of version {doc.get('version')!r}; this raftviz reads version {VERSION}")
    try:
        cluster = Cluster.replay(doc["history"], budget=budget, keep=limits.KEEP)
        speed = doc["speed"]
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not MIN_SPEED <= speed <= MAX_SPEED:
            raise Unreadable(f"its speed {speed!r} is not one a session can have")
        session = Session(str(doc["id"]), cluster, float(speed))
        session.library = library
        mode = doc.get("mode")
        session.mode = mode if mode in (PLAYING, PAUSED, STEP) else PAUSED
        session.acted = bool(doc.get("acted"))
        session.copied = bool(doc.get("copied"))
        stop_at = doc.get("stop_at")
        session.stop_at = stop_at if isinstance(stop_at, int) and stop_at >= cluster.seq else None
        if doc.get("scenario"):
            session.scenario = _restore_scenario(doc["scenario"], session, library)
    except Unreadable:
        raise
    except (KeyError, TypeError, ValueError, ArithmeticError, RecursionError) as e:
        raise Unreadable(f"its history does not replay: {e}") from None
    return session, {"room": doc.get("room"), "trying": doc.get("trying")}


def _restore_scenario(data: dict, session: Session, library):
    if data["id"] not in library.names():
        raise Unreadable(f"its scenario {data['id']!r} is not on this server")
    spec = library.spec(data["id"])
    sc = scenarios.Scenario(dataclasses.replace(spec, cluster={**spec.cluster, **limits.KEEP}))
    marks = []
    for k, mark in enumerate(data["marks"]):
        if mark is not None:
            seq, print_ = mark
            marks.append((session.cluster, int(seq), tuple(print_) if print_ else None))
        elif k == 0:
            marks.append(sc._marks[0])                      # the scenario's initial cluster, as made
        else:
            marks.append((sc.cluster, -1, None))            # on another branch: played again when needed
    if len(marks) != int(data["index"]) + 1 and len(marks) != len(sc.steps) + 1:
        raise Unreadable("its scenario position does not fit the scenario")
    sc._marks = marks
    sc.index = int(data["index"])
    sc.results = [list(r) for r in data["results"]]
    if data.get("on_cluster"):
        sc.cluster = session.cluster
    return sc


def _text(value, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise Unreadable(f"its room's {what} is not text")
    return value


def restore_room(data: dict, session: Session) -> Room:
    """A room from its saved form, every field checked (a wrong one makes the whole session Unreadable)."""
    if not isinstance(data, dict):
        raise Unreadable("its room is not an object")
    room = Room(normal_code(data.get("code")) or _text(None, "code"), session, _text(data.get("link"), "link"),
                _text(data.get("qr"), "QR code"))
    room.secret = _text(data.get("secret"), "secret")
    if not room.secret.isascii():
        raise Unreadable("its room's secret is not one raftviz makes")
    room.url = data.get("url") if isinstance(data.get("url"), str) else room.link
    numbers, asked = data.get("numbers"), data.get("asked", 0)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (numbers, asked)):
        raise Unreadable("its room's counters are not whole numbers")
    room.numbers, room.asked, room.invited = numbers, asked, bool(data.get("invited"))
    viewers = data.get("viewers")
    if not isinstance(viewers, list):
        raise Unreadable("its room's viewers are not a list")
    for v in viewers:
        if not isinstance(v, dict) or not isinstance(v.get("number"), int) or isinstance(v.get("number"), bool) \
                or not (v.get("fork") is None or isinstance(v.get("fork"), str)):
            raise Unreadable("one of its room's viewers is not one raftviz saves")
        token = _text(v.get("token"), "viewer token")
        room.viewers[token] = Viewer(token, v["number"], fork=v.get("fork"), offered=bool(v.get("offered")),
                                     left_at=time.monotonic())
    control = data.get("control")
    if control is not None and control not in room.viewers:
        raise Unreadable("its room gives control to no viewer of it")
    room.control = control
    q = data.get("question")
    if q is not None:
        room.question = _restore_question(q)
    session.room = room
    return room


def _restore_question(q) -> Question:
    if not isinstance(q, dict):
        raise Unreadable("its room's question is not an object")
    choices, answers = q.get("choices"), q.get("answers")
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices) or not choices \
            or not isinstance(answers, dict) or not all(
            isinstance(k, str) and isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= len(choices)
            for k, c in answers.items()):
        raise Unreadable("its room's question or its answers are not ones raftviz saves")
    answer = q.get("answer")
    if answer is not None and not (isinstance(answer, int) and 1 <= answer <= len(choices)):
        raise Unreadable("its room's question has an answer outside its choices")
    explanation = q.get("explanation")
    return Question(_text(q.get("key"), "question key"), _text(q.get("prompt"), "question"), list(choices),
                    adhoc=bool(q.get("adhoc")), open=bool(q.get("open")), answers=dict(answers),
                    revealed=bool(q.get("revealed")), answer=answer,
                    explanation=explanation if isinstance(explanation, str) else None)


# ----- where documents are kept ------------------------------------------------------------

class SqliteStore:
    """Documents in one SQLite file (WAL: a save does not wait for readers)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, saved REAL NOT NULL, doc TEXT NOT NULL)")
        columns = [row[1] for row in self.db.execute("PRAGMA table_info(sessions)")]
        if columns != ["id", "saved", "doc"]:
            self.db.close()
            raise sqlite3.DatabaseError(f"its sessions table has the columns {columns}, not raftviz's")

    def __str__(self) -> str:
        return f"SQLite {self.path}"

    def save(self, sid: str, text: str, saved: float) -> None:
        self.db.execute("INSERT INTO sessions (id, saved, doc) VALUES (?, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET saved = excluded.saved, doc = excluded.doc", (sid, saved, text))

    def delete(self, sid: str) -> None:
        self.db.execute("DELETE FROM sessions WHERE id = ?", (sid,))

    def recent(self, since: float) -> list[tuple[str, float, str]]:
        """(id, saved, document) of every session saved since `since` (wall time)."""
        return list(self.db.execute("SELECT id, saved, doc FROM sessions WHERE saved >= ? ORDER BY saved", (since,)))

    def forget_before(self, before: float) -> None:
        self.db.execute("DELETE FROM sessions WHERE saved < ?", (before,))

    def close(self) -> None:
        self.db.close()


class RedisStore:
    """Documents in Redis, shared by every process: raftviz:session:<id>
    (expiring after the ttl) and raftviz:saved (ids by when they were saved)."""

    def __init__(self, url: str, ttl: float):
        from . import redis_client              # the redis package is needed only here
        self.url = url
        self.ttl = ttl
        self.redis = redis_client.connect(url)

    def __str__(self) -> str:
        return f"Redis {self.url}"

    def save(self, sid: str, text: str, saved: float) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(f"raftviz:session:{sid}", text, ex=max(1, int(self.ttl) + 60))
        pipe.zadd("raftviz:saved", {sid: saved})
        pipe.execute()

    def get(self, sid: str) -> dict | None:
        text = self.redis.get(f"raftviz:session:{sid}")
        if text is None:
            return None
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            log.warning("skipped the stored session %.40r: it is not JSON", sid)
            return None
        if not isinstance(doc, dict):
            log.warning("skipped the stored session %.40r: it is not a raftviz session", sid)
            return None
        return doc

    def delete(self, sid: str) -> None:
        self.redis.delete(f"raftviz:session:{sid}")
        self.redis.zrem("raftviz:saved", sid)

    def recent(self, since: float) -> list[tuple[str, float, str]]:
        ids = self.redis.zrangebyscore("raftviz:saved", since, "+inf", withscores=True)
        texts = self.redis.mget([f"raftviz:session:{sid}" for sid, _ in ids]) if ids else []
        return [(sid, saved, text) for (sid, saved), text in zip(ids, texts) if text is not None]

    def forget_before(self, before: float) -> None:
        self.redis.zremrangebyscore("raftviz:saved", "-inf", before)


def open_store(spec: str | None, instance: Path):
    """The store `--store` names: a file path, "none" (no store), or None (the
    default file). A file that is not a raftviz store is said in the log, and
    the server runs without one rather than not at all."""
    if spec is not None and spec.strip().lower() == "none":
        return None
    path = Path(spec) if spec else instance / "raftviz-sessions.sqlite3"
    try:
        return SqliteStore(path)
    except (sqlite3.Error, OSError) as e:
        log.warning("the session store %s cannot be used (%s): sessions will not outlive this process", path, e)
        return None


class Keeper:
    """Saves the server's sessions to a store as they change, and brings them
    back when the server starts: all of them, one after another, and at once
    any that a page asks for meanwhile."""

    def __init__(self, store, sessions, classroom, ttl: float, sleep):
        self.store = store
        self.sessions = sessions
        self.classroom = classroom
        self.ttl = ttl
        self.sleep = sleep                          # socketio.sleep: sleep(0) lets the loop answer others
        self._saved: dict[str, Saved] = {}          # session id -> when it was last saved, as what
        # fetch(id) -> a stored document, for a store shared by processes: a session another process ran
        # is brought back when it is asked for (sharing.py has claimed it first).
        self.fetch = None
        self._failing = False                       # saving fails (say so once, not at every save)
        self._restoring: dict[str, threading.Event] = {}    # sessions being brought back now

    # ----- bringing sessions back -----------------------------------------------------------------
    def load(self) -> int:
        """Note what the store holds of the last ttl (brought back later, or when asked for)."""
        for sid, saved, doc in self.stored():
            self.sessions.pending[sid] = doc
            room = doc.get("room")
            if isinstance(room, dict) and isinstance(room.get("code"), str):
                self.classroom.pending_rooms[room["code"]] = sid
        self.sessions.bring_back = self.bring_back
        return len(self.sessions.pending)

    def bring_back(self, sid: str) -> Session | None:
        # Replaying lets other requests run: one asking for the same session meanwhile waits for it.
        busy = self._restoring.get(sid)
        if busy is not None:
            busy.wait()
            return self.sessions.local(sid)
        if sid not in self.sessions.pending and self.fetch is None:
            return self.sessions.local(sid)
        done = self._restoring[sid] = threading.Event()
        try:
            return self._bring_back(sid)
        finally:
            del self._restoring[sid]
            done.set()

    def _bring_back(self, sid: str) -> Session | None:
        doc = self.sessions.pending.pop(sid, None)
        if doc is None and self.fetch is not None:
            doc = self.fetch(sid)
        if doc is None:
            return self.sessions.local(sid)
        budget = Budget("Restoring a session", seconds=RESTORE_BUDGET[0], events=RESTORE_BUDGET[1],
                        pause=lambda: self.sleep(0))
        try:
            session, links = restore(doc, self.sessions.library, budget)
            if session.id != sid:
                raise Unreadable("its id is not the one it is stored under")
            room = restore_room(links["room"], session) if links["room"] else None
            trying = links["trying"]
            if trying is not None and not (isinstance(trying, dict) and isinstance(trying.get("room"), str)
                                           and isinstance(trying.get("viewer"), str)):
                raise Unreadable("it names its room in a way raftviz does not save")
        except Unreadable as e:
            log.warning("skipped the stored session %.40r: %s", sid, e)
            return None
        except Exception as e:                        # over budget, or a bug: never stop the server for it
            log.warning("skipped the stored session %.40r: %s: %s", sid, type(e).__name__, e)
            return None
        self.sessions.add(session)
        if room is not None:
            self.classroom.adopt_room(room)
        if trying is not None:
            self.classroom.adopt_copy(session, trying["room"], trying["viewer"])
        self._saved[sid] = Saved(self._version(session), time.monotonic(), session.cluster.seq, 0.0)
        return session

    def bring_all_back(self) -> None:
        """Every session noted at start, one after another, letting others be served between."""
        while self.sessions.pending:
            sid = next(iter(self.sessions.pending))
            self.bring_back(sid)
            self.sessions.pending.pop(sid, None)        # brought back or skipped: never asked twice
            self.sleep(0)

    def _version(self, session: Session) -> tuple:
        """What a save captures, cheaply: it changed if any of this did."""
        c = session.cluster
        room = session.room
        sc = session.scenario
        return (id(c), c.recorded_actions, c.seq if session.mode != PLAYING else None, session.mode, session.speed,
                session.stop_at, sc.id if sc else None, sc.index if sc else None,
                room.revision if room else None, session.trying is not None)

    def maybe_save(self, session: Session, now: float) -> bool:
        """Save a session that changed, when it is due: at once, unless saving
        it is slow (SLOW_SAVE: a history of thousands of actions takes
        milliseconds to write) and it was saved a moment ago; every SAVE_PLAYING_EVERY seconds
        if only its position moved while playing; every RETRY_EVERY seconds
        while the store fails."""
        version = self._version(session)
        saved = self._saved.get(session.id)
        if saved is not None:
            unchanged = saved.version == version and (session.mode != PLAYING or session.cluster.seq == saved.seq
                                                      or now - saved.when < SAVE_PLAYING_EVERY)
            # A session still open is saved again now and then even if nothing moved, so the store
            # (which forgets what is older than the ttl) keeps it for as long as it lives.
            if unchanged and now - saved.when < self.ttl / 3:
                return False
            wait = RETRY_EVERY if saved.failed else SAVE_SHARE * saved.cost if saved.cost >= SLOW_SAVE else 0.0
            if now - saved.when < wait:
                return False
        self.save(session, now, version)
        return True

    def save(self, session: Session, now: float | None = None, version: tuple | None = None) -> None:
        now = time.monotonic() if now is None else now
        started = time.perf_counter()
        version = version or self._version(session)
        try:
            text = json.dumps(document(session), separators=(",", ":"))
            self.store.save(session.id, text, time.time())
        except Exception as e:                # a full disk or a lost Redis must not stop the lecture
            if not self._failing:
                self._failing = True
                log.warning("could not save sessions to %s (%s: %s); they are kept in memory, and saved again "
                            "once the store is back", self.store, type(e).__name__, e)
            self._saved[session.id] = Saved(None, now, -1, 0.0, failed=True)
            return
        if self._failing:
            self._failing = False
            log.warning("sessions are saved to %s again", self.store)
        self._saved[session.id] = Saved(version, now, session.cluster.seq, time.perf_counter() - started)

    def drop(self, sid: str) -> None:
        """Another process runs this session now: stop saving it from here."""
        self._saved.pop(sid, None)

    def save_everything_again(self) -> None:
        """The store may have lost what it held (a Redis restarted empty): every
        session is saved again at the next tick."""
        self._saved.clear()

    def forget(self, sid: str) -> None:
        self._saved.pop(sid, None)
        try:
            self.store.delete(sid)
        except Exception:
            log.exception("could not remove session %s from %s", sid, self.store)

    def stored(self) -> list[tuple[str, float, dict]]:
        """The documents of the last ttl, parsed; unreadable rows are named in the log and skipped."""
        now = time.time()
        out = []
        try:
            rows = self.store.recent(now - self.ttl)
            self.store.forget_before(now - self.ttl)
        except Exception:
            log.exception("could not read the sessions in %s", self.store)
            return out
        for sid, saved, text in rows:
            if not isinstance(sid, str) or not sid:
                log.warning("skipped a stored session whose id is %.40r: not a session id", sid)
                continue
            try:
                doc = json.loads(text)
            except (ValueError, TypeError, RecursionError):
                log.warning("skipped the stored session %.40r: it is not JSON", sid)
                continue
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                log.warning("skipped the stored session %.40r: it is not a raftviz session", sid)
                continue
            out.append((sid, saved, doc))
        return out
