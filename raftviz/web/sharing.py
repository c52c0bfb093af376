"""Several raftviz processes behind one address, sharing one Redis.

Flask-SocketIO's message queue (Redis) carries every emit to the process
that holds the connection, so a process can send to any page, wherever it
is connected. On top of it, this module makes each session live in one
process at a time:

- **Leases.** The process that runs a session holds `raftviz:lease:<id>`
  (its process id, expiring after LEASE_MS unless renewed every
  RENEW_EVERY s). Each live process also keeps `raftviz:process:<id>`.
- **Forwarding.** A page that connects to a process that does not run its
  session is still served there: its connect, actions and disconnect are
  forwarded to the owner (a request on the owner's Redis channel, answered
  on the asker's), which seats it as if it were local and sends it its
  updates through the message queue.
- **Taking over.** When an owner dies, its process key and then its leases
  expire; a process that holds pages of its sessions (or the first to be
  asked for one) claims the lease, brings the session back from the shared
  store (persist.RedisStore) and seats those pages again: they continue
  without a reload.
- **Redis going away.** Each process keeps serving the sessions it runs and
  says once in its log that sharing is degraded; forwarded requests are
  answered with a plain sentence; when Redis is back, so is sharing.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass

import redis

from . import redis_client
from .rooms import normal_code

log = logging.getLogger(__name__)

PREFIX = "raftviz:"
LEASE_MS = 5000               # a session's lease, and a process's heartbeat, expire this long after renewal
RENEW_EVERY = 1.0             # s between renewals (and between looks for dead owners)
CONNECT_WAIT = 3.0            # s to wait for an owner to answer a forwarded connect before looking again
ACTION_WAIT = 10.0            # s to wait for an owner to answer a forwarded action
ROOM_KEY_SECONDS = 60         # a room's code -> session key, refreshed while its process runs it
PRUNE_EVERY = 60.0            # s between two prunings of the saved-times index
UNREACHABLE = ("The server process that runs this session cannot be reached right now: "
               "try again in a few seconds.")

# Take the lease if it is free or already ours; 1 if we hold it now.
_CLAIM = """
local v = redis.call('get', KEYS[1])
if v == false or v == ARGV[1] then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""
# Take the lease from a process that is dead (its heartbeat key is gone).
_STEAL = """
local v = redis.call('get', KEYS[1])
if v == false or v == ARGV[1] or redis.call('exists', ARGV[3] .. v) == 0 then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@dataclass
class Remote:
    """A page connected here whose session runs in another process."""
    owner: str                     # that process's id
    session: str | None            # the session id, when known (a join names a room, not a session)
    auth: dict
    address: str


def lease_key(session_id: str) -> str:
    return f"{PREFIX}lease:{session_id}"


def process_key(process: str) -> str:
    return f"{PREFIX}process:{process}"


def room_key(code: str) -> str:
    return f"{PREFIX}room:{code}"


class Sharing:
    def __init__(self, server, url: str, store=None):
        self.server = server
        self.store = store                          # the shared store (persist.RedisStore), if sessions are kept
        self.url = url
        self.id = uuid.uuid4().hex[:12]
        self.redis = redis_client.connect(url)
        self.claim_script = self.redis.register_script(_CLAIM)
        self.steal_script = self.redis.register_script(_STEAL)
        self.release_script = self.redis.register_script(_RELEASE)
        self.remote: dict[str, Remote] = {}        # connections here whose session runs elsewhere
        self.hosted: dict[str, str] = {}           # connections elsewhere seated here -> their process
        self._waiting: dict[str, list] = {}        # request id -> [Event, answer]
        self.degraded = False
        self.healthy_since = float("-inf")         # Redis answered without a break since then (set after an outage)
        self.running = False
        self._pruned = 0.0

    # ----- Redis, guarded -------------------------------------------------------------------------
    def _safely(self, what: str, call, default=None):
        """Do a Redis call; if Redis is unreachable, say so once and go on without
        sharing. Anything else Redis refuses (a key of another type: data that
        is not raftviz's) is logged, naming what, and is not an outage."""
        try:
            result = call()
        except (redis.ConnectionError, redis.TimeoutError) as e:
            self._lost(what, e)
            return default
        except redis.RedisError as e:
            log.warning("Redis refused the %s (%s): left as it is", what, e)
            return default
        if self.degraded:
            self.degraded = False
            self.healthy_since = time.monotonic()
            log.warning("Redis is back: sessions are shared between processes again")
            if self.server.keeper is not None:
                self.server.keeper.save_everything_again()     # Redis may have come back empty
        return result

    def _lost(self, what: str, error: Exception) -> None:
        if not self.degraded:
            self.degraded = True
            log.warning("Redis is unreachable (%s: %s): sharing sessions between processes is degraded; "
                        "this process keeps serving its own sessions", what, error)

    def start(self) -> None:
        self.running = True
        self.heartbeat()
        self.server.socketio.start_background_task(self._listen)
        self.server.socketio.start_background_task(self._keep)

    # ----- leases ------------------------------------------------------------------------------------
    def heartbeat(self) -> None:
        self._safely("heartbeat", lambda: self.redis.set(process_key(self.id), "1", px=LEASE_MS))

    def alive(self, process: str) -> bool:
        """Another process is alive unless its heartbeat is gone while Redis has
        answered long enough for every live process to have sent one (after an
        outage, or a Redis that came back empty, they need a moment)."""
        if process == self.id or self.degraded or time.monotonic() - self.healthy_since < 2 * LEASE_MS / 1000:
            return True
        return bool(self._safely("process check", lambda: self.redis.exists(process_key(process)), default=1))

    def owner_of(self, session_id: str) -> str | None:
        found = self._safely("lease lookup", lambda: self.redis.get(lease_key(session_id)))
        return found if isinstance(found, str) else None

    def claim(self, session_id: str) -> bool:
        """The lease is ours now (it was free, ours, or its owner is dead). Never
        while Redis is unreachable: another process may run the session."""
        if self.degraded:
            self._safely("ping", self.redis.ping)
            if self.degraded:
                return False
        got = self._safely("lease", lambda: self.steal_script(keys=[lease_key(session_id)],
                                                              args=[self.id, LEASE_MS, f"{PREFIX}process:"]))
        return bool(got)

    def own(self, session) -> None:
        """A session this process runs now (made here, or brought back)."""
        self._safely("lease", lambda: self.claim_script(keys=[lease_key(session.id)], args=[self.id, LEASE_MS]))

    def fetch(self, session_id: str) -> dict | None:
        """A session from the shared store, for this process to run: only if no
        live process runs it (the lease is taken first)."""
        owner = self.owner_of(session_id)
        if owner not in (None, self.id) and self.alive(owner):
            return None
        if self.store is None or not self.claim(session_id):
            return None
        doc = self._safely("store", lambda: self.store.get(session_id))
        if doc is None:
            self.release(session_id)
        return doc

    def release(self, session_id: str) -> None:
        self._safely("lease", lambda: self.release_script(keys=[lease_key(session_id)], args=[self.id]))

    def renew(self) -> None:
        """Keep the leases of every session this process runs, and the codes of
        its rooms. A lease another process holds now (this one stalled, or Redis
        was away, for longer than a lease) means that process runs the session:
        this copy stops, and its pages are served by that process from now on."""
        sessions = self.server.sessions.all()
        rooms = [s.room for s in sessions if s.room is not None]

        def run():
            pipe = self.redis.pipeline(transaction=False)
            for session in sessions:
                self.claim_script(keys=[lease_key(session.id)], args=[self.id, LEASE_MS], client=pipe)
            for room in rooms:
                pipe.set(room_key(room.code), room.session.id, ex=ROOM_KEY_SECONDS)
            return pipe.execute()

        held = self._safely("lease renewal", run)
        if held is None:
            return
        for session, ok in zip(sessions, held):
            if not ok:
                self.give_up(session)

    def give_up(self, session) -> None:
        owner = self.owner_of(session.id)
        if owner in (None, self.id):
            return
        log.warning("session %s is run by another process now: this process hands its pages over", session.id)
        classroom = self.server.classroom
        pages = [sid for sid, seat in list(classroom.seats.items()) if seat.session == session.id]
        handed = [(sid, classroom.auth_for(sid)) for sid in pages if sid not in self.hosted]
        for sid in pages:
            if sid in self.hosted:
                # A page of another process, seated here: the process running the session now has it
                # seated already. Only forget it here (leaving its rooms would take them from it there).
                self.hosted.pop(sid, None)
                classroom.seats.pop(sid, None)
            else:
                self.server.on_disconnect(sid)
        if session.room is not None:
            classroom.rooms.by_code.pop(session.room.code, None)
        self.server.sessions.discard(session.id)
        if self.server.keeper is not None:
            self.server.keeper.drop(session.id)
        for sid, auth in handed:
            if auth is not None:
                self.remote[sid] = Remote(owner, session.id, auth, "")
                self.server.socketio.start_background_task(self.forward_connect, sid, auth, "")

    def leave(self) -> None:
        """This process stops: its leases and heartbeat go now, not in LEASE_MS."""
        ids = [s.id for s in self.server.sessions.all()]

        def run():
            pipe = self.redis.pipeline(transaction=False)
            for sid in ids:
                self.release_script(keys=[lease_key(sid)], args=[self.id], client=pipe)
            pipe.delete(process_key(self.id))
            return pipe.execute()

        self._safely("leaving", run)
        self.running = False

    def prune(self) -> None:
        """Now and then: forget the saved-times of sessions the store has let expire."""
        now = time.monotonic()
        if now - self._pruned < PRUNE_EVERY or self.store is None:
            return
        self._pruned = now
        self._safely("pruning", lambda: self.store.forget_before(time.time() - self.store.ttl))

    # ----- rooms: which session a code belongs to --------------------------------------------------------
    def room_opened(self, room) -> None:
        self._safely("room", lambda: self.redis.set(room_key(room.code), room.session.id, ex=ROOM_KEY_SECONDS))

    def room_closed(self, room) -> None:
        self._safely("room", lambda: self.redis.delete(room_key(room.code)))

    def room_session(self, code: str) -> str | None:
        found = self._safely("room lookup", lambda: self.redis.get(room_key(code)))
        return found if isinstance(found, str) else None

    def runs_elsewhere(self, session_id) -> bool:
        """Another live process runs this session now."""
        if not isinstance(session_id, str) or self.server.sessions.local(session_id) is not None:
            return False
        owner = self.owner_of(session_id)
        return isinstance(owner, str) and owner != self.id and self.alive(owner)

    def unreachable(self, auth: dict) -> str | None:
        """While Redis is away, a page asking for a session (or a room) this
        process does not run is told it cannot be reached, not given a new one."""
        if not self.degraded:
            return None
        self._safely("ping", self.redis.ping)
        if not self.degraded:
            return None
        if "join" in auth:
            code = normal_code(auth.get("join"))
            return None if code is None or code in self.server.classroom.rooms.by_code else UNREACHABLE
        wanted = auth.get("session")
        if isinstance(wanted, str) and self.server.sessions.local(wanted) is None:
            return UNREACHABLE
        return None

    # ----- where a connection's session runs ----------------------------------------------------------------
    def is_remote(self, sid: str) -> bool:
        return sid in self.remote

    def elsewhere(self, sid: str, auth: dict) -> bool:
        """The session this connection asks for runs in another live process;
        if its owner is dead, this process takes it over instead."""
        if self.degraded and not self._safely("ping", self.redis.ping):
            return False
        session_id = self._wanted(auth)
        if session_id is None or self.server.sessions.local(session_id) is not None:
            return False
        owner = self.owner_of(session_id)
        if owner in (None, self.id) or not self.alive(owner):
            if self.claim(session_id):
                return False                        # ours now: brought back from the store, if it is there
            owner = self.owner_of(session_id)       # another process was quicker
            if owner in (None, self.id):
                return False
        self.remote[sid] = Remote(owner, session_id, dict(auth), "")
        return True

    def _wanted(self, auth: dict) -> str | None:
        if "join" in auth:
            code = normal_code(auth.get("join"))
            if code is None or code in self.server.classroom.rooms.by_code:
                return None
            return self.room_session(code)
        wanted = auth.get("session")
        return wanted if isinstance(wanted, str) and 0 < len(wanted) <= 64 else None

    # ----- forwarding -------------------------------------------------------------------------------------
    def _call(self, process: str, message: dict, wait: float):
        rid = uuid.uuid4().hex
        slot = [threading.Event(), None]
        self._waiting[rid] = slot
        message = {**message, "rid": rid, "from": self.id}
        try:
            if self._safely("forward", lambda: self.redis.publish(f"{PREFIX}to:{process}", json.dumps(message))) is None:
                return None
            slot[0].wait(wait)
            return slot[1]
        finally:
            self._waiting.pop(rid, None)

    def forward_connect(self, sid: str, auth: dict, address: str) -> str | None:
        remote = self.remote[sid]
        remote.address = address
        while True:
            answer = self._call(remote.owner, {"op": "connect", "sid": sid, "auth": auth, "address": address},
                                CONNECT_WAIT)
            if answer is not None:
                if answer.get("refusal"):
                    self.remote.pop(sid, None)
                elif isinstance(answer.get("auth"), dict):
                    remote.auth = answer["auth"]
                return answer.get("refusal")
            # No answer: the owner may have died. Once its leases are free, this process takes over.
            if self.degraded:
                self.remote.pop(sid, None)
                return UNREACHABLE
            if not self.alive(remote.owner):
                self.remote.pop(sid, None)
                return self.server.on_connect(sid, auth, address)

    def forward_action(self, sid: str, args: tuple, host_url: str) -> dict:
        remote = self.remote[sid]
        answer = self._call(remote.owner, {"op": "action", "sid": sid, "args": list(args), "host_url": host_url},
                            ACTION_WAIT)
        if answer is None:
            if self.take_over(sid):
                return self.server.on_action(sid, args, host_url)
            return {"ok": False, "error": UNREACHABLE}
        if isinstance(answer.get("auth"), dict):
            remote.auth = answer["auth"]            # how to seat this page as it is now (its room, its copy)
        return answer.get("ack") or {"ok": False, "error": UNREACHABLE}

    def forward_disconnect(self, sid: str) -> None:
        remote = self.remote.pop(sid, None)
        if remote is not None:
            self._safely("forward", lambda: self.redis.publish(
                f"{PREFIX}to:{remote.owner}", json.dumps({"op": "disconnect", "sid": sid, "from": self.id})))

    def take_over(self, sid: str) -> bool:
        """The owner of this page's session is gone: run the session here and seat the page again."""
        remote = self.remote.get(sid)
        if remote is None or self.degraded or self.alive(remote.owner):
            return False
        self.remote.pop(sid, None)
        refusal = self.server.on_connect(sid, remote.auth, remote.address)
        if refusal:
            log.warning("a page could not be seated again after its session's process died: %s", refusal)
        return refusal is None

    # ----- answering other processes ------------------------------------------------------------------------
    def _listen(self) -> None:
        while self.running:
            pubsub = None
            try:
                # A subscription waits for messages indefinitely: a connection of its own, no read timeout.
                pubsub = redis.Redis.from_url(self.url, decode_responses=True, socket_connect_timeout=2,
                                              health_check_interval=10).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(f"{PREFIX}to:{self.id}")
                for message in pubsub.listen():
                    if not self.running:
                        return
                    self._received(message.get("data"))
            except redis.RedisError as e:
                self._lost("listening", e)
                self.server.socketio.sleep(RENEW_EVERY)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        pass

    def _received(self, data) -> None:
        try:
            message = json.loads(data)
        except (TypeError, ValueError):
            log.warning("an unreadable message on this process's channel was ignored")
            return
        if not isinstance(message, dict):
            return
        if "reply" in message:
            slot = self._waiting.get(message.get("rid"))
            if slot is not None:
                slot[1] = message["reply"]
                slot[0].set()
            return
        self.server.socketio.start_background_task(self._answer, message)

    def _answer(self, message: dict) -> None:
        op, sid, origin = message.get("op"), message.get("sid"), message.get("from")
        if not isinstance(sid, str) or not isinstance(origin, str):
            return
        reply = None
        try:
            if op == "connect":
                self.hosted[sid] = origin
                refusal = self.server.on_connect(sid, message.get("auth") or {}, message.get("address") or "")
                if refusal:
                    self.hosted.pop(sid, None)
                reply = {"refusal": refusal, "auth": self.server.classroom.auth_for(sid)}
            elif op == "action":
                reply = {"ack": self.server.on_action(sid, tuple(message.get("args") or ()), message.get("host_url") or ""),
                         "auth": self.server.classroom.auth_for(sid)}
            elif op == "disconnect":
                self.hosted.pop(sid, None)
                self.server.on_disconnect(sid)
                return
        except Exception:
            log.exception("a forwarded %s failed", op)
            reply = {"refusal": "Something went wrong on the server."} if op == "connect" else \
                {"ack": {"ok": False, "error": "Something went wrong on the server while doing that."}}
        if reply is not None and message.get("rid"):
            self._safely("reply", lambda: self.redis.publish(
                f"{PREFIX}to:{origin}", json.dumps({"rid": message["rid"], "reply": reply})))

    # ----- keeping it all alive --------------------------------------------------------------------------------
    def _keep(self) -> None:
        while self.running:
            self.server.socketio.sleep(RENEW_EVERY)
            try:
                self.heartbeat()
                self.renew()
                self.prune()
                self._check_hosts()
                # (A look at Redis lets other requests run, which may change the pages: look at a copy.)
                for sid, remote in list(self.remote.items()):
                    if not self.alive(remote.owner):
                        self.take_over(sid)
            except Exception:
                log.exception("keeping the shared sessions failed")

    def _check_hosts(self) -> None:
        """Pages seated here from a process that died are gone with it."""
        for process in set(self.hosted.values()):
            if not self.alive(process):
                for sid in [s for s, p in list(self.hosted.items()) if p == process]:
                    self.hosted.pop(sid, None)
                    self.server.on_disconnect(sid)

    def stop(self) -> None:
        self.running = False
