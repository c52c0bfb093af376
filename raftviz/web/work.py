"""How much of the server one request may use, so no client stalls the others.

Every request runs on the one event loop (eventlet), and a Work measures the
CPU time it takes. Long requests (an import, a scenario step, a return to
where the script stood) take a Budget from it: they pause every few
milliseconds so the loop answers other clients in between, and stop with a
plain message past their budget (of CPU time, of events, and of messages in
flight: limits.MAX_IN_FLIGHT). What the request costs, without what others
did during its pauses, is charged to its session, which earns CPU time back
at a steady rate (sessions.CPU_SHARE): a session that spent its share has its
expensive requests refused for a few seconds, so one client looping over
imports, syncs or seeks gets a fair share and no more.
"""
from __future__ import annotations

import time

from ..sim.budget import Budget
from . import limits

# One request's budget: (seconds of CPU, events).
IMPORT_BUDGET = (60.0, 1_100_000)        # a history the server itself made re-imports (imports.MAX_RECORDS)
STEP_BUDGET = (3.0, 200_000)             # a scenario step, or replaying a script to where it stood
MAX_LONG = 2                             # long requests running at once on the whole server


class Work:
    """The CPU time of one request, and the budgets of its long parts."""

    def __init__(self, sleep):
        self._sleep = sleep                  # socketio.sleep: sleep(0) lets the loop run others
        self._start = time.thread_time()
        self._others = 0.0                   # CPU others used while this request paused

    def budget(self, task: str, allowed: tuple[float, int]) -> Budget:
        seconds, events = allowed
        return Budget(task, seconds=seconds, events=events, in_flight=limits.MAX_IN_FLIGHT, pause=self.pause)

    def pause(self) -> None:
        before = time.thread_time()
        self._sleep(0)
        self._others += time.thread_time() - before

    def cost(self) -> float:
        """CPU seconds this request used so far, not counting others' work."""
        return time.thread_time() - self._start - self._others
