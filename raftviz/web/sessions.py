"""Sessions: one cluster per browser tab, kept apart from the connections
that watch it.

A Session owns a cluster, its mode (playing / paused / step) and speed, and
what its watchers have already been sent, so each update carries only what
changed. Connections (Socket.IO sids) attach to a session and leave it; a
session with nobody attached is kept for `ttl` seconds so a reload or a
dropped connection finds it again, then reaped; one that nobody ever acted
in is reaped within a minute, so opening and closing pages holds no slot.
Everything that touches a
session's cluster holds the session's lock: the scheduler and the action
handlers may run in different threads (threading mode) or greenlets.
"""
from __future__ import annotations

import math
import secrets
import threading
import time
from collections import deque

from ..sim import Cluster
from ..sim.budget import Budget, OverBudget
from ..sim.explain import entries_list
from . import limits
from .client_history import ClientFeed

PLAYING, PAUSED, STEP = "playing", "paused", "step"
MAX_CATCH_UP = 0.25            # s of wall time a session may advance in one tick
MAX_TICK_EVENTS = 5000         # events a session may process in one tick (a guard, never reached at sane timings)
CLOCK_EVERY = 1.0              # s between clock-only updates while playing
RECENT_RECORDS = 200           # records a full state carries for the event log
FRESH_TTL = 30.0               # s a session nobody acted in outlives its last connection
CPU_SHARE = 0.25               # s of CPU per s of wall time a session's requests may use on average
CPU_BURST = 5.0                # s of CPU a session may use at once (one large import)
LAG_TICKS = 3                  # late ticks in a row before a session is told the server is busy
LAG_NOTICE_EVERY = 30.0        # s between two such notices


def _question(q, with_answer: bool) -> dict:
    out = q.to_dict()
    if not with_answer:
        del out["answer"], out["explanation"]
    return out


class SessionRefused(Exception):
    """No new session for this client; the message says why, for the page."""


class SessionsFull(SessionRefused):
    pass


class Allowance:
    """How much one client may ask of the server: at most `limit` actions in
    any second, and CPU time earned at CPU_SHARE per second (up to CPU_BURST)
    that expensive requests spend. A session has one; so has each viewer of a
    classroom room, so that a class watching a session never uses up its
    owner's."""

    def __init__(self):
        self.recent_actions: deque[float] = deque()
        self.cpu_credit = CPU_BURST                 # s of server CPU it may still use at once
        self._credit_at = time.monotonic()

    def allow_action(self, now: float, limit: int) -> bool:
        """At most `limit` actions in any second."""
        window = self.recent_actions
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= limit:
            return False
        window.append(now)
        return True

    def credit(self, now: float) -> float:
        """CPU seconds it may use now: it earns CPU_SHARE per second of wall
        time, up to CPU_BURST, and long requests spend it."""
        self.cpu_credit = min(CPU_BURST, self.cpu_credit + max(0.0, now - self._credit_at) * CPU_SHARE)
        self._credit_at = max(now, self._credit_at)
        return self.cpu_credit

    def charge(self, cpu: float, now: float) -> None:
        self.cpu_credit = self.credit(now) - cpu


