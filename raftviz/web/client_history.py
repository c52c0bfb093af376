"""The client history as the page sees it (docs/protocol.md, "clients").

A long run can have thousands of client operations, so a page is sent a
window of the latest ones and counts of all, and then only the operations
that are new or changed since. What changes is cheap to find: an operation
is final once it is answered, so only the ones still pending or failed
(a failed one may be retried) are looked at again on each update, and the
new ones are those past the last one sent. Only a client's own retry of an
answered request (a `submit` with its client id and sequence number again)
can change an answered operation: then every operation is looked at.

The verdict (is the history linearizable?) is the engine's checker
(sim/linearizable.py). It runs on request (the `check_linearizable` action),
and by itself now and then while operations change, on the server's clock:
at most every AUTO_CHECK_EVERY seconds, charged to the session's share of
the server. A history that is not linearizable stays so however it goes on
(every operation added only constrains it more), so once a check says so
it is not run again until the position moves back. A check that finds a
violation also reports it (Cluster.check_linearizability), so the safety
banner shows it.

The checker's search is exponential in the number of operations that
overlap in time on one key (a pending or failed write overlaps everything
after it). Its work is not bounded, and a check holds the one event loop,
so a history with more than MAX_WIDTH overlapping operations on a key is
not checked here: the verdict says why instead.
"""
from __future__ import annotations

import time

from ..sim.clients import PUBLIC

WINDOW = 300                  # operations a full state carries; the page keeps as many
AUTO_CHECK_EVERY = 1.0        # s of wall time between two checks made by the server itself
AUTO_CHECK_MAX_OPS = 4000     # ... and only while the history has at most this many operations
MAX_OPS = 20_000              # operations a check on request may cover
MAX_WIDTH_AUTO = 10           # operations overlapping on one key: ~0.05 s at worst (measured)
MAX_WIDTH = 12                # on request: ~0.4 s at worst


def _clients(cluster):
    """The engine's client table (sim/clients.py Clients): read only, never changed here."""
    return cluster._world.clients


def live_ops(cluster) -> list[dict]:
    """Every operation so far, as the engine keeps them (not copies: do not change them)."""
    return _clients(cluster).ops


def public(op: dict) -> dict:
    return {k: op[k] for k in PUBLIC}


def _sig(op: dict) -> tuple:
    """What of an operation can still change after it is made."""
    return op["status"], op["returned"], op["result"], op["attempts"], op["server"]


def running(cluster) -> dict | None:
    """The simulated clients issuing requests now, and how; None when none run."""
    c = _clients(cluster)
    if not c.sim or not c.config:
        return None
    cfg = c.config
    return {"clients": sorted(c.sim), "rate": cfg["rate"], "keys": list(cfg["keys"]),
            "read_ratio": cfg["read_ratio"], "timeout": cfg["timeout"]}


def counts(ops: list[dict]) -> dict:
    out = {"ok": 0, "pending": 0, "failed": 0, "reads": 0, "writes": 0}
    for op in ops:
        out[op["status"]] += 1
        out["reads" if op["kind"] == "read" else "writes"] += 1
    return out


def width(ops: list[dict]) -> tuple[int, str | None]:
    """The most operations that overlap at one instant on one key, as the
    checker sees them (a pending or failed write lasts for ever; a read
    without an answer does not count), and that key."""
    by_key: dict = {}
    for op in ops:
        definite = op["status"] == "ok" and op["returned"] is not None
        if op["kind"] == "read" and not definite:
            continue
        end = op["returned"] if definite else float("inf")
        by_key.setdefault(op["key"], []).extend(((op["invoked"], 0), (end, 1)))
    best, where = 0, None
    for key, points in by_key.items():
        points.sort()                       # at one instant calls come first: touching operations overlap
        now = 0
        for _, is_end in points:
            now += -1 if is_end else 1
            if now > best:
                best, where = now, key
    return best, where


class Refused(ValueError):
    """A check that is not made; the message says why."""


def check(cluster, *, auto: bool) -> dict:
    """Check the whole history now and report a violation (the banner shows
    it). Returns the verdict as the page shows it; raises Refused when the
    history is beyond what a check may cover."""
    ops = live_ops(cluster)
    limit_ops, limit_width = (AUTO_CHECK_MAX_OPS, MAX_WIDTH_AUTO) if auto else (MAX_OPS, MAX_WIDTH)
    if len(ops) > limit_ops:
        raise Refused(f"The history has {len(ops):,} operations; the server checks at most {limit_ops:,}"
                      f"{' by itself: press Check' if auto else ''}.")
    most, key = width(ops)
    if most > limit_width:
        raise Refused(f"{most} operations overlap in time on {key} (a pending or failed write overlaps everything "
                      f"after it): the checker's work doubles with each, so the server does not check histories "
                      f"with more than {limit_width}{' by itself: press Check' if auto else ''}.")
    found = cluster.check_linearizability()
    return verdict_view(found, len(ops), auto)


