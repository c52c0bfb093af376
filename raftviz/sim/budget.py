"""A budget of work for one long request: replaying an imported history,
running a scenario step, or going back to where a script stood.

The server runs every session on one event loop, so one long request would
stall every other client. Work that may be long counts its events against a
Budget: every `slice` seconds of its own CPU time it calls pause() (the
server passes a zero-length sleep, so other clients are answered in
between), and past its events or CPU seconds it stops with OverBudget, whose
message is a sentence for the user. A budget may also watch how many
messages the cluster being worked on has in flight (watch()): every
checkpoint of a history copies them, so a cluster whose timers are far
shorter than its latency would otherwise fill memory with them. A budget
never changes what the work computes: the same actions give the same trace;
it only stops the work.
"""
from __future__ import annotations

import math
import time

CHECK_EVERY = 64             # events between two looks at the clock


class OverBudget(ValueError):
    """The work was stopped: it needed more than its budget."""


class Budget:
    def __init__(self, task: str = "This", *, seconds: float = math.inf, events: float = math.inf,
                 in_flight: float = math.inf, pause=None, slice: float = 0.01):
        self.task = task                 # "Importing this history": the start of the message
        self.seconds = seconds
        self.events = events
        self.in_flight = in_flight       # messages in flight at once
        self.pause = pause
        self.slice = slice
        self._watched = None             # () -> the messages in flight now (watch())
        self.spent = 0                   # events
        self.cpu = 0.0                   # own CPU seconds, without what others did during pauses
        self._countdown = CHECK_EVERY
        self._since = time.thread_time()

    def watch(self, in_flight) -> None:
        """Hold the work to the budget's messages in flight: in_flight() says
        how many the cluster being worked on has now."""
        self._watched = in_flight

    @property
    def watching(self) -> bool:
        return self._watched is not None

    def spend(self, events: int = 1) -> None:
        """Count `events` done; pause now and then; stop past the budget."""
        self.spent += events
        if self.spent > self.events:
            raise OverBudget(f"{self.task} needs more than {self.events:,} events, the most the server "
                             f"does for one request, so it was stopped.")
        if self._watched is not None and self._watched() > self.in_flight:
            raise OverBudget(f"{self.task} would keep more than {self.in_flight:,} messages in flight at once, "
                             f"the most the server holds for one session, so it was stopped (are the timers "
                             f"far shorter than the latency?).")
        self._countdown -= events
        if self._countdown > 0:
            return
        self._countdown = CHECK_EVERY
        now = time.thread_time()
        if now - self._since >= self.slice:
            self.cpu += now - self._since
            if self.cpu > self.seconds:
                raise OverBudget(f"{self.task} needs more than {self.seconds:g} s of the server's time, "
                                 f"the most it gives one request, so it was stopped.")
            if self.pause is not None:
                self.pause()
            self._since = time.thread_time()

    def used(self) -> float:
        """Own CPU seconds so far."""
        return self.cpu + time.thread_time() - self._since