class Session(Allowance):
    def __init__(self, sid: str, cluster: Cluster, speed: float):
        super().__init__()
        self.id = sid
        self.cluster = cluster
        self.mode = PLAYING
        self.speed = speed
        self.scenario = None                        # a scenarios.Scenario being stepped through
        self.library = None                         # the scenarios it may open (the server's Library)
        self.stop_at: int | None = None             # playing a scenario step: pause after this record
        self.lock = threading.RLock()
        self.connections: dict[str, bool] = {}     # sid -> page visible
        self.last_seen = time.monotonic()
        self.last_tick: float | None = None        # wall time the cluster was last advanced to
        self.last_clock = 0.0
        self.acted = False                          # someone did something here: keep it the full ttl
        self.busy: str | None = None                # a long request is running: what it is doing
        self._lagging = 0                           # ticks in a row that came late
        self._lag_told = -math.inf
        self.notice: str | None = None              # a sentence for the watchers, sent once
        self._sent_seq = cluster.seq
        self._sent_views: dict[int, dict] = {}
        self._sent_logs: dict[int, tuple] = {}      # node -> (its first log index, the entries sent)
        self._sent_snapshots: dict[int, object] = {}   # node -> the snapshot (messages.Snapshot) sent
        self._sent_stores: dict[int, tuple] = {}    # node -> (what its store depends on, the store sent)
        self._sent_scenario: dict | None = None
        self._sent_violations: list | None = None
        self.feed = ClientFeed()                    # what the pages have of the client history
        self.room = None                            # the classroom room sharing this session (rooms.py)
        self.copied = False                         # a private copy made for a viewer of a room
        self.trying = None                          # a viewer's private copy: (its room, the viewer)
        self.shown_in = None                        # a copy the room's owner shows on the projector: the room

    def copy(self, sid: str) -> "Session":
        """A private copy from here (a student's "Try from here"): the same
        cluster and history, forked, the scenario with it, paused. Clusters
        share their past, so a class of copies costs little until they run."""
        forks: dict[int, Cluster] = {}

        def fork(cluster: Cluster) -> Cluster:
            if id(cluster) not in forks:
                forks[id(cluster)] = cluster.fork()
            return forks[id(cluster)]

        twin = Session(sid, fork(self.cluster), self.speed)
        twin.library = self.library
        twin.scenario = self.scenario.copy(fork) if self.scenario is not None else None
        twin.stop_at = self.stop_at
        twin.mode = PAUSED
        twin.acted = True
        twin.copied = True
        return twin

    # ----- watchers --------------------------------------------------------------
    @property
    def watched(self) -> bool:
        """Someone has this session open in a visible page, or a class follows
        it in a room (the lecturer may have turned to the slides meanwhile)."""
        return any(self.connections.values()) or (self.room is not None and self.room.watchers() > 0)

    def attach(self, sid: str) -> None:
        self.connections[sid] = True
        self.last_seen = time.monotonic()

    def detach(self, sid: str) -> None:
        self.connections.pop(sid, None)
        self.last_seen = time.monotonic()

    def set_visible(self, sid: str, visible: bool) -> None:
        if sid in self.connections:
            self.connections[sid] = visible
            if visible:
                self.last_tick = None               # a page coming back does not jump ahead

    # ----- time --------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.last_tick = None

    def advance(self, now: float) -> bool:
        """Playing: move virtual time on by the wall time since the last tick
        times the speed. Returns True if the cluster was advanced."""
        if self.mode != PLAYING or not self.watched:
            self.last_tick = None
            return False
        if self.last_tick is None:
            self.last_tick = now
            return False
        self._note_lag(now - self.last_tick, now)
        elapsed = min(now - self.last_tick, MAX_CATCH_UP)
        self.last_tick = now
        if len(self.cluster.trace) >= limits.MAX_RECORDS:
            self.set_mode(PAUSED)
            self.notice = limits.FULL_HISTORY
            return False
        full = limits.clients_full(self.cluster)
        if full:
            self.set_mode(PAUSED)
            self.notice = full
            return False
        if elapsed > 0:
            budget = Budget("This cluster", in_flight=limits.MAX_IN_FLIGHT)
            try:
                kept_up = self.cluster.run_for(elapsed * 1000 * self.speed, stop_at=self.stop_at,
                                               max_events=MAX_TICK_EVENTS, budget=budget)
            except OverBudget as e:
                self.set_mode(PAUSED)
                self.notice = str(e)
                return True
            if not kept_up:
                self.set_mode(PAUSED)
                self.notice = ("Paused: this cluster produces events faster than they can be shown "
                               "(are its timers far shorter than its network latency?).")
            if self.stop_at is not None and self.cluster.seq >= self.stop_at:
                self.stop_at = None                 # the scenario step has been played
                self.set_mode(PAUSED)
        return True

    def _note_lag(self, gap: float, now: float) -> None:
        """Ticks this far apart mean the server has more to do than it can: every
        session then runs slower than its speed, evenly. Say so, now and then."""
        self._lagging = self._lagging + 1 if gap > MAX_CATCH_UP else 0
        if self._lagging >= LAG_TICKS and now - self._lag_told >= LAG_NOTICE_EVERY:
            self._lag_told = now
            self.notice = ("The server is busy: every cluster on it runs slower than its speed setting "
                           "until the load drops.")

    def _hides_answers(self) -> bool:
        """A class answers the questions of this session (or of the room this copy
        came from): a question's answer is not sent before the step answers it
        or the lecturer reveals it (the room carries it: rooms.py)."""
        if self.room is not None:
            return True
        return self.trying is not None and not self.trying[0].closed

    def scenario_view(self, full: bool = False) -> dict | None:
        """What the page shows of the scenario: narration, step k of n, the
        question about the next step, and whether the last step's claims held.
        In a room, the open question comes without its answer unless `full`."""
        sc = self.scenario
        if sc is None:
            return None
        spec = sc.spec
        done = sc.steps[sc.index - 1] if sc.index else None
        upcoming = sc.steps[sc.index] if not sc.done else None
        return {
            "id": spec.id, "title": spec.title, "source": spec.source, "lecture": spec.lecture,
            "summary": spec.summary, "labels": {str(k): v for k, v in spec.labels.items()}, "step": sc.index, "steps": len(sc.steps), "done": sc.done,
            "caption": done.caption if done else None,
            "question": _question(upcoming.question, full or not self._hides_answers()) if upcoming and upcoming.question
            else None,
            "answered": done.question.to_dict() if done and done.question else None,
            "failures": sc.last_failures,
            "playing": self.stop_at is not None,
            "on_script": self.stop_at is not None or sc.on_script(self.cluster),
        }

    def clock(self) -> dict:
        c = self.cluster
        return {"time": c.now, "seq": c.seq, "length": len(c.trace), "mode": self.mode, "speed": self.speed,
                "oldest": c.oldest}

    # ----- what watchers are sent ------------------------------------------------------
    def state(self) -> dict:
        """The full picture, and the baseline for the next updates."""
        c = self.cluster
        snap = c.snapshot()
        self._sent_scenario = self.scenario_view()
        snap.update(session=self.id, mode=self.mode, speed=self.speed, scenario=self._sent_scenario,
                    markers=c.markers(), records=c.records(c.seq - RECENT_RECORDS + 1, c.seq),
                    clients=self.feed.full(c))
        self._sent_seq = c.seq
        self._sent_violations = snap["violations"]
        self._sent_views = {n["id"]: {k: v for k, v in n.items() if k not in ("log", "store", "snapshot")}
                            for n in snap["nodes"]}
        self._sent_logs = {i: (n.snapshot_index + 1, list(n.log)) for i, n in c.nodes.items()}
        self._sent_snapshots = {i: n.snapshot for i, n in c.nodes.items()}
        self._sent_stores = {n["id"]: (self._store_key(n["id"]), n["store"]) for n in snap["nodes"]}
        return snap

    def needs_state(self) -> bool:
        """The position moved somewhere other than forward from what was sent."""
        return self.cluster.seq < self._sent_seq

    def updates(self, now: float, force_clock: bool = False) -> dict | None:
        """New records since the last update, the nodes they changed (logs as
        patches), the ids of the messages still in flight and the clock; None
        if there is nothing worth sending."""
        c = self.cluster
        seq = c.seq
        if seq == self._sent_seq and not force_clock and not self.notice and now - self.last_clock < CLOCK_EVERY \
                and not self.feed.wants_check():
            return None
        out = {"clock": self.clock(), "produced": time.time() * 1000}
        self.last_clock = now
        scenario = self.scenario_view()
        if scenario != self._sent_scenario:
            out["scenario"] = self._sent_scenario = scenario
        if self.notice:
            out["notice"], self.notice = self.notice, None
        records = []
        if seq > self._sent_seq:
            out["records"] = records = c.records(self._sent_seq + 1, seq)
            out["nodes"] = self._node_changes()
            out["in_flight"] = c.message_ids()
            out["network"] = c.network.to_dict()
            out["options"] = c.options
            self._sent_seq = seq
        clients = self.feed.changes(c, records)
        if self.feed.wants_check():
            self.feed.auto_check(self)
            clients = self.feed.changes(c, []) if clients is None else {**clients, **(self.feed.changes(c, []) or {})}
        if clients:
            out["clients"] = clients
        violations = c.violations
        if records or violations != self._sent_violations:
            # A check of the client history may report one without a new record.
            out["violations"] = self._sent_violations = violations
        return out

    def _node_changes(self) -> list[dict]:
        c = self.cluster
        changed = []
        for i, node in c.nodes.items():
            view = c.node_view(i)
            del view["store"]
            # A snapshot (its store may hold a thousand keys) is sent only when it is another one.
            snapshot = view.pop("snapshot")
            if node.snapshot is not self._sent_snapshots.get(i, None):
                self._sent_snapshots[i] = node.snapshot
                view["snapshot"] = snapshot
            moved = view != self._sent_views.get(i)
            self._sent_views[i] = {k: v for k, v in view.items() if k != "snapshot"}
            patch = self._log_patch(i, node)
            if patch is not None:
                view["log_patch"] = patch
            store_patch = self._store_patch(i, node.store)
            if store_patch is not None:
                view["store_patch"] = store_patch
            if moved or patch or store_patch:
                changed.append(view)
        return changed

    def _store_key(self, i: int) -> tuple:
        """A store changes only as entries are applied, or when its server
        crashes or restarts: look at it only when one of these moved."""
        n = self.cluster.nodes[i]
        return n.last_applied, n.up, id(n.store)

    def _store_patch(self, i: int, store: dict) -> dict | None:
        """The keys set and removed since the store last sent (not the whole
        store: it may hold a thousand keys)."""
        key = self._store_key(i)
        old_key, old = self._sent_stores.get(i, (None, {}))
        if key == old_key:
            return None
        changed = {k: v for k, v in store.items() if old.get(k) != v}
        removed = [k for k in old if k not in store]
        self._sent_stores[i] = (key, dict(store))
        return {"set": changed, "removed": removed} if changed or removed else None

    def _log_patch(self, i: int, node) -> dict | None:
        """How to turn the log last sent into this one, by absolute index:
        keep the entries sent from index `first` (the first the log holds
        now, after its snapshot; 1 when left out) up to `from` - 1, then
        append these."""
        log, first = node.log, node.snapshot_index + 1
        old_first, old = self._sent_logs.get(i, (1, []))
        n = len(old)
        if first == old_first and len(log) >= n and log[:n] == old:
            if len(log) == n:
                return None
            keep = first + n                              # the index the new entries start at
        elif first < old_first:
            keep = first                                  # (never going forward: snapshots only grow)
        else:
            a, b = old[first - old_first:], log          # both from index `first`
            keep = first + next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        self._sent_logs[i] = (first, list(log))
        # Entries as the state has them: with their kind and, for a configuration, its members.
        patch = {"from": keep, "entries": entries_list(log[keep - first:], keep)}
        if first != 1:
            patch["first"] = first
        return patch