def verdict_view(found: dict, total: int, auto: bool) -> dict:
    return {"ok": found["ok"], "explanation": found["explanation"],
            "operations": [op["id"] for op in found["operations"]],
            "ops": [public(op) for op in found["operations"]],
            "checked": total, "auto": auto, "reason": None}


def not_checked(reason: str, total: int, auto: bool) -> dict:
    return {"ok": None, "explanation": None, "operations": [], "ops": [], "checked": total, "auto": auto,
            "reason": reason}


class ClientFeed:
    """What one session's pages have been sent of its client history."""

    def __init__(self):
        self._cluster = None
        self._sigs: list[tuple] = []        # op id - 1 -> what was sent of it
        self._open: set[int] = set()        # ids of the operations sent that may still change
        self._running = None
        self.verdict: dict | None = None
        self._verdict_sent = None
        self._dirty = False                 # operations changed since the last check
        self._last_check = -float("inf")

    # ----- what is sent ----------------------------------------------------------------
    def full(self, cluster) -> dict:
        """The view a `state` carries: the latest WINDOW operations and counts of all."""
        ops = live_ops(cluster)
        same = cluster is self._cluster and len(ops) >= len(self._sigs) and not self._changed_any(ops)
        if not same:
            # Another cluster, or another position in this one: the verdict is that of the history here.
            self.verdict = None
            self._last_check = -float("inf")
        if not same or len(ops) > len(self._sigs):
            self._dirty = bool(ops)
        self._cluster = cluster
        self._remember(ops, 0)
        self._running = running(cluster)
        self._verdict_sent = self.verdict
        return {"ops": [public(op) for op in ops[-WINDOW:]], "total": len(ops), "counts": counts(ops),
                "running": self._running, "verdict": self.verdict}

    def changes(self, cluster, records: list[dict]) -> dict | None:
        """What changed since the last `full` or `changes`: the new and changed
        operations (at most WINDOW, the latest), counts, the simulated clients
        and the verdict; None if nothing did."""
        ops = live_ops(cluster)
        if cluster is not self._cluster or len(ops) < len(self._sigs):
            out = self.full(cluster)
            out["reset"] = True
            return out
        rescan = any(r.get("kind") == "action" and r["action"].get("type") == "submit"
                     and r["action"].get("seq") is not None for r in records)
        candidates = range(len(ops)) if rescan else sorted(self._open)
        changed = [k for k in candidates if k < len(self._sigs) and _sig(ops[k]) != self._sigs[k]]
        new = list(range(len(self._sigs), len(ops)))
        out: dict = {}
        if changed or new:
            self._dirty = True
            ids = (changed + new)[-WINDOW:]
            out["ops"] = [public(ops[k]) for k in ids]
            out["total"] = len(ops)
            out["counts"] = counts(ops)
            for k in changed:
                self._note(ops, k)
            self._remember(ops, len(self._sigs))
        now_running = running(cluster)
        if now_running != self._running:
            out["running"] = self._running = now_running
        if self.verdict is not self._verdict_sent:
            out["verdict"] = self._verdict_sent = self.verdict
        return out or None

    def _remember(self, ops: list[dict], start: int) -> None:
        if start == 0:
            self._sigs, self._open = [], set()
        for k in range(start, len(ops)):
            self._sigs.append(None)
            self._note(ops, k)

    def _note(self, ops: list[dict], k: int) -> None:
        op = ops[k]
        self._sigs[k] = _sig(op)
        if op["status"] == "ok":
            self._open.discard(k)
        else:
            self._open.add(k)

    def _changed_any(self, ops: list[dict]) -> bool:
        return any(_sig(op) != self._sigs[k] for k, op in enumerate(ops[:len(self._sigs)]))

    # ----- the verdict --------------------------------------------------------------------
    def wants_check(self) -> bool:
        """Operations changed and the last check is long enough ago (wall time)."""
        if not self._dirty or time.monotonic() - self._last_check < AUTO_CHECK_EVERY:
            return False
        return self.verdict is None or self.verdict["ok"] is not False   # not linearizable stays so

    def auto_check(self, session) -> None:
        """The server's own check, charged to the session."""
        self._last_check = time.monotonic()
        self._dirty = False
        cluster = session.cluster
        if not live_ops(cluster):
            return
        if session.credit(time.monotonic()) < 0:
            self._dirty = True                  # the session has used its share: later
            return
        start = time.thread_time()
        try:
            self.verdict = check(cluster, auto=True)
        except Refused as e:
            self.verdict = not_checked(str(e), len(live_ops(cluster)), True)
        session.charge(time.thread_time() - start, time.monotonic())

    def checked(self, verdict: dict) -> None:
        """A check on request was made: its verdict is the one to show."""
        self.verdict = verdict
        self._dirty = False
        self._last_check = time.monotonic()
