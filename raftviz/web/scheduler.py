"""One scheduler drives every playing session.

Each tick it visits the sessions, starting one further along each time so
no session is always last, advances each playing one by the wall time since
its last tick times its speed, and sends watchers what changed. A session
nobody watches (closed or hidden page) does not advance, and when it is
watched again it continues from where it stopped instead of jumping ahead.
A slow tick never makes a session leap: at most MAX_CATCH_UP seconds of wall
time are made up at once, so when the server has more to do than it can,
every session slows down by the same factor (and is told so) rather than
some starving. Between two sessions the scheduler lets the loop answer
clients, and it passes over a session busy with a long request.
"""
from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)

REAP_EVERY = 10.0       # s; with FRESH_TTL, an untouched session goes within a minute


class Scheduler:
    def __init__(self, socketio, store, publish, tick: float = 0.05, after_reap=None, save=None):
        self.socketio = socketio
        self.store = store
        self.publish = publish          # publish(session, now): send watchers what changed
        self.after_reap = after_reap    # after_reap(ids): close the rooms of sessions that expired, forget them
        self.save = save                # save(session, now): keep a session that changed in the store
        self.tick = tick
        self.running = False
        self._turn = 0
        self._last_reap = time.monotonic()

    def start(self) -> None:
        if not self.running:
            self.running = True
            self.socketio.start_background_task(self._loop)

    def stop(self) -> None:
        self.running = False

    def _loop(self) -> None:
        while self.running:
            self.socketio.sleep(self.tick)
            try:
                self.run_once(time.monotonic())
            except Exception:                       # keep every other session running
                log.exception("scheduler tick failed")

    def run_once(self, now: float) -> None:
        sessions = self.store.all()
        if sessions:
            self._turn = (self._turn + 1) % len(sessions)
            sessions = sessions[self._turn:] + sessions[:self._turn]
        for session in sessions:
            if not session.lock.acquire(blocking=False):
                continue                            # busy with a request: its turn comes next tick
            try:
                session.advance(now)
                self.publish(session, now)
                if self.save is not None:
                    self.save(session, now)
            except Exception:
                log.exception("session %s failed to advance; it is paused", session.id)
                session.set_mode("paused")
            finally:
                session.lock.release()
            self.socketio.sleep(0)
        if now - self._last_reap > REAP_EVERY:
            self._last_reap = now
            gone = self.store.reap(now)
            if self.after_reap is not None:
                self.after_reap(gone)