class SessionStore:
    def __init__(self, make_cluster, *, max_sessions: int, ttl: float, speed: float,
                 per_address: int = 60, fresh_ttl: float = FRESH_TTL, library=None):
        self._make_cluster = make_cluster
        self.library = library                       # the server's scenarios, which its sessions may open
        self.max_sessions = max_sessions
        self.ttl = ttl
        self.fresh_ttl = fresh_ttl
        self.speed = speed
        self.per_address = per_address              # new sessions a client address may make per minute
        self._sessions: dict[str, Session] = {}
        self._created: dict[str, deque[float]] = {}  # address -> when it made its recent sessions
        self._lock = threading.Lock()
        # Sessions saved by an earlier process, not yet brought back (persist.py): id -> document.
        # Asking for one brings it back at once; the server brings the others back meanwhile.
        self.pending: dict[str, dict] = {}
        self.bring_back = None                      # bring_back(id) -> Session | None

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, sid: str | None) -> Session | None:
        if not isinstance(sid, str):
            return None
        session = self._sessions.get(sid)
        if session is None and self.bring_back is not None:
            session = self.bring_back(sid)
        return session

    def local(self, sid: str) -> Session | None:
        """The session if this process runs it now (never brought back from the store)."""
        return self._sessions.get(sid)

    def add(self, session: Session) -> None:
        """A session brought back from the store."""
        with self._lock:
            self._sessions[session.id] = session

    def create(self, address: str = "", now: float | None = None) -> Session:
        now = time.monotonic() if now is None else now
        with self._lock:
            if sum(1 for s in self._sessions.values() if not s.copied) >= self.max_sessions:
                raise SessionsFull(f"The server is full: it already runs {self.max_sessions} sessions. "
                                   f"Please try again in a few minutes.")
            made = self._created.setdefault(address, deque())
            while made and now - made[0] >= 60:
                made.popleft()
            if len(made) >= self.per_address:
                raise SessionRefused(f"Too many new sessions from your address: at most {self.per_address} "
                                     f"a minute. Please wait a minute, then reload the page.")
            made.append(now)
            sid = secrets.token_urlsafe(12)
            session = Session(sid, self._make_cluster(), self.speed)
            session.library = self.library
            self._sessions[sid] = session
            return session

    def add_copy(self, source: Session, max_copies: int) -> Session:
        """A private copy of `source` for a viewer of a room. Copies have a cap
        of their own: a class trying at once must not fill the sessions'."""
        with self._lock:
            if sum(1 for s in self._sessions.values() if s.copied) >= max_copies:
                raise SessionsFull(f"The server already runs {max_copies} copies for classes, its limit: "
                                   f"follow the class for now, and try again in a few minutes.")
            copy = source.copy(secrets.token_urlsafe(12))
            self._sessions[copy.id] = copy
            return copy

    def discard(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def all(self) -> list[Session]:
        return list(self._sessions.values())

    def reap(self, now: float | None = None) -> list[str]:
        """Forget sessions nobody has been attached to for ttl seconds (fresh_ttl
        if nobody ever acted in them), and addresses that made none lately."""
        now = time.monotonic() if now is None else now
        with self._lock:
            gone = [sid for sid, s in self._sessions.items()
                    if not s.connections and not (s.room is not None and s.room.owner_sids)
                    and now - s.last_seen > (self.ttl if s.acted else self.fresh_ttl)]
            for sid in gone:
                del self._sessions[sid]
            for address in [a for a, made in self._created.items() if not made or now - made[-1] >= 60]:
                del self._created[address]
        return gone
